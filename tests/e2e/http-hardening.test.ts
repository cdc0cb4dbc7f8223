// HTTP mode hardening (issue 13, items 7-10), end to end on the built gateway over real HTTP
// on 127.0.0.1: tool calls on /mcp count in the `call` rate-limit class and batches are
// refused; per-identity caps on /mcp sessions and isolated instances; idle /mcp sessions
// expire; slow requests, too many connections and deep JSON bodies are cut short; the Host
// header is checked on a loopback bind (DNS rebinding).
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { HTTP_MARKER_VAR, runGatewayExpectingFailure, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const BOB = 'bob-hardening-token';
const SHARED = 'Bearer tok-123';
const BOB_AUTH = `Bearer ${BOB}`;
const ECHO = { echo: { command: process.execPath, args: [fixture('echo')] } };
const RULES = {
  agents: { alice: { allow: { servers: ['*'] } }, bob: { allow: { servers: ['*'] } } },
  credentials: { [sha256(BOB)]: 'bob' },
};

const started: HttpGw[] = [];
async function start(args: string[], mcpServers: object = ECHO): Promise<HttpGw> {
  const gw = await startHttpGateway({ mcpServers, rules: RULES, args, env: { GATEWAY_AUTH_TOKEN: 'tok-123' } });
  started.push(gw);
  return gw;
}
afterAll(async () => {
  await Promise.all(started.map((g) => g.stop()));
  for (const g of started) g.kill();
  cleanupTmpDirs();
});

const MCP_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Mcp-Protocol-Version': '2025-06-18' };

async function mcpPost(gw: HttpGw, auth: string, body: unknown, sid?: string): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${gw.url}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, Authorization: auth, ...(sid !== undefined ? { 'Mcp-Session-Id': sid } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'hardening', version: '1' } },
};

/** Opens an MCP session with raw requests; resolves with its id, or with the refusal. */
async function openSession(gw: HttpGw, auth: string): Promise<{ status: number; sid?: string; headers: Headers; text: string }> {
  const res = await fetch(`${gw.url}/mcp`, { method: 'POST', headers: { ...MCP_HEADERS, Authorization: auth }, body: JSON.stringify(INIT) });
  const text = await res.text();
  const sid = res.headers.get('mcp-session-id') ?? undefined;
  if (sid !== undefined) {
    const ack = await mcpPost(gw, auth, { jsonrpc: '2.0', method: 'notifications/initialized' }, sid);
    expect(ack.status).toBe(202);
  }
  return { status: res.status, headers: res.headers, text, ...(sid !== undefined ? { sid } : {}) };
}

const toolCall = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'list_servers', arguments: { agent_id: 'alice' } } });

const restCall = (gw: HttpGw, auth: string, sessionId: string, service = 'echo', body: Record<string, unknown> = {}) =>
  fetch(`${gw.url}/services/${service}/call`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ tool: 'echo', arguments: { message: 'x' }, session_id: sessionId, ...(auth === SHARED ? { agent_id: 'alice' } : {}), ...body }),
  });

/** A request through node:http, which sends the Host header given (fetch sets its own). */
function rawGet(gw: HttpGw, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const url = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function deepArray(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

describe('item 7: every tool call costs a unit of the call class, however it arrives', () => {
  it('tools/call on /mcp shares the budget with REST calls; the call past it gets 429 with Retry-After', async () => {
    const gw = await start(['--rate-limit-call', '5 per minute']);
    for (let i = 0; i < 2; i++) expect((await restCall(gw, SHARED, 'r-1')).status).toBe(200);
    const { sid } = await openSession(gw, SHARED);
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof mcpPost>> | undefined;
    for (let i = 1; i <= 4; i++) {
      last = await mcpPost(gw, SHARED, toolCall(i), sid);
      statuses.push(last.status);
    }
    // 2 REST + 3 on /mcp = 5; the fourth on /mcp is the sixth call.
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(JSON.parse(last!.text)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.headers.get('ratelimit-policy')).toBe('5;w=60');
    // Other MCP methods are not tool calls.
    expect((await mcpPost(gw, SHARED, { jsonrpc: '2.0', id: 9, method: 'tools/list' }, sid)).status).toBe(200);
    // Another identity has its own budget, on /mcp as on REST.
    const bob = await openSession(gw, BOB_AUTH);
    expect((await mcpPost(gw, BOB_AUTH, { ...toolCall(1), params: { name: 'list_servers', arguments: {} } }, bob.sid)).status).toBe(200);
  });

  it('a JSON-RPC batch on /mcp is refused (400, -32600) and runs nothing', async () => {
    const gw = await start(['--rate-limit-call', '5 per minute']);
    const { sid } = await openSession(gw, SHARED);
    const batch = Array.from({ length: 100 }, (_, i) => toolCall(i + 1));
    const r = await mcpPost(gw, SHARED, batch, sid);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.stringContaining('batch') } });
    // A batch initialize is refused the same way.
    expect((await mcpPost(gw, SHARED, [INIT])).status).toBe(400);
    // Nothing ran: the audit holds no call, and the whole call budget is left.
    for (let i = 1; i <= 5; i++) expect((await mcpPost(gw, SHARED, toolCall(i), sid)).status).toBe(200);
    expect((await mcpPost(gw, SHARED, toolCall(6), sid)).status).toBe(429);
  });
});

describe('item 8: per-identity caps', () => {
  it('/mcp sessions: an identity at its cap gets 429 with Retry-After; another identity still opens one; closing one frees a slot', async () => {
    const gw = await start(['--max-mcp-sessions-per-identity', '2']);
    const a = await openSession(gw, BOB_AUTH);
    const b = await openSession(gw, BOB_AUTH);
    expect([a.status, b.status]).toEqual([200, 200]);
    const c = await openSession(gw, BOB_AUTH);
    expect(c.status).toBe(429);
    expect(JSON.parse(c.text)).toMatchObject({ code: 'TOO_MANY_SESSIONS_FOR_IDENTITY' });
    expect(Number(c.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await openSession(gw, SHARED);
    expect(other.status).toBe(200);
    const del = await fetch(`${gw.url}/mcp`, { method: 'DELETE', headers: { ...MCP_HEADERS, Authorization: BOB_AUTH, 'Mcp-Session-Id': a.sid! } });
    expect(del.status).toBe(200);
    expect((await openSession(gw, BOB_AUTH)).status).toBe(200);
  });

  it('the default per-identity cap is a quarter of --max-mcp-sessions', async () => {
    const gw = await start(['--max-mcp-sessions', '8']);
    for (let i = 0; i < 2; i++) expect((await openSession(gw, BOB_AUTH)).status).toBe(200);
    expect((await openSession(gw, BOB_AUTH)).status).toBe(429);
    expect((await openSession(gw, SHARED)).status).toBe(200);
  });

  it('isolated instances: an identity at its cap gets 429 with Retry-After; another identity still starts one', async () => {
    const servers = {
      todo: { command: process.execPath, args: [fixture('todo')], isolation: 'session', env: { [HTTP_MARKER_VAR]: `\${${HTTP_MARKER_VAR}}` } },
    };
    const gw = await start(['--max-sessions-per-identity', '2'], servers);
    const call = (auth: string, sid: string) => restCall(gw, auth, sid, 'todo', { tool: 'pid', arguments: {} });
    expect((await call(BOB_AUTH, 's-1')).status).toBe(200);
    expect((await call(BOB_AUTH, 's-2')).status).toBe(200);
    const third = await call(BOB_AUTH, 's-3');
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ code: 'TOO_MANY_SESSIONS_FOR_IDENTITY' });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    // Its existing sessions still work; another identity is unaffected.
    expect((await call(BOB_AUTH, 's-1')).status).toBe(200);
    expect((await call(SHARED, 's-1')).status).toBe(200);
    // Ending a session frees its slot.
    expect((await fetch(`${gw.url}/sessions/s-1`, { method: 'DELETE', headers: { Authorization: BOB_AUTH } })).status).toBe(200);
    expect((await call(BOB_AUTH, 's-3')).status).toBe(200);
  });

  it('an idle /mcp session expires after --mcp-session-idle-timeout-ms, and frees its slot', async () => {
    const gw = await start(['--mcp-session-idle-timeout-ms', '500', '--max-mcp-sessions-per-identity', '1']);
    const { sid } = await openSession(gw, SHARED);
    expect((await mcpPost(gw, SHARED, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, sid)).status).toBe(200);
    // Probing would keep it alive: wait on the gateway's log line, then check once.
    await waitFor(() => gw.stderr().includes('MCP session idle too long'), { timeoutMs: 15_000 });
    expect((await mcpPost(gw, SHARED, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, sid)).status).toBe(404);
    expect((await openSession(gw, SHARED)).status).toBe(200);
  });
});

describe('item 9: slow requests, connection cap, deep bodies', () => {
  it('a request whose body never arrives is cut off (408) within --request-timeout-ms', async () => {
    const gw = await start(['--headers-timeout-ms', '500', '--request-timeout-ms', '1000']);
    const url = new URL(gw.url);
    const socket = netConnect(Number(url.port), url.hostname);
    let received = '';
    let closed = false;
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (received += c));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /services/echo/call HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${SHARED}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"tool":`,
    );
    // Node's own default would hold it for 5 minutes.
    await waitFor(() => closed, { timeoutMs: 20_000, message: 'the slow request was not cut off' });
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    // Only receiving the request is timed: an answer may take longer than the request timeout.
    const slow = await restCall(gw, SHARED, 'slow-1', 'echo', { tool: 'slow', arguments: { ms: 2500 } });
    expect(slow.status).toBe(200);
    expect(await slow.json()).toMatchObject({ result: 'slept 2500' });
  });

  it('connections past --max-connections are closed unanswered; a freed slot serves again', async () => {
    const gw = await start(['--max-connections', '2']);
    const url = new URL(gw.url);
    const open = async (): Promise<{ socket: Socket; closed: () => boolean; data: () => string }> => {
      const socket = netConnect(Number(url.port), url.hostname);
      let closed = false;
      let data = '';
      socket.on('close', () => (closed = true));
      socket.on('data', (c: Buffer) => (data += c.toString('utf8')));
      socket.on('error', () => undefined);
      await new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      return { socket, closed: () => closed, data: () => data };
    };
    const first = await open();
    const second = await open();
    const third = await open();
    third.socket.write(`GET /health HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    await waitFor(() => third.closed(), { timeoutMs: 10_000, message: 'the connection over the cap was not closed' });
    expect(third.data()).toBe('');
    // The first two are served.
    second.socket.write(`GET /health HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    await waitFor(() => second.data().startsWith('HTTP/1.1 200'), { timeoutMs: 10_000 });
    first.socket.destroy();
    second.socket.destroy();
    await waitFor(async () => (await fetch(`${gw.url}/health`, { headers: { Connection: 'close' } })).status === 200, { timeoutMs: 10_000 });
  });

  it('a deeply nested JSON body is a 400 on REST and on /mcp, never a 5xx', async () => {
    const gw = await start([]);
    for (const depth of [200, 20_000]) {
      const body = `{"tool":"echo","agent_id":"alice","session_id":"d","arguments":{"message":"x","deep":${deepArray(depth)}}}`;
      const res = await fetch(`${gw.url}/services/echo/call`, { method: 'POST', headers: { Authorization: SHARED, 'Content-Type': 'application/json' }, body });
      expect(res.status, `REST, depth ${depth}`).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'INVALID_ARGUMENT', error: expect.stringContaining('nested deeper than 128') });
    }
    const { sid } = await openSession(gw, SHARED);
    const call = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"execute_tool","arguments":{"agent_id":"alice","server":"echo","tool":"echo","args":{"message":"x","deep":${deepArray(20_000)}}}}}`;
    const r = await mcpPost(gw, SHARED, call, sid);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ error: { code: -32600 } });
    // The gateway is still fine.
    expect((await restCall(gw, SHARED, 'after')).status).toBe(200);
  });
});

describe('item 10: the Host header on a loopback bind (DNS rebinding)', () => {
  it('a foreign Host gets 403 on every route; loopback names on any port pass; --allowed-hosts adds names', async () => {
    const gw = await start(['--allowed-hosts', 'gw.example.test']);
    const port = new URL(gw.url).port;
    for (const path of ['/services?agent_id=admin', '/services/echo/tools', '/sessions', '/metrics', '/health', '/mcp']) {
      const r = await rawGet(gw, path, { Host: `evil.example:${port}` });
      expect(r.status, path).toBe(403);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'FORBIDDEN_HOST' });
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST', 'localhost:1', `gw.example.test:${port}`, 'gw.example.test']) {
      expect((await rawGet(gw, '/sessions', { Host: host, Authorization: SHARED })).status, host).toBe(200);
    }
    for (const host of ['evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', 'gw.example.test.evil', 'localhost:port']) {
      expect((await rawGet(gw, '/sessions', { Host: host, Authorization: SHARED })).status, host).toBe(403);
    }
  });

  it('without --allowed-hosts only loopback names are served on a loopback bind', async () => {
    const anon = await startHttpGateway({ mcpServers: ECHO, rules: { agents: { admin: { allow: { servers: ['*'] } } } } });
    started.push(anon);
    expect((await rawGet(anon, '/services?agent_id=admin', { Host: 'rebound.example' })).status).toBe(403);
    expect((await rawGet(anon, '/services/echo/tools?agent_id=admin', { Host: 'rebound.example' })).status).toBe(403);
    expect((await rawGet(anon, '/services?agent_id=admin', { Host: `localhost:${new URL(anon.url).port}` })).status).toBe(200);
  });

  it('an absolute-form request target (its own authority, unseen by the Host check) is a 400', async () => {
    const anon = await startHttpGateway({ mcpServers: ECHO, rules: { agents: { admin: { allow: { servers: ['*'] } } } } });
    started.push(anon);
    const port = new URL(anon.url).port;
    const r = await rawGet(anon, 'http://rebound.example/services?agent_id=admin', { Host: `localhost:${port}` });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('request headers over the parser limit get 431, not 400', async () => {
    const anon = await startHttpGateway({ mcpServers: ECHO, rules: { agents: { admin: { allow: { servers: ['*'] } } } } });
    started.push(anon);
    const r = await rawGet(anon, '/health', { Host: `localhost:${new URL(anon.url).port}`, 'X-Big': 'x'.repeat(64 * 1024) });
    expect(r.status).toBe(431);
  });

  it('a bad --allowed-hosts entry is refused at start, naming the flag', async () => {
    const r = await runGatewayExpectingFailure({ mcpServers: ECHO, rules: RULES, args: ['--allowed-hosts', 'http://gw.example.test'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--allowed-hosts');
  });
});
