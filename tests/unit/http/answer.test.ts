// The answer's headers written in one writeHead (the security headers, the limiter's, then an
// error's own, which replace a same-named one), and a request body read whether it arrived
// with the headers or after them, over a real socket.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readJsonBody } from '../../../src/http/body.js';
import { HttpError, moveHeaderList, securityHeaderList, sendError, writeJson } from '../../../src/http/respond.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

function serve(handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<string> {
  server = createServer((req, res) => void handler(req, res));
  return new Promise((resolve) => server!.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server!.address() as AddressInfo).port}`)));
}

/** Writes `parts` one by one (a pause between them) and returns the raw answer. */
function rawRequest(host: string, parts: readonly string[]): Promise<string> {
  const [name, port] = host.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), name!);
    let text = '';
    socket.on('data', (d) => (text += String(d)));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.on('connect', () => {
      parts.forEach((part, i) => setTimeout(() => socket.write(part), 20 * i));
    });
  });
}

describe('writeJson', () => {
  it('sends the list, lets an error header replace one of it whatever its case, and sets the length', async () => {
    const host = await serve((_req, res) => {
      const head = [...securityHeaderList({ tls: true }), 'RateLimit-Limit', '5', 'Retry-After', '9'];
      writeJson(res, 429, { error: 'x' }, head, { 'retry-after': '3', Connection: 'close' });
    });
    const res = await fetch(`http://${host}/`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.get('ratelimit-limit')).toBe('5');
    expect(res.headers.get('strict-transport-security')).toContain('max-age');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength('{"error":"x"}')));
    expect(await res.json()).toEqual({ error: 'x' });
  });

  it('keeps what was set on the response since its list was moved onto it', async () => {
    const host = await serve((_req, res) => {
      const head = [...securityHeaderList({ tls: false }), 'RateLimit-Policy', '6000;w=60'];
      moveHeaderList(res, head);
      res.setHeader('RateLimit-Policy', '5;w=60');
      sendError(res, new HttpError(429, 'RATE_LIMITED', 'slow down'), head);
    });
    const res = await fetch(`http://${host}/`);
    expect(res.status).toBe(429);
    expect(res.headers.get('ratelimit-policy')).toBe('5;w=60');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('a 429 whose list has Retry-After keeps that one', async () => {
    const host = await serve((_req, res) => sendError(res, new HttpError(429, 'RATE_LIMITED', 'slow down'), ['Retry-After', '42']));
    expect((await fetch(`http://${host}/`)).headers.get('retry-after')).toBe('42');
  });
});

describe('readJsonBody', () => {
  const echo = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      writeJson(res, 200, { got: await readJsonBody(req, 64) }, []);
    } catch (err) {
      if (err instanceof HttpError) sendError(res, err);
    }
  };
  const request = (body: string): string =>
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;

  it('reads a body that came with the headers, and one that came after them', async () => {
    const host = await serve(echo);
    const body = JSON.stringify({ a: 'é' });
    expect(await rawRequest(host, [request(body) + body])).toContain('{"got":{"a":"é"}}');
    expect(await rawRequest(host, [request(body), body.slice(0, 3), body.slice(3)])).toContain('{"got":{"a":"é"}}');
  });

  it('a body over the limit is a 413 either way; an empty one a 400', async () => {
    const host = await serve(echo);
    const big = JSON.stringify({ a: 'x'.repeat(100) });
    expect(await rawRequest(host, [request(big) + big])).toMatch(/^HTTP\/1.1 413/);
    expect(await rawRequest(host, [request(big), big])).toMatch(/^HTTP\/1.1 413/);
    expect(await rawRequest(host, [request('')])).toMatch(/^HTTP\/1.1 400[^]*empty/);
  });
});
