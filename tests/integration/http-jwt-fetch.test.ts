// Issue 18, front door: an identity provider's metadata and key-set fetches are bounded and
// fail closed: a local HTTP server answers too much, a redirect, not JSON, or too slowly.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBounded, fetchJsonObject, IssuerFetchError } from '../../src/http/jwtFetch.js';

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case '/ok':
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ issuer: 'x' }));
        return;
      case '/big-declared':
        res.setHeader('Content-Length', String(2048));
        res.end('x'.repeat(2048));
        return;
      case '/big-chunked':
        for (let i = 0; i < 64; i++) res.write('x'.repeat(64));
        res.end();
        return;
      case '/redirect':
        res.statusCode = 302;
        res.setHeader('Location', '/ok');
        res.end();
        return;
      case '/array':
        res.end('[1]');
        return;
      case '/text':
        res.end('<html>');
        return;
      case '/slow':
        res.write('{');
        return; // never ends
      default:
        res.statusCode = 404;
        res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('bounded fetches of identity-provider documents', () => {
  it('reads a JSON object', async () => {
    expect(await fetchJsonObject(`${base}/ok`, 1024)).toEqual({ issuer: 'x' });
  });

  it.each([
    ['a declared size over the bound', '/big-declared', /larger than 1024 bytes/],
    ['a streamed body over the bound', '/big-chunked', /larger than 1024 bytes/],
    ['a redirect (not followed)', '/redirect', /answered 302/],
    ['a 404', '/missing', /answered 404/],
    ['a JSON array', '/array', /not a JSON object/],
    ['not JSON', '/text', /is not JSON/],
  ])('refuses %s', async (_name, path, message) => {
    const failure = fetchJsonObject(`${base}${path}`, 1024);
    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toBeInstanceOf(IssuerFetchError);
  });

  it('gives up on a body that never ends when its time is up', async () => {
    await expect(fetchBounded(`${base}/slow`, 1024, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
  });
});
