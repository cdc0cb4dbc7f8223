// /mcp for 2026-07-28 clients (issue 16), in process: a v2 client pinned to 2026-07-28 over
// real HTTP on 127.0.0.1 against startHttpGateway with a Gateway built here. Per-request
// Servers leave nothing attached; the routing headers are checked before a call counts or is
// audited; a per-agent token binds every modern request; a listen stream hears a list change.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UpstreamSession } from '../../src/gateway/serverRequests.js';
import { Authenticator } from '../../src/http/auth.js';
import { OriginPolicy } from '../../src/http/origin.js';
import { startHttpGateway, type HttpGatewayHandle, type RateLimitHook } from '../../src/http/server.js';
import type { RouteClass } from '../../src/http/rateLimitSpec.js';
import { fixture } from '../helpers/paths.js';
import { buildGateway, closeGateways, ECHO_SERVERS, type InProcessGateway } from '../helpers/inProcessGateway.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir, writeJson } from '../helpers/tmp.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const ALICE_TOKEN = 'alice-modern-token';
const BOB_TOKEN = 'bob-modern-token';
const RULES = {
  agents: {
    alice: { allow: { servers: ['echo', 'todo'] } },
    bob: { allow: { servers: ['echo', 'todo'] }, deny: { tools: { echo: ['echo'] } } },
  },
  credentials: { [sha256(ALICE_TOKEN)]: 'alice', [sha256(BOB_TOKEN)]: 'bob' },
};
const MODERN = '2026-07-28';

/** Counts the calls of each identity; refuses the calls of `refused`. */
class CountingLimiter implements RateLimitHook {
  readonly calls: string[] = [];
  refused: string | undefined;
  check(routeClass: RouteClass, identityKey: string) {
    if (routeClass !== 'call') return Promise.resolve({ allowed: true });
    this.calls.push(identityKey);
    return Promise.resolve(identityKey === this.refused ? { allowed: false, retryAfterSeconds: 7 } : { allowed: true });
  }
  headers(decision: { allowed: boolean }): Record<string, string> {
    return decision.allowed ? {} : { 'Retry-After': '7' };
  }
}

interface Running {
  readonly built: InProcessGateway;
  readonly http: HttpGatewayHandle;
  readonly limiter: CountingLimiter;
  /** Sessions attached to the gateway now (wrapping Gateway.attachSession). */
  attached: () => number;
}

const running: Running[] = [];
async function start(mode: 'meta' | 'native', servers: object = ECHO_SERVERS, rules: object = RULES): Promise<Running> {
  const built = buildGateway(servers, rules, { mode });
  const sessions = new Set<UpstreamSession>();
  const attach = built.gateway.attachSession.bind(built.gateway);
  built.gateway.attachSession = (session) => {
    sessions.add(session);
    const detach = attach(session);
    return () => {
      sessions.delete(session);
      detach();
    };
  };
  const limiter = new CountingLimiter();
  const http = await startHttpGateway({
    gateway: built.gateway,
    logger: pino({ level: 'silent' }),
    host: '127.0.0.1',
    port: 0,
    authenticator: new Authenticator({ token: 'shared-token' }, false),
    origins: new OriginPolicy(undefined),
    maxBodyBytes: 1_000_000,
    rateLimiter: limiter,
  });
  const r = { built, http, limiter, attached: () => sessions.size };
  running.push(r);
  return r;
}

const clients: Client[] = [];
async function modernClient(r: Running, token: string): Promise<Client> {
  const client = new Client({ name: 'modern-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${r.http.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  clients.push(client);
  return client;
}

function post(r: Running, token: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(`${r.http.url}/mcp`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
}

const envelope = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
});
afterAll(async () => {
  await Promise.all(running.map((r) => r.http.close()));
  await closeGateways();
  cleanupTmpDirs();
});

describe('/mcp, 2026-07-28 requests', () => {
  let meta: Running;
  let native: Running;
  beforeAll(async () => {
    meta = await start('meta');
    native = await start('native');
  });

  it('serves a pinned client statelessly: private lists, meta-tool calls bound to the token, audited without a session', async () => {
    const client = await modernClient(meta, BOB_TOKEN);
    expect(client.getProtocolEra()).toBe('modern');
    const listed = await client.listTools(undefined, { cacheMode: 'bypass' });
    expect(listed.cacheScope).toBe('private');
    expect(listed.tools.map((t) => t.name)).toContain('execute_tool');
    const add = await client.callTool({ name: 'execute_tool', arguments: { server: 'echo', tool: 'add', args: { a: 2, b: 3 } } });
    expect(add.content).toEqual([{ type: 'text', text: '5' }]);
    // bob's token cannot act as alice, and bob's rules apply.
    const claim = await client.callTool({ name: 'execute_tool', arguments: { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'x' } } });
    expect(claim.isError).toBe(true);
    expect(JSON.stringify(claim.structuredContent ?? claim.content)).toContain('AGENT_MISMATCH');
    const denied = await client.callTool({ name: 'execute_tool', arguments: { server: 'echo', tool: 'echo', args: { message: 'x' } } });
    expect(JSON.stringify(denied.structuredContent ?? denied.content)).toContain('DENIED_BY_POLICY');
    const line = meta.built.audit.records.find((l) => l.tool === 'add' && l.agent === 'bob');
    expect(line).toMatchObject({ agent: 'bob', server: 'echo', decision: 'ALLOW' });
    expect(line?.session_id ?? null).toBeNull();
  });

  it('answers a routing header that disagrees with the body with 400/-32020 before the call counts or is audited', async () => {
    const callsBefore = meta.limiter.calls.length;
    const auditBefore = meta.built.audit.records.length;
    const body = {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'execute_tool', arguments: { server: 'echo', tool: 'add', args: { a: 1, b: 1 } }, _meta: envelope },
    };
    const mismatches: Record<string, string>[] = [
      { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/list', 'Mcp-Name': 'execute_tool' },
      { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'list_servers' },
      { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call' },
      { 'MCP-Protocol-Version': MODERN, 'Mcp-Name': 'execute_tool' },
    ];
    for (const headers of mismatches) {
      const res = await post(meta, BOB_TOKEN, headers, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32020 } });
    }
    expect(meta.limiter.calls.length).toBe(callsBefore);
    // The same request with agreeing headers is served, counted and audited.
    const ok = await post(meta, BOB_TOKEN, { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'execute_tool' }, body);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('"2"');
    expect(meta.limiter.calls.slice(callsBefore)).toEqual(['agent:bob']);
    expect(meta.built.audit.records.length).toBe(auditBefore + 1);
  });

  it('runs the gateway checks first: 401 without a credential, 403 for a foreign Origin, 413 past the body limit; security headers on every answer', async () => {
    const headers = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/list' };
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope } };
    const anonymous = await fetch(`${meta.http.url}/mcp`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(body),
    });
    expect(anonymous.status).toBe(401);
    expect((await post(meta, BOB_TOKEN, { ...headers, Origin: 'https://evil.example' }, body)).status).toBe(403);
    const huge = await post(meta, BOB_TOKEN, headers, { ...body, params: { ...body.params, pad: 'x'.repeat(1_100_000) } });
    expect(huge.status).toBe(413);
    const served = await post(meta, BOB_TOKEN, headers, body);
    expect(served.status).toBe(200);
    for (const res of [anonymous, huge, served]) expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('a listen request whose headers disagree is refused before a listener is attached', async () => {
    const baseline = meta.attached();
    const res = await post(
      meta,
      BOB_TOKEN,
      { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/list' },
      {
        jsonrpc: '2.0',
        id: 'listen-1',
        method: 'subscriptions/listen',
        params: { notifications: { toolsListChanged: true }, _meta: envelope },
      },
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: 'listen-1', error: { code: -32020 } });
    expect(meta.attached()).toBe(baseline);
  });

  it('a modern tools/call past the call budget is 429 RATE_LIMITED with Retry-After, and runs nothing', async () => {
    const baseline = meta.attached();
    const auditBefore = meta.built.audit.records.length;
    meta.limiter.refused = 'agent:bob';
    try {
      const res = await post(
        meta,
        BOB_TOKEN,
        { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'list_servers' },
        {
          jsonrpc: '2.0',
          id: 9,
          method: 'tools/call',
          params: { name: 'list_servers', arguments: {}, _meta: envelope },
        },
      );
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await res.json()).toMatchObject({ code: 'RATE_LIMITED' });
      // Other requests of that identity are not calls: served.
      const list = await post(
        meta,
        BOB_TOKEN,
        { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/list' },
        { jsonrpc: '2.0', id: 10, method: 'tools/list', params: { _meta: envelope } },
      );
      expect(list.status).toBe(200);
    } finally {
      meta.limiter.refused = undefined;
    }
    expect(meta.built.audit.records.length).toBe(auditBefore);
    await waitFor(() => meta.attached() === baseline);
  });

  it("GET and DELETE: the SDK's 405 for a 2026 client without a session, today's 400 otherwise", async () => {
    const ask = (method: string, headers: Record<string, string>) =>
      fetch(`${meta.http.url}/mcp`, { method, headers: { Authorization: `Bearer ${BOB_TOKEN}`, Accept: 'text/event-stream', ...headers } });
    for (const method of ['GET', 'DELETE']) {
      const modern = await ask(method, { 'MCP-Protocol-Version': MODERN });
      expect(modern.status).toBe(405);
      expect(modern.headers.get('allow')).toBe('POST');
      expect(modern.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await modern.json()).toMatchObject({ error: { code: -32000 } });
      const legacy = await ask(method, { 'MCP-Protocol-Version': '2025-11-25' });
      expect(legacy.status).toBe(400);
      expect(await legacy.json()).toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((await ask(method, {})).status).toBe(400);
    }
  });

  it('leaves nothing attached to the gateway after many modern requests', async () => {
    const baseline = native.attached();
    const client = await modernClient(native, ALICE_TOKEN);
    for (let i = 0; i < 25; i++) {
      const listed = await client.listTools(undefined, { cacheMode: 'bypass' });
      expect(listed.tools.map((t) => t.name)).toContain('echo__echo');
      const called = await client.callTool({ name: 'echo__add', arguments: { a: i, b: 1 } });
      expect(called.content).toEqual([{ type: 'text', text: String(i + 1) }]);
    }
    await waitFor(() => native.attached() === baseline, { message: `attached sessions stay above ${baseline}: ${native.attached()}` });
  });

  it('meta mode: a listen stream hears the meta-tool list change when debug mode flips', async () => {
    const client = await modernClient(meta, ALICE_TOKEN);
    let heard = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => void heard++);
    const sub = await client.listen({ toolsListChanged: true });
    try {
      writeJson(meta.built.rules, { ...RULES, defaults: { debug: true } });
      meta.built.gateway.reload(['gateway_rules']);
      await waitFor(() => heard === 1, { message: 'no tools/list_changed when get_gateway_status came' });
      expect((await client.listTools(undefined, { cacheMode: 'bypass' })).tools.map((t) => t.name)).toContain('get_gateway_status');
    } finally {
      writeJson(meta.built.rules, RULES);
      meta.built.gateway.reload(['gateway_rules']);
      await sub.close();
    }
  });

  it('a listen stream hears a list change of its own agent only, and its listener goes with it', async () => {
    const baseline = native.attached();
    const alice = await modernClient(native, ALICE_TOKEN);
    const bob = await modernClient(native, BOB_TOKEN);
    const heard = { alice: 0, bob: 0 };
    alice.setNotificationHandler('notifications/tools/list_changed', () => void heard.alice++);
    bob.setNotificationHandler('notifications/tools/list_changed', () => void heard.bob++);
    const before = (await bob.listTools(undefined, { cacheMode: 'bypass' })).tools.map((t) => t.name);
    expect(before).not.toContain('echo__echo');
    const subs = [await alice.listen({ toolsListChanged: true }), await bob.listen({ toolsListChanged: true })];
    expect(subs[1]!.honoredFilter).toMatchObject({ toolsListChanged: true });
    // The reload gives bob the tool `echo`; alice's list does not change.
    writeJson(native.built.rules, { ...RULES, agents: { ...RULES.agents, bob: { allow: { servers: ['echo'] } } } });
    native.built.gateway.reload(['gateway_rules']);
    await waitFor(() => heard.bob === 1, { message: 'bob heard no tools/list_changed after the reload' });
    expect((await bob.listTools(undefined, { cacheMode: 'bypass' })).tools.map((t) => t.name)).toContain('echo__echo');
    expect(heard.alice).toBe(0);
    await Promise.all(subs.map((s) => s.close()));
    await waitFor(() => native.attached() === baseline, { message: 'a listener session outlived its streams' });
    writeJson(native.built.rules, RULES);
    native.built.gateway.reload(['gateway_rules']);
  });
});

describe('/mcp, 2026-07-28 requests: isolation "session" without an MCP session', () => {
  let gw: Running;
  beforeAll(async () => {
    gw = await start('meta', { todo: { command: process.execPath, args: [fixture('todo')], isolation: 'session' } });
  });
  const KEY = 'io.agent-mcp-gateway/isolationKey';
  const pid = async (client: Client, key?: string): Promise<string> => {
    const r = await client.callTool({
      name: 'execute_tool',
      arguments: { server: 'todo', tool: 'pid', args: {} },
      ...(key !== undefined ? { _meta: { [KEY]: key } } : {}),
    });
    expect(r.isError).not.toBe(true);
    return (r.content as { text: string }[])[0]!.text;
  };

  it('the agent is the scope; an isolation key in _meta is a scope of its own, per identity', async () => {
    const alice1 = await modernClient(gw, ALICE_TOKEN);
    const alice2 = await modernClient(gw, ALICE_TOKEN);
    const bob = await modernClient(gw, BOB_TOKEN);
    const aliceAgent = await pid(alice1);
    expect(await pid(alice2)).toBe(aliceAgent);
    expect(await pid(bob)).not.toBe(aliceAgent);
    const keyed = await pid(alice1, 'call-1');
    expect(keyed).not.toBe(aliceAgent);
    expect(await pid(alice2, 'call-1')).toBe(keyed);
    expect(await pid(alice2, 'call-2')).not.toBe(keyed);
    expect(await pid(bob, 'call-1')).not.toBe(keyed);
  });

  it('refuses an isolation key that is not a short printable string, before anything runs', async () => {
    const before = gw.built.audit.records.length;
    const res = await post(
      gw,
      ALICE_TOKEN,
      { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call', 'Mcp-Name': 'execute_tool' },
      {
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'execute_tool', arguments: { server: 'todo', tool: 'pid', args: {} }, _meta: { ...envelope, [KEY]: 'has space' } },
      },
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ id: 3, error: { code: -32602 } });
    expect(gw.built.audit.records.length).toBe(before);
  });
});

describe('/mcp, 2026-07-28 requests: resource updates on a listen stream', () => {
  let gw: Running;
  let publicUri: string;
  let secretUri: string;
  beforeAll(async () => {
    const base = join(makeTmpDir(), 'srv');
    mkdirSync(join(base, 'public'), { recursive: true });
    mkdirSync(join(base, 'secret'), { recursive: true });
    writeFileSync(join(base, 'public', 'readme.txt'), 'public');
    writeFileSync(join(base, 'secret', 'key.txt'), 'secret');
    publicUri = `mcpgw://files/${pathToFileURL(join(base, 'public', 'readme.txt')).href}`;
    secretUri = `mcpgw://files/${pathToFileURL(join(base, 'secret', 'key.txt')).href}`;
    gw = await start(
      'native',
      { files: { command: process.execPath, args: [fixture('files-resources')], env: { FILES_ROOT: base } } },
      {
        agents: {
          alice: { allow: { servers: ['files'], resources: { files: [`file://${base}/public/*`] } } },
          bob: { allow: { servers: ['files'], resources: { files: [`file://${base}/secret/*`] } } },
        },
        credentials: RULES.credentials,
      },
    );
  });

  it('reach the streams of an agent that may read the resource, and no other', async () => {
    const baseline = gw.attached();
    const alice = await modernClient(gw, ALICE_TOKEN);
    const bob = await modernClient(gw, BOB_TOKEN);
    const heard: Record<'alice' | 'bob', string[]> = { alice: [], bob: [] };
    alice.setNotificationHandler('notifications/resources/updated', (n) => void heard.alice.push(n.params.uri));
    bob.setNotificationHandler('notifications/resources/updated', (n) => void heard.bob.push(n.params.uri));
    const subs = [await bob.listen({ resourceSubscriptions: [publicUri] }), await alice.listen({ resourceSubscriptions: [publicUri, secretUri] })];
    // The downstream repeats the update every 50 ms while subscribed.
    await waitFor(() => heard.alice.length >= 3, { message: 'alice heard no notifications/resources/updated' });
    expect(new Set(heard.alice)).toEqual(new Set([publicUri]));
    expect(heard.bob).toEqual([]);
    await Promise.all(subs.map((s) => s.close()));
    await waitFor(() => gw.attached() === baseline, { message: 'a listener session outlived its streams' });
  });
});
