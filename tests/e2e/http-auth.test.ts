// HTTP mode, who is calling (issue 5): the auth matrix (Basic, Bearer, per-agent token,
// wrong, malformed, non-ASCII), per-agent binding in REST (AGENT_MISMATCH, hot-reloaded
// credentials), Origin validation, and the refusal to serve a non-loopback host without
// credentials. Settings errors name the flag or variable.
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, runGatewayExpectingFailure, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, writeJson } from '../helpers/tmp.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const BOB_TOKEN = 'bob-secret-token';
const CAROL_TOKEN = 'carol-secret-token';
const MCP_SERVERS = { echo: { command: process.execPath, args: [fixture('echo')] } };
const AGENTS = {
  alice: { allow: { servers: ['echo'] } },
  bob: { allow: { servers: ['echo'] }, deny: { tools: { echo: ['echo'] } } },
  carol: { allow: { servers: ['echo'] } },
};
const RULES = { agents: AGENTS, credentials: { [sha256(BOB_TOKEN)]: 'bob' } };

/** A raw request whose Authorization header bytes are exactly `auth` (latin1), which fetch cannot send. */
function rawStatus(url: string, path: string, auth: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const q = httpRequest({ host: u.hostname, port: u.port, path, method: 'GET', headers: { Authorization: auth.toString('latin1') } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    q.on('error', reject);
    q.end();
  });
}

let gw: HttpGw;
beforeAll(async () => {
  gw = await startHttpGateway({
    mcpServers: MCP_SERVERS,
    rules: RULES,
    env: { GATEWAY_AUTH_USER: 'admin', GATEWAY_AUTH_PASSWORD: 'changeme', GATEWAY_AUTH_TOKEN: 'tok-123' },
  });
});
afterAll(async () => {
  if (gw) {
    await gw.stop();
    gw.kill();
  }
  cleanupTmpDirs();
});

const get = (path: string, auth?: string, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}${path}`, { headers: { ...(auth !== undefined ? { Authorization: auth } : {}), ...headers } });

const call = async (auth: string, body: object) => {
  const res = await fetch(`${gw.url}/services/echo/call`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('auth matrix', () => {
  it.each([
    ['no header', undefined, 401],
    ['Basic, right', basic('admin', 'changeme'), 200],
    ['Basic, wrong password', basic('admin', 'wrong'), 401],
    ['Basic, wrong user', basic('root', 'changeme'), 401],
    ['Basic, empty password', basic('admin', ''), 401],
    ['Basic, no colon', `Basic ${Buffer.from('adminchangeme').toString('base64')}`, 401],
    ['Basic, garbage base64', 'Basic !!!not-base64', 401],
    ['Basic, lower-case scheme', `basic ${Buffer.from('admin:changeme').toString('base64')}`, 200],
    ['Bearer, right', 'Bearer tok-123', 200],
    ['Bearer, wrong', 'Bearer nope', 401],
    ['Bearer, right token with a suffix', 'Bearer tok-1234', 401],
    ['Bearer, lower-case scheme (as SignalWire)', 'bearer tok-123', 401],
    ['Bearer, double space', 'Bearer  tok-123', 401],
    ['Bearer, empty', 'Bearer ', 401],
    ['Bearer, per-agent token', `Bearer ${BOB_TOKEN}`, 200],
    ['Bearer, the digest instead of the token', `Bearer ${sha256(BOB_TOKEN)}`, 401],
    ['unknown scheme', 'Digest username="admin"', 401],
  ])('%s', async (_name, auth, status) => {
    const res = await get('/sessions', auth);
    expect(res.status).toBe(status);
    if (status === 401) {
      expect(await res.json()).toEqual({ error: 'Authentication required', code: 'UNAUTHENTICATED' });
      expect(res.headers.get('www-authenticate')).toContain('Basic realm="MCP Gateway"');
    }
  });

  it('non-ASCII credentials are 401, never 500 (Latin-1 byte, UTF-8 bytes, in Basic too)', async () => {
    expect(await rawStatus(gw.url, '/services', Buffer.from('Bearer t\xe9st', 'latin1'))).toBe(401);
    expect(await rawStatus(gw.url, '/services', Buffer.from('Bearer tést', 'utf8'))).toBe(401);
    const basicUtf8 = Buffer.from(`Basic ${Buffer.from('ädmin:chängeme').toString('base64')}`);
    expect(await rawStatus(gw.url, '/services', basicUtf8)).toBe(401);
    expect(await rawStatus(gw.url, '/services', Buffer.from('B\xe9arer tok-123', 'latin1'))).toBe(401);
    // The gateway is still fine.
    expect((await get('/sessions', 'Bearer tok-123')).status).toBe(200);
  });

  it('no secret reaches the log', async () => {
    await get('/services', 'Bearer wrong-secret-value');
    await get('/services', basic('admin', 'wrong-password-value'));
    await waitFor(() => gw.stderr().includes('"event":"auth_failed"'));
    for (const secret of ['wrong-secret-value', 'wrong-password-value', 'tok-123', 'changeme', BOB_TOKEN]) expect(gw.stderr()).not.toContain(secret);
  });
});

describe('per-agent credentials', () => {
  it('bind the request to the agent: its rules apply and another agent_id is AGENT_MISMATCH', async () => {
    const bob = `Bearer ${BOB_TOKEN}`;
    expect(await call(bob, { tool: 'echo', session_id: 's', arguments: { message: 'x' } })).toMatchObject({ status: 403, body: { code: 'DENIED_BY_POLICY' } });
    expect(await call(bob, { tool: 'add', session_id: 's', arguments: { a: 1, b: 2 } })).toMatchObject({ status: 200, body: { result: '3' } });
    expect(await call(bob, { tool: 'add', session_id: 's', arguments: { a: 1, b: 2 }, agent_id: 'alice' })).toMatchObject({
      status: 403,
      body: { code: 'AGENT_MISMATCH' },
    });
    // SignalWire's skill sends metadata.agent_id: it is a claim too.
    expect(await call(bob, { tool: 'add', session_id: 's', arguments: { a: 1, b: 2 }, metadata: { agent_id: 'alice' } })).toMatchObject({
      status: 403,
      body: { code: 'AGENT_MISMATCH' },
    });
    const tools = await get('/services/echo/tools', bob);
    const names = ((await tools.json()) as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(names).not.toContain('echo');
    expect(names).toContain('add');
    // The query agent_id is a claim as well.
    expect((await get('/services?agent_id=alice', bob)).status).toBe(403);
  });

  it('the shared credential is not bound: identity comes from agent_id (and a missing one is refused here)', async () => {
    const shared = 'Bearer tok-123';
    expect(await call(shared, { tool: 'echo', session_id: 's', arguments: { message: 'x' }, agent_id: 'alice' })).toMatchObject({ status: 200 });
    expect(await call(shared, { tool: 'echo', session_id: 's', arguments: { message: 'x' }, agent_id: 'bob' })).toMatchObject({ status: 403 });
    expect(await call(shared, { tool: 'echo', session_id: 's', arguments: { message: 'x' }, metadata: { agent_id: 'alice' } })).toMatchObject({ status: 200 });
    expect(await call(shared, { tool: 'echo', session_id: 's', arguments: { message: 'x' } })).toMatchObject({ status: 400, body: { code: 'MISSING_AGENT_ID' } });
    expect(await call(shared, { tool: 'echo', session_id: 's', arguments: { message: 'x' }, agent_id: 'mallory' })).toMatchObject({
      status: 403,
      body: { code: 'INVALID_AGENT_ID' },
    });
  });

  it('are hot-reloaded with the rules', async () => {
    const carol = `Bearer ${CAROL_TOKEN}`;
    expect((await get('/services', carol)).status).toBe(401);
    writeJson(gw.rulesPath, { agents: AGENTS, credentials: { [sha256(CAROL_TOKEN)]: 'carol' } });
    await waitFor(async () => (await get('/services', carol)).status === 200, { message: 'carol token never accepted' });
    expect((await get('/services', `Bearer ${BOB_TOKEN}`)).status).toBe(401);
    writeJson(gw.rulesPath, RULES);
    await waitFor(async () => (await get('/services', `Bearer ${BOB_TOKEN}`)).status === 200, { message: 'bob token never back' });
  });
});

describe('Origin', () => {
  it('a foreign Origin is 403 on /mcp and REST; loopback origins and no Origin pass', async () => {
    for (const path of ['/services', '/mcp', '/health']) {
      const res = await get(path, 'Bearer tok-123', { Origin: 'https://evil.example' });
      expect(res.status, path).toBe(403);
      expect(await res.json()).toEqual({ error: 'Origin not allowed', code: 'FORBIDDEN_ORIGIN' });
    }
    expect((await get('/sessions', 'Bearer tok-123', { Origin: 'http://localhost:3000' })).status).toBe(200);
    expect((await get('/sessions', 'Bearer tok-123', { Origin: 'http://127.0.0.1' })).status).toBe(200);
    expect((await get('/sessions', 'Bearer tok-123', { Origin: 'null' })).status).toBe(403);
  });

  it('--allowed-origins replaces the default list', async () => {
    const other = await startHttpGateway({ mcpServers: MCP_SERVERS, rules: RULES, args: ['--allowed-origins', 'https://app.example.com, http://localhost:5173'] });
    try {
      const at = (origin: string) => fetch(`${other.url}/health`, { headers: { Origin: origin } }).then((r) => r.status);
      expect(await at('https://app.example.com')).toBe(200);
      expect(await at('http://localhost:5173')).toBe(200);
      expect(await at('http://localhost:3000')).toBe(403);
      expect(await at('https://evil.example')).toBe(403);
    } finally {
      await other.stop();
    }
  });
});

describe('start-up refusals', () => {
  it('a non-loopback host without any credential is refused unless --allow-unauthenticated', async () => {
    const refused = await runGatewayExpectingFailure({
      mcpServers: MCP_SERVERS,
      rules: { agents: AGENTS },
      noDefaults: true,
      args: ['--host', '0.0.0.0', '--port', '0'],
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refusing to serve 0\.0\.0\.0 .* without credentials.*--allow-unauthenticated/);
    const allowed = await startHttpGateway({
      mcpServers: MCP_SERVERS,
      rules: { agents: AGENTS },
      noDefaults: true,
      args: ['--host', '0.0.0.0', '--port', '0', '--allow-unauthenticated'],
    });
    try {
      expect(allowed.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    } finally {
      await allowed.stop();
    }
  });

  it('loopback without credentials serves anonymously, until per-agent credentials exist', async () => {
    const open = await startHttpGateway({ mcpServers: MCP_SERVERS, rules: { agents: AGENTS } });
    try {
      expect((await fetch(`${open.url}/services?agent_id=alice`)).status).toBe(200);
      expect((await fetch(`${open.url}/services`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
      writeJson(open.rulesPath, RULES);
      await waitFor(async () => (await fetch(`${open.url}/services?agent_id=alice`)).status === 401, { message: 'anonymous still allowed' });
      expect((await fetch(`${open.url}/services`, { headers: { Authorization: `Bearer ${BOB_TOKEN}` } })).status).toBe(200);
    } finally {
      await open.stop();
    }
  });

  it.each([
    [['--port', '70000'], {}, /--port: expected a whole number from 0 to 65535/],

    [['--max-body-bytes', '0'], {}, /--max-body-bytes: expected a positive integer/],
    [['--allowed-origins', 'localhost:3000'], {}, /--allowed-origins: 'localhost:3000' is not an origin/],
    [[], { GATEWAY_AUTH_USER: 'admin' }, /GATEWAY_AUTH_USER is set but --auth-password \(GATEWAY_AUTH_PASSWORD\) is not/],
    [['--tls-cert', 'x.pem'], {}, /--tls-cert \(GATEWAY_TLS_CERT\) is set but --tls-key/],
    [['--tls-cert', 'nope.pem', '--tls-key', 'nope.key'], {}, /--tls-cert \(GATEWAY_TLS_CERT\): cannot read .*nope\.pem.*ENOENT/],
  ])('bad setting %j %j is refused with a message naming it', async (args, env, message) => {
    const r = await runGatewayExpectingFailure({ mcpServers: MCP_SERVERS, rules: RULES, args: args as string[], env: env as Record<string, string> });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message as RegExp);
  });

  it('environment variables are checked and named too', async () => {
    const port = await runGatewayExpectingFailure({ mcpServers: MCP_SERVERS, rules: RULES, noDefaults: true, env: { GATEWAY_HTTP_PORT: 'eighty' } });
    expect(port.stderr).toMatch(/GATEWAY_HTTP_PORT: expected a whole number from 0 to 65535, got 'eighty'/);
    const transport = await runGatewayExpectingFailure({
      mcpServers: MCP_SERVERS,
      rules: RULES,
      noTransportFlag: true,
      env: { GATEWAY_TRANSPORT: 'carrier-pigeon' },
    });
    expect(transport.stderr).toMatch(/GATEWAY_TRANSPORT: 'carrier-pigeon' is not one of stdio, http/);
    // GATEWAY_TRANSPORT=http alone selects HTTP mode.
    const viaEnv = await startHttpGateway({ mcpServers: MCP_SERVERS, rules: RULES, noTransportFlag: true, env: { GATEWAY_TRANSPORT: 'http' } });
    try {
      expect((await fetch(`${viaEnv.url}/health`)).status).toBe(200);
    } finally {
      await viaEnv.stop();
    }
  });

  it('a port in use is a clear error', async () => {
    const port = new URL(gw.url).port;
    const r = await runGatewayExpectingFailure({ mcpServers: MCP_SERVERS, rules: RULES, noDefaults: true, args: ['--host', '127.0.0.1', '--port', port] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--port (GATEWAY_HTTP_PORT): 127.0.0.1:${port} is already in use`);
  });
});
