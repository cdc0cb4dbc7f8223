// HTTP mode, REST API (issue 5): SignalWire's curl sequence with fetch against the built
// gateway, then every row of the status-code table, body limits, content types, security
// headers and the audit line of a REST call. One gateway for the file; real downstream
// processes (our echo fixture, a server that dies at start).
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, HTTP_MARKER_VAR, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { readJsonl } from '../helpers/gateway.js';
import { fixture } from '../helpers/paths.js';
import { processesWithEnv, waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const BOB_TOKEN = 'bob-token-0123456789';
const B = basic('admin', 'changeme');
const T = 'Bearer tok-123';

const MCP_SERVERS = {
  echo: { command: process.execPath, args: [fixture('echo')], description: 'Echo fixture' },
  slowsrv: { command: process.execPath, args: [fixture('echo')], timeout_ms: 300 },
  broken: { command: process.execPath, args: [fixture('never-starts')] },
  secret: { command: process.execPath, args: [fixture('echo')] },
};
const RULES = {
  agents: {
    alice: { allow: { servers: ['echo', 'slowsrv', 'broken'] } },
    bob: { allow: { servers: ['*'] }, deny: { tools: { echo: ['echo'] } } },
  },
  defaults: { deny_on_missing_agent: false },
  credentials: { [sha256(BOB_TOKEN)]: 'bob' },
};

let gw: HttpGw;
beforeAll(async () => {
  gw = await startHttpGateway({
    mcpServers: MCP_SERVERS,
    rules: RULES,
    env: { GATEWAY_AUTH_USER: 'admin', GATEWAY_AUTH_PASSWORD: 'changeme', GATEWAY_AUTH_TOKEN: 'tok-123', GATEWAY_DEFAULT_AGENT: 'alice' },
  });
});
afterAll(async () => {
  if (gw) {
    await gw.stop();
    gw.kill();
  }
  cleanupTmpDirs();
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function req(
  method: string,
  path: string,
  opts: { auth?: string | null; body?: unknown; raw?: string; type?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  const auth = opts.auth === undefined ? B : opts.auth;
  if (auth !== null) headers['Authorization'] = auth;
  let body: string | undefined;
  if (opts.raw !== undefined || opts.body !== undefined) {
    body = opts.raw ?? JSON.stringify(opts.body);
    headers['Content-Type'] = opts.type ?? 'application/json';
  }
  const res = await fetch(`${gw.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  if (text !== '') {
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { text };
    }
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

const call = (service: string, body: unknown, opts: { auth?: string | null } = {}) => req('POST', `/services/${service}/call`, { ...opts, body });

describe('SignalWire curl sequence', () => {
  it('health, services, tools, call, sessions, delete', async () => {
    const health = await req('GET', '/health', { auth: null });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: expect.stringMatching(/^(healthy|degraded)$/), version: expect.any(String) });
    expect(Date.parse(String(health.body['timestamp']))).not.toBeNaN();
    expect(health.body['servers']).toMatchObject({ total: 4 });
    // No names without authentication.
    expect(JSON.stringify(health.body)).not.toContain('secret');
    const healthAuthed = await req('GET', '/health');
    expect(Object.keys(healthAuthed.body['server_states'] as object).sort()).toEqual(['broken', 'echo', 'secret', 'slowsrv']);

    const services = await req('GET', '/services');
    expect(services.status).toBe(200);
    // alice (the fallback agent) sees what her rules allow; never command, args or env.
    expect(services.body).toEqual({
      echo: { description: 'Echo fixture', enabled: true, transport: 'stdio' },
      slowsrv: { description: '', enabled: true, transport: 'stdio' },
      broken: { description: '', enabled: true, transport: 'stdio' },
    });

    const tools = await req('GET', '/services/echo/tools', { auth: T });
    expect(tools.status).toBe(200);
    expect(tools.body['service']).toBe('echo');
    const names = (tools.body['tools'] as { name: string }[]).map((t) => t.name);
    expect(names).toContain('echo');
    expect(names).toContain('structured');

    const first = await call('echo', { tool: 'echo', arguments: { message: 'milk' }, session_id: 's-1', timeout: 120, metadata: { a: 1 } });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      session_id: 's-1',
      service: 'echo',
      tool: 'echo',
      result: 'milk',
      content: [{ type: 'text', text: 'milk' }],
      structuredContent: null,
      isError: false,
    });
    // The same call with the bearer token (the same shared identity) uses the same session.
    const again = await call('echo', { tool: 'structured', arguments: { city: 'Oslo' }, session_id: 's-1', timeout: 3600, metadata: { b: 2 } }, { auth: T });
    expect(again.status).toBe(200);
    expect(again.body['structuredContent']).toEqual({ temperature: 21.5, city: 'Oslo' });

    const sessions = await req('GET', '/sessions');
    expect(sessions.status).toBe(200);
    const s1 = (sessions.body as Record<string, Record<string, unknown>>)['s-1']!;
    // The last call's timeout applies and metadata is merged (SignalWire fixes both at creation).
    expect(s1).toMatchObject({ service_name: 'echo', service: 'echo', agent: 'alice', timeout: 3600, metadata: { a: 1, b: 2 } });
    expect(s1['time_remaining']).toBeGreaterThan(0);
    expect(s1['time_remaining']).toBeLessThanOrEqual(3600);
    expect(Date.parse(String(s1['created_at']))).not.toBeNaN();
    expect(Date.parse(String(s1['last_accessed']))).not.toBeNaN();

    const mismatch = await call('slowsrv', { tool: 'echo', arguments: { message: 'x' }, session_id: 's-1' });
    expect(mismatch.status).toBe(409);
    expect(mismatch.body).toEqual({ error: "Session s-1 is for service 'echo', not 'slowsrv'", code: 'SESSION_CONFLICT' });

    const del = await req('DELETE', '/sessions/s-1');
    expect(del).toMatchObject({ status: 200, body: { message: 'Session s-1 closed' } });
    expect((await req('GET', '/sessions')).body).not.toHaveProperty('s-1');
    const del2 = await req('DELETE', '/sessions/s-1');
    expect(del2).toMatchObject({ status: 404, body: { error: 'Session s-1 not found', code: 'SESSION_NOT_FOUND' } });
  });

  it('a downstream isError is HTTP 200 with isError true, all content kept', async () => {
    const r = await call('echo', { tool: 'fail', arguments: { message: 'no such todo' }, session_id: 'err-1' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ result: 'no such todo', isError: true, structuredContent: { reason: 'no such todo' } });
    const image = await call('echo', { tool: 'image', session_id: 'err-1' });
    expect(image.status).toBe(200);
    // The first block is not text: as SignalWire, result is the whole result; content keeps every block.
    expect((image.body['content'] as unknown[]).length).toBe(4);
    expect((image.body['result'] as { content: unknown[] }).content.length).toBe(4);
  });

  it('the audit line of a REST call carries the session id and the agent', async () => {
    await call('echo', { tool: 'echo', arguments: { message: 'audited' }, session_id: 'audit-7' });
    await waitFor(() => readJsonl(gw.auditPath).some((l) => l['session_id'] === 'audit-7'), { message: 'no audit line for audit-7' });
    const line = readJsonl(gw.auditPath).find((l) => l['session_id'] === 'audit-7')!;
    expect(line).toMatchObject({ agent: 'alice', operation: 'execute_tool', server: 'echo', tool: 'echo', decision: 'ALLOW', arg_keys: ['message'] });
    expect(JSON.stringify(line)).not.toContain('audited');
  });

  it("the gateway's credentials never reach a downstream server's environment", async () => {
    for (const name of ['GATEWAY_AUTH_TOKEN', 'GATEWAY_AUTH_PASSWORD', 'GATEWAY_AUTH_USER']) {
      const r = await call('echo', { tool: 'env', arguments: { name }, session_id: 'env-1' });
      expect(r.status).toBe(200);
      expect(r.body['result'], name).toBe('<unset>');
    }
  });

  it('tools come from the cache: no process is started per request', async () => {
    expect((await req('GET', '/services/echo/tools')).status).toBe(200);
    const pids = () =>
      processesWithEnv(HTTP_MARKER_VAR, gw.marker)
        .map((p) => p.pid)
        .sort();
    const before = pids();
    for (let i = 0; i < 5; i++) expect((await req('GET', '/services/echo/tools')).status).toBe(200);
    expect(pids()).toEqual(before);
  });

  it('sessions belong to the identity that made them', async () => {
    await call('echo', { tool: 'echo', arguments: { message: 'x' }, session_id: 'mine-1' });
    const asBob = await req('GET', '/sessions', { auth: `Bearer ${BOB_TOKEN}` });
    expect(asBob.body).not.toHaveProperty('mine-1');
    expect((await req('DELETE', '/sessions/mine-1', { auth: `Bearer ${BOB_TOKEN}` })).status).toBe(404);
    expect((await req('DELETE', '/sessions/mine-1')).status).toBe(200);
  });
});

describe('status codes', () => {
  it('400: invalid names, ids and body fields, each message naming the field', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['echo', { session_id: 's' }, /Missing 'tool'/],
      ['echo', { tool: 'echo' }, /Missing 'session_id'/],
      ['echo', { tool: 'list todos', session_id: 's' }, /'tool'.*invalid characters/],
      ['echo', { tool: 'a'.repeat(65), session_id: 's' }, /tool name length in 'tool'/],
      ['echo', { tool: 7, session_id: 's' }, /'tool' must be a string/],
      ['echo', { tool: 'echo', session_id: 'a/b' }, /'session_id'.*invalid characters/],
      ['echo', { tool: 'echo', session_id: 'abc\n' }, /'session_id'.*invalid characters/],
      ['echo', { tool: 'echo', session_id: 'a'.repeat(129) }, /session ID length in 'session_id'/],
      ['echo', { tool: 'echo', session_id: 's', arguments: [1] }, /'arguments'/],
      ['echo', { tool: 'echo', session_id: 's', arguments: null }, /'arguments'/],
      ['echo', { tool: 'echo', session_id: 's', metadata: [] }, /'metadata'/],
      ['echo', { tool: 'echo', session_id: 's', metadata: null }, /'metadata'/],
      ['echo', [1, 2], /JSON object/],
      ['echo', 'abc', /JSON object/],
    ];
    for (const timeout of [0, -5, 3601, '10', null, true]) cases.push(['echo', { tool: 'echo', session_id: 's', timeout }, /'timeout'/]);
    for (const [service, body, message] of cases) {
      const r = await call(service, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body['code'], JSON.stringify(body)).toBe('INVALID_ARGUMENT');
      expect(String(r.body['error']), JSON.stringify(body)).toMatch(message);
    }
    for (const path of ['/services/bad.name/call', `/services/${'a'.repeat(65)}/call`, '/services/a%20b/call']) {
      const r = await req('POST', path, { body: { tool: 'echo', session_id: 's' } });
      expect(r.status, path).toBe(400);
      expect(String(r.body['error'])).toMatch(/'service'/);
    }
    expect((await req('GET', '/services/bad.name/tools')).status).toBe(400);
    expect((await req('DELETE', '/sessions/a%20b')).status).toBe(400);
    const malformed = await req('POST', '/services/echo/call', { raw: '{bad' });
    expect(malformed).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT', error: expect.stringMatching(/^Invalid JSON/) } });
    const empty = await req('POST', '/services/echo/call', { raw: '' });
    expect(empty.status).toBe(400);
    // The edges that pass: 3600 s, 0.5 s, a 128-character id, a 64-character tool name (then unknown: 404).
    for (const timeout of [3600, 0.5])
      expect((await call('echo', { tool: 'echo', arguments: { message: 'x' }, session_id: `t-${timeout}`, timeout })).status).toBe(200);
    expect((await call('echo', { tool: 'echo', arguments: { message: 'x' }, session_id: 'b'.repeat(128) })).status).toBe(200);
  });

  it('401 carries WWW-Authenticate for every scheme offered', async () => {
    const r = await req('GET', '/services', { auth: null });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: 'Authentication required', code: 'UNAUTHENTICATED' });
    const challenge = r.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain('Basic realm="MCP Gateway"');
    expect(challenge).toContain('Bearer realm="MCP Gateway"');
  });

  it('403 for a denied server is the same whether it exists or not; 404 only where the rules would allow the name', async () => {
    const denied = await req('GET', '/services/secret/tools');
    const deniedMissing = await req('GET', '/services/nosuch/tools');
    expect(denied.status).toBe(403);
    expect(deniedMissing.status).toBe(403);
    expect(denied.body['code']).toBe('DENIED_BY_POLICY');
    expect(String(deniedMissing.body['error'])).toBe(String(denied.body['error']).replace('secret', 'nosuch'));
    const callDenied = await call('secret', { tool: 'echo', session_id: 'p', arguments: { message: 'x' } });
    expect(callDenied).toMatchObject({ status: 403, body: { code: 'DENIED_BY_POLICY' } });
    // bob may use any name ('*'): an unknown one is 404, an unknown tool too; his denied tool is 403.
    const bob = `Bearer ${BOB_TOKEN}`;
    expect(await req('GET', '/services/nosuch/tools', { auth: bob })).toMatchObject({ status: 404, body: { code: 'SERVER_NOT_FOUND' } });
    expect(await call('echo', { tool: 'nosuch', session_id: 'b1' }, { auth: bob })).toMatchObject({ status: 404, body: { code: 'TOOL_NOT_FOUND' } });
    expect(await call('echo', { tool: 'echo', session_id: 'b1', arguments: { message: 'x' } }, { auth: bob })).toMatchObject({
      status: 403,
      body: { code: 'DENIED_BY_POLICY' },
    });
  });

  it('404 for unknown routes and trailing slashes; 405 with Allow for a wrong method; OPTIONS and HEAD', async () => {
    for (const path of ['/nope', '/services/', '/services/echo/tools/', '/sessions/']) {
      const r = await req('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body['code']).toBe('NOT_FOUND');
    }
    for (const [method, path, allow] of [
      ['POST', '/services', 'GET, HEAD, OPTIONS'],
      ['POST', '/health', 'GET, HEAD, OPTIONS'],
      ['DELETE', '/sessions', 'GET, HEAD, OPTIONS'],
      ['GET', '/services/echo/call', 'POST, OPTIONS'],
      ['PUT', '/mcp', 'POST, GET, DELETE, HEAD, OPTIONS'],
    ] as const) {
      const r = await req(method, path);
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get('allow')).toBe(allow);
      expect(r.body['code']).toBe('METHOD_NOT_ALLOWED');
    }
    const options = await fetch(`${gw.url}/services`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect((await fetch(`${gw.url}/services`, { method: 'HEAD' })).status).toBe(401);
    expect((await fetch(`${gw.url}/services`, { method: 'HEAD', headers: { Authorization: B } })).status).toBe(200);
  });

  it('413 over the body limit, 415 for a non-JSON content type', async () => {
    const big = JSON.stringify({ tool: 'echo', session_id: 's', arguments: { message: 'x'.repeat(10 * 1024 * 1024) } });
    const r = await req('POST', '/services/echo/call', { raw: big });
    expect(r).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
    // Without Content-Length (chunked), counted while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${gw.url}/services/echo/call`);
      const q = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { Authorization: B, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      q.on('error', reject);
      for (let i = 0; i < 11; i++) q.write('x'.repeat(1024 * 1024));
      q.end();
    });
    expect(chunked).toBe(413);
    const text = await req('POST', '/services/echo/call', { raw: JSON.stringify({ tool: 'echo', session_id: 's' }), type: 'text/plain' });
    expect(text).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    // The gateway still answers on the same footing afterwards.
    expect((await req('GET', '/health')).status).toBe(200);
  });

  it('503 when the server cannot start, 504 when the call times out', async () => {
    const unavailable = await req('GET', '/services/broken/tools');
    expect(unavailable).toMatchObject({ status: 503, body: { code: 'SERVER_UNAVAILABLE' } });
    const timeout = await call('slowsrv', { tool: 'slow', arguments: { ms: 60_000 }, session_id: 'slow-1' });
    expect(timeout).toMatchObject({ status: 504, body: { code: 'TIMEOUT' } });
  });

  it('security headers on every response (no HSTS on plain HTTP)', async () => {
    const responses = [
      await req('GET', '/health', { auth: null }),
      await req('GET', '/services', { auth: null }),
      await req('GET', '/nope'),
      await req('POST', '/services/echo/call', { raw: '{bad' }),
      await req('GET', '/services'),
    ];
    for (const r of responses) {
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('strict-transport-security')).toBeNull();
    }
  });
});

describe('refusals and hostile input (issue 13)', () => {
  const auditOf = (sessionId: string) => readJsonl(gw.auditPath).filter((l) => l['session_id'] === sessionId);
  /** JSON text of `levels` nested objects, written by hand: JSON.stringify cannot go this deep. */
  const nestedJson = (levels: number) => `${'{"z":'.repeat(levels - 1)}{"leaf":true}${',"a":1}'.repeat(levels - 1)}`;

  it('409 SESSION_CONFLICT is an audit line, like every call', async () => {
    expect((await call('echo', { tool: 'echo', arguments: { message: 'x' }, session_id: 'conflict-1' })).status).toBe(200);
    const r = await call('slowsrv', { tool: 'echo', arguments: { message: 'x' }, session_id: 'conflict-1' });
    expect(r).toMatchObject({ status: 409, body: { code: 'SESSION_CONFLICT', error: "Session conflict-1 is for service 'echo', not 'slowsrv'" } });
    await waitFor(() => auditOf('conflict-1').length >= 2, { message: 'no audit line for the conflict' });
    const lines = auditOf('conflict-1');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      agent: 'alice',
      operation: 'execute_tool',
      server: 'slowsrv',
      tool: 'echo',
      decision: 'ERROR',
      code: 'SESSION_CONFLICT',
      isError: true,
    });
  });

  it('a body nested 5,000 deep is a 400 from the HTTP layer, before any call (so no audit line), never a 500', async () => {
    const raw = `{"tool":"echo","session_id":"deep-body","arguments":${nestedJson(5000)}}`;
    const r = await req('POST', '/services/echo/call', { raw });
    expect(r).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT', error: 'Invalid JSON: nested deeper than 128 levels' } });
    expect(auditOf('deep-body')).toHaveLength(0);
  });

  it('metadata or arguments nested past 64 levels (within the body limit) are a 400 naming the field and an audit line', async () => {
    for (const [field, sessionId] of [
      ['metadata', 'deep-meta'],
      ['arguments', 'deep-args'],
    ] as const) {
      const raw = `{"tool":"echo","session_id":"${sessionId}","${field}":${nestedJson(100)}}`;
      const r = await req('POST', '/services/echo/call', { raw });
      expect(r.status, field).toBe(400);
      expect(r.body, field).toMatchObject({ code: 'INVALID_ARGUMENT', error: expect.stringContaining(`'${field}'`) });
      expect(String(r.body['error'])).toContain('64 levels');
      await waitFor(() => auditOf(sessionId).length >= 1, { message: `no audit line for ${sessionId}` });
      expect(auditOf(sessionId), field).toHaveLength(1);
      expect(auditOf(sessionId)[0]).toMatchObject({ server: 'echo', tool: 'echo', code: 'INVALID_ARGUMENT', decision: 'ERROR' });
    }
    const sessions = await req('GET', '/sessions');
    expect(sessions.status).toBe(200);
    expect(sessions.body).not.toHaveProperty('deep-meta');
    expect(sessions.body).not.toHaveProperty('deep-args');
  });

  it("a session's merged metadata is bounded: the call that would pass 16 KiB is a 400 and an audit line", async () => {
    const piece = 'm'.repeat(6 * 1024);
    for (const key of ['a', 'b']) {
      expect((await call('echo', { tool: 'echo', arguments: { message: 'x' }, session_id: 'meta-grow', metadata: { [key]: piece } })).status).toBe(200);
    }
    const third = await call('echo', { tool: 'echo', arguments: { message: 'x' }, session_id: 'meta-grow', metadata: { c: piece } });
    expect(third).toMatchObject({ status: 400, body: { code: 'INVALID_ARGUMENT', error: expect.stringContaining("'metadata'") } });
    // Replacing a key keeps the size: still accepted.
    expect((await call('echo', { tool: 'echo', arguments: { message: 'y' }, session_id: 'meta-grow', metadata: { a: 'short' } })).status).toBe(200);
    await waitFor(() => auditOf('meta-grow').length >= 4, { message: 'no audit line for the refused metadata' });
    expect(auditOf('meta-grow').map((l) => l['code'])).toEqual([null, null, 'INVALID_ARGUMENT', null]);
    const session = (await req('GET', '/sessions')).body['meta-grow'] as { metadata: Record<string, string> };
    expect(Object.keys(session.metadata).sort()).toEqual(['a', 'b']);
  });
});
