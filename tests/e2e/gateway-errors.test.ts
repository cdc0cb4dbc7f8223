// Every gateway error code through the built gateway over real stdio. A gateway-made error is
// a tool result with isError:true, the message as its only text block, and
// structuredContent.error = {code, message, rule?, server?, tool?}; the reference's wording is
// kept where it had one. Identity (missing / unknown / bound / fallback agents) is covered on
// all three meta-tools. Downstream servers are the reference's fake-db / fake-search and our
// echo / never-starts fixtures; a call log (FIXTURE_CALL_LOG) proves denied calls never reach
// the server.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { callTool, readJsonl, startGateway, type GatewayHandle, type StartGatewayOptions } from '../helpers/gateway.js';
import { FIXTURES_DIR, REPO_ROOT, fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { makeTmpDir } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { textOf, codeOf } from '../helpers/results.js';

const MARKER = `gateway-errors-${process.pid}-${Date.now()}`;
const CLEAN_ENV: Record<string, string> = {
  GATEWAY_DEFAULT_AGENT: '',
  GATEWAY_DEBUG: '',
  GATEWAY_INIT_STRATEGY: '',
  GATEWAY_TIMEOUT_MS: '',
  GATEWAY_MAX_TIMEOUT_MS: '',
  GATEWAY_LOG_LEVEL: '',
  GW_E2E_MARKER: MARKER,
};

const gateways: GatewayHandle[] = [];

async function start(opts: StartGatewayOptions): Promise<GatewayHandle> {
  const gw = await startGateway({ ...opts, env: { ...CLEAN_ENV, ...opts.env } });
  gateways.push(gw);
  return gw;
}

interface GatewayErrorBody {
  code: string;
  message: string;
  rule?: string;
  server?: string;
  tool?: string;
}

/** A gateway-made error result: isError, the message as the only text, the error object. */
function failed(r: CallToolResult): GatewayErrorBody {
  expect(r.isError, JSON.stringify(r).slice(0, 500)).toBe(true);
  expect(Object.keys(r.structuredContent ?? {})).toEqual(['error']);
  const error = (r.structuredContent as { error: GatewayErrorBody }).error;
  expect(r.content).toEqual([{ type: 'text', text: error.message }]);
  for (const key of Object.keys(error)) expect(['code', 'message', 'rule', 'server', 'tool']).toContain(key);
  expect(typeof error.code).toBe('string');
  expect(error.message.length).toBeGreaterThan(0);
  return error;
}

function ok<T = Record<string, unknown>>(r: CallToolResult): T {
  expect(r.isError, JSON.stringify(r).slice(0, 500)).toBeFalsy();
  expect(r.structuredContent).toBeDefined();
  expect(JSON.parse((r.content[0] as { text: string }).text)).toEqual(r.structuredContent);
  return r.structuredContent as T;
}

const serverNames = (r: CallToolResult) => ok<{ servers: Array<{ name: string }> }>(r).servers.map((s) => s.name);

/** The same call on each meta-tool, with `args` merged in. */
const ALL_OPS: Array<[string, Record<string, unknown>]> = [
  ['list_servers', {}],
  ['get_server_tools', { server: 'db' }],
  ['execute_tool', { server: 'db', tool: 'query', args: { sql: 'x' } }],
];

guardAgainstLeaks(MARKER, { close: () => Promise.allSettled(gateways.map((g) => g.close())), timeoutMs: 15_000 });

// ------------------------------------------------------------------------------------------
// The reference fixture (agent-mcp-gateway.md §D) and rules R0.
const R0_AGENTS = {
  researcher: { allow: { servers: ['search', 'db'], tools: { db: ['query'] } } },
  backend: {
    allow: { servers: ['db'], tools: { db: ['query', 'list_*', 'delete_user'] } },
    deny: { tools: { db: ['drop_*', 'delete_*'] } },
  },
  admin: { allow: { servers: ['*'] }, deny: { servers: ['api'], tools: { db: ['drop_table'] } } },
  default: { deny: { servers: ['*'] } },
};
const R0 = { agents: R0_AGENTS, defaults: { deny_on_missing_agent: true } };

function r0Servers(callLog: string): object {
  return {
    db: {
      command: 'node',
      args: [fixture('fake-db')],
      env: { FIXTURE_CALL_LOG: callLog, FAKE_DB_EXTRA_TOOLS: '1' },
      description: 'Fake DB',
    },
    search: { command: 'node', args: [fixture('fake-search')], env: { FIXTURE_CALL_LOG: callLog } },
    api: { url: 'http://127.0.0.1:1/mcp', description: 'HTTP API' },
  };
}

describe('policy, lookup, availability, timeout and argument errors (R0, strict identity)', () => {
  let gw: GatewayHandle;
  let callLog: string;
  const call = (name: string, args: Record<string, unknown>) => callTool(gw.client, name, args);
  const calls = () => readJsonl(callLog).filter((r) => r.method === 'tools/call');

  beforeAll(async () => {
    callLog = join(makeTmpDir('gw-errors-log'), 'calls.jsonl');
    gw = await start({
      mcpServers: {
        ...r0Servers(callLog),
        echo: { command: process.execPath, args: [fixture('echo')] },
        echo_capped: { command: process.execPath, args: [fixture('echo')], timeout_ms: 150 },
        never: { command: process.execPath, args: [fixture('never-starts')] },
      },
      rules: R0,
      // Ignored: deny_on_missing_agent is true (reference D.3-33).
      env: { GATEWAY_DEFAULT_AGENT: 'researcher' },
    });
  });

  it('DENIED_BY_POLICY for a server the agent may not use, with the reference wording and the rule', async () => {
    for (const [op, args] of [
      ['get_server_tools', { server: 'api' }],
      ['execute_tool', { server: 'api', tool: 'anything' }],
    ] as const) {
      expect(failed(await call(op, { agent_id: 'researcher', ...args }))).toEqual({
        code: 'DENIED_BY_POLICY',
        message: "Agent 'researcher' cannot access server 'api'",
        rule: 'agents.researcher.allow.servers',
        server: 'api',
      });
    }
    // Denied by name although allowed by `*`.
    expect(failed(await call('execute_tool', { agent_id: 'admin', server: 'api', tool: 'x' }))).toEqual({
      code: 'DENIED_BY_POLICY',
      message: "Agent 'admin' cannot access server 'api'",
      rule: 'agents.admin.deny.servers[0]',
      server: 'api',
    });
    // deny.servers ["*"] beats everything.
    expect(failed(await call('get_server_tools', { agent_id: 'default', server: 'db' }))).toEqual({
      code: 'DENIED_BY_POLICY',
      message: "Agent 'default' cannot access server 'db'",
      rule: 'agents.default.deny.servers[0]',
      server: 'db',
    });
  });

  it('a nonexistent server gives the same DENIED_BY_POLICY as an existing denied one (no probing)', async () => {
    for (const agent of ['researcher', 'backend', 'default']) {
      for (const [op, extra] of [
        ['get_server_tools', {}],
        ['execute_tool', { tool: 'query' }],
      ] as const) {
        const existing = failed(await call(op, { agent_id: agent, server: 'api', ...extra }));
        const missing = failed(await call(op, { agent_id: agent, server: 'ghost', ...extra }));
        expect(existing.code).toBe('DENIED_BY_POLICY');
        // Identical but for the name the caller passed in.
        expect(JSON.parse(JSON.stringify(missing).replaceAll('ghost', 'api'))).toEqual(existing);
      }
    }
  });

  it('DENIED_BY_POLICY for a denied tool names the deciding rule; the call never reaches the server', async () => {
    const deny = async (agent: string, tool: string, rule: string) => {
      const args = { marker: `denied-${agent}-${tool}` };
      expect(failed(await call('execute_tool', { agent_id: agent, server: 'db', tool, args }))).toEqual({
        code: 'DENIED_BY_POLICY',
        message: `Agent '${agent}' not authorized to call tool '${tool}' on server 'db'`,
        rule,
        server: 'db',
        tool,
      });
    };
    await deny('backend', 'drop_table', 'agents.backend.deny.tools.db[0]');
    // The wildcard deny beats the explicit allow (reference D.2-17).
    await deny('backend', 'delete_user', 'agents.backend.deny.tools.db[1]');
    await deny('backend', 'get_user', 'agents.backend.allow.tools.db');
    await deny('researcher', 'list_tables', 'agents.researcher.allow.tools.db');
    await deny('admin', 'drop_table', 'agents.admin.deny.tools.db[0]');
    // Even a tool that does not exist is refused by policy first, not looked up.
    await deny('researcher', 'no_such_tool', 'agents.researcher.allow.tools.db');

    // Positive control: an allowed call does reach the server and is logged.
    const allowed = await call('execute_tool', { agent_id: 'backend', server: 'db', tool: 'list_tables', args: { marker: 'allowed' } });
    expect(textOf(allowed)).toBe('list_tables:{"marker":"allowed"}');
    const logged = calls();
    expect(logged.some((r) => (r.args as { marker?: string }).marker === 'allowed')).toBe(true);
    expect(JSON.stringify(logged)).not.toContain('denied-');
  });

  it('MISSING_AGENT_ID when agent_id is missing, empty or null (GATEWAY_DEFAULT_AGENT is ignored)', async () => {
    for (const [op, args] of ALL_OPS) {
      for (const id of [undefined, '', null]) {
        const withId = id === undefined ? args : { ...args, agent_id: id };
        expect(failed(await call(op, withId)), `${op} agent_id=${String(id)}`).toEqual({
          code: 'MISSING_AGENT_ID',
          message: "Missing required parameter 'agent_id'. All tool calls must include agent identity.",
          rule: 'defaults.deny_on_missing_agent',
        });
      }
    }
  });

  it('INVALID_AGENT_ID for an id not in the rules, or not a string', async () => {
    for (const [op, args] of ALL_OPS) {
      const e = failed(await call(op, { ...args, agent_id: 'ghost' }));
      expect(e.code).toBe('INVALID_AGENT_ID');
      expect(e.message).toContain("'ghost'");
      expect(failed(await call(op, { ...args, agent_id: 5 })).code).toBe('INVALID_AGENT_ID');
    }
    // Ids are case-sensitive.
    expect(failed(await call('list_servers', { agent_id: 'Researcher' })).code).toBe('INVALID_AGENT_ID');
    // A hostile id cannot forge lines in the message.
    const forged = failed(await call('list_servers', { agent_id: `x'\n{"level":60,"msg":"forged"}` }));
    expect(forged.code).toBe('INVALID_AGENT_ID');
    expect(forged.message).not.toContain('\n');
  });

  it('SERVER_NOT_FOUND only for a name the agent may use (allow `*`) that is not configured', async () => {
    for (const [op, extra] of [
      ['get_server_tools', {}],
      ['execute_tool', { tool: 'query' }],
    ] as const) {
      expect(failed(await call(op, { agent_id: 'admin', server: 'nope', ...extra }))).toEqual({
        code: 'SERVER_NOT_FOUND',
        message: "Server 'nope' not found in configured servers",
        server: 'nope',
      });
    }
  });

  it('SERVER_UNAVAILABLE for a server that cannot start: exit code and stderr line in the message', async () => {
    for (const [op, extra] of [
      ['get_server_tools', {}],
      ['execute_tool', { tool: 'anything' }],
    ] as const) {
      const e = failed(await call(op, { agent_id: 'admin', server: 'never', ...extra }));
      expect(e).toMatchObject({ code: 'SERVER_UNAVAILABLE', server: 'never' });
      expect(e.message).toContain('never');
      expect(e.message).toMatch(/code 3\b/);
      expect(e.message).toContain('fatal: cannot start (fixture)');
    }
  });

  it('TOOL_NOT_FOUND for a tool allowed by wildcard but absent; it is not forwarded', async () => {
    expect(failed(await call('execute_tool', { agent_id: 'admin', server: 'db', tool: 'nonexistent', args: { marker: 'tnf' } }))).toEqual({
      code: 'TOOL_NOT_FOUND',
      message: "Tool 'nonexistent' not found on server 'db'",
      server: 'db',
      tool: 'nonexistent',
    });
    expect(JSON.stringify(calls())).not.toContain('tnf');
  });

  it('TIMEOUT: "Tool execution timed out after 100ms", long before the slow call would end', async () => {
    // The timeout covers starting the server too (call-deadline.test.ts): start both first
    // (listing tools starts a server without a tools/call reaching it).
    for (const server of ['echo', 'db']) ok(await call('get_server_tools', { agent_id: 'admin', server }));
    const t0 = performance.now();
    const e = failed(await call('execute_tool', { agent_id: 'admin', server: 'echo', tool: 'slow', args: { ms: 30_000 }, timeout_ms: 100 }));
    const elapsed = performance.now() - t0;
    expect(e).toEqual({ code: 'TIMEOUT', message: 'Tool execution timed out after 100ms', server: 'echo', tool: 'slow' });
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(10_000); // generous for a loaded machine; the call takes 30 s

    // fake-db's slow (2 s), the reference's own example (D.6-63).
    const db = failed(await call('execute_tool', { agent_id: 'admin', server: 'db', tool: 'slow', timeout_ms: 100 }));
    expect(db).toMatchObject({ code: 'TIMEOUT', message: 'Tool execution timed out after 100ms' });
  });

  it("TIMEOUT from the server's timeout_ms in .mcp.json when the call sets none", async () => {
    // Started first: its 150 ms would otherwise be spent starting it.
    ok(await call('get_server_tools', { agent_id: 'admin', server: 'echo_capped' }));
    const e = failed(await call('execute_tool', { agent_id: 'admin', server: 'echo_capped', tool: 'slow', args: { ms: 30_000 } }));
    expect(e).toEqual({ code: 'TIMEOUT', message: 'Tool execution timed out after 150ms', server: 'echo_capped', tool: 'slow' });
    // The call's own timeout_ms wins over the server's.
    const own = await call('execute_tool', { agent_id: 'admin', server: 'echo_capped', tool: 'slow', args: { ms: 300 }, timeout_ms: 20_000 });
    expect(textOf(own)).toBe('slept 300');
  });

  it('INVALID_ARGUMENT names the field, on every meta-tool', async () => {
    const base = { agent_id: 'admin' };
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['execute_tool', { tool: 'query' }, 'server'],
      ['execute_tool', { server: '', tool: 'query' }, 'server'],
      ['execute_tool', { server: 5, tool: 'query' }, 'server'],
      ['execute_tool', { server: 'db' }, 'tool'],
      ['execute_tool', { server: 'db', tool: 5 }, 'tool'],
      ['execute_tool', { server: 'db', tool: 'query', args: [] }, 'args'],
      ['execute_tool', { server: 'db', tool: 'query', args: 'sql=x' }, 'args'],
      ['execute_tool', { server: 'db', tool: 'query', timeout_ms: 0 }, 'timeout_ms'],
      ['execute_tool', { server: 'db', tool: 'query', timeout_ms: -5 }, 'timeout_ms'],
      ['execute_tool', { server: 'db', tool: 'query', timeout_ms: 1.5 }, 'timeout_ms'],
      ['execute_tool', { server: 'db', tool: 'query', timeout_ms: '100' }, 'timeout_ms'],
      ['get_server_tools', {}, 'server'],
      ['get_server_tools', { server: ['db'] }, 'server'],
      ['get_server_tools', { server: 'db', max_schema_tokens: -1 }, 'max_schema_tokens'],
      ['get_server_tools', { server: 'db', max_schema_tokens: 2.5 }, 'max_schema_tokens'],
      ['get_server_tools', { server: 'db', max_schema_tokens: '10' }, 'max_schema_tokens'],
      ['get_server_tools', { server: 'db', names: 5 }, 'names'],
      ['get_server_tools', { server: 'db', names: ['query', 7] }, 'names[1]'],
      ['get_server_tools', { server: 'db', pattern: 'a/b' }, 'pattern'],
      ['get_server_tools', { server: 'db', pattern: 'get user' }, 'pattern'],
      ['get_server_tools', { server: 'db', pattern: '[abc' }, 'pattern'],
      ['get_server_tools', { server: 'db', pattern: 5 }, 'pattern'],
      ['list_servers', { include_metadata: 'yes' }, 'include_metadata'],
    ];
    for (const [op, args, field] of cases) {
      const e = failed(await call(op, { ...base, ...args }));
      const label = `${op} ${JSON.stringify(args)}`;
      expect(e.code, label).toBe('INVALID_ARGUMENT');
      expect(e.message, label).toContain(`'${field}'`);
    }
    // Argument errors come before any I/O: none of these reached the server.
    expect(calls().filter((r) => r.tool === 'query')).toEqual([]);
  });

  it('every error is audited with its code (the audit log agrees with the results)', async () => {
    await call('execute_tool', { agent_id: 'backend', server: 'db', tool: 'drop_table', args: { table: 'audit-probe' } });
    let line: Record<string, unknown> | undefined;
    await waitFor(() => {
      line = readJsonl(gw.auditPath).find((r) => r.operation === 'execute_tool' && r.agent === 'backend' && r.tool === 'drop_table');
      return line !== undefined;
    });
    expect(line).toMatchObject({
      decision: 'DENY',
      code: 'DENIED_BY_POLICY',
      rule: 'agents.backend.deny.tools.db[0]',
      server: 'db',
      isError: true,
    });
  });
});

// ------------------------------------------------------------------------------------------
describe('identity without agent_id: fallback chain (deny_on_missing_agent false)', () => {
  const lenient = (agents: object) => ({ agents, defaults: { deny_on_missing_agent: false } });
  let log: string;
  let toDefault: GatewayHandle;
  let toEnv: GatewayHandle;
  let toGhost: GatewayHandle;
  let noFallback: GatewayHandle;

  beforeAll(async () => {
    log = join(makeTmpDir('gw-errors-fallback-log'), 'calls.jsonl');
    [toDefault, toEnv, toGhost, noFallback] = await Promise.all([
      start({ mcpServers: r0Servers(log), rules: lenient(R0_AGENTS) }),
      start({ mcpServers: r0Servers(log), rules: lenient(R0_AGENTS), env: { GATEWAY_DEFAULT_AGENT: 'researcher' } }),
      start({ mcpServers: r0Servers(log), rules: lenient(R0_AGENTS), env: { GATEWAY_DEFAULT_AGENT: 'ghost' } }),
      start({
        mcpServers: r0Servers(log),
        rules: lenient({ researcher: R0_AGENTS.researcher, backend: R0_AGENTS.backend }),
      }),
    ]);
  });

  it("falls back to the agent named 'default' (R0: it may use nothing)", async () => {
    for (const id of [undefined, '']) {
      const args = id === undefined ? {} : { agent_id: id };
      expect(serverNames(await callTool(toDefault.client, 'list_servers', args))).toEqual([]);
      expect(failed(await callTool(toDefault.client, 'execute_tool', { ...args, server: 'db', tool: 'query' }))).toEqual({
        code: 'DENIED_BY_POLICY',
        message: "Agent 'default' cannot access server 'db'",
        rule: 'agents.default.deny.servers[0]',
        server: 'db',
      });
    }
    // An explicit id is still checked: unknown ids never get the fallback (reference bug C.1-1).
    expect(failed(await callTool(toDefault.client, 'list_servers', { agent_id: 'ghost' })).code).toBe('INVALID_AGENT_ID');
    expect(failed(await callTool(toDefault.client, 'execute_tool', { agent_id: 'nobody', server: 'db', tool: 'query' })).code).toBe('INVALID_AGENT_ID');
    expect(serverNames(await callTool(toDefault.client, 'list_servers', { agent_id: 'backend' }))).toEqual(['db']);
  });

  it('falls back to GATEWAY_DEFAULT_AGENT; an explicit agent_id still wins', async () => {
    expect(serverNames(await callTool(toEnv.client, 'list_servers', {}))).toEqual(['db', 'search']);
    const r = await callTool(toEnv.client, 'execute_tool', { server: 'db', tool: 'query', args: { sql: 'x' } });
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toBe('query:{"sql":"x"}');
    expect(failed(await callTool(toEnv.client, 'execute_tool', { server: 'db', tool: 'list_tables' }))).toMatchObject({
      code: 'DENIED_BY_POLICY',
      message: "Agent 'researcher' not authorized to call tool 'list_tables' on server 'db'",
    });
    expect(serverNames(await callTool(toEnv.client, 'list_servers', { agent_id: 'backend' }))).toEqual(['db']);
    const backend = await callTool(toEnv.client, 'execute_tool', { agent_id: 'backend', server: 'db', tool: 'list_tables' });
    expect(textOf(backend)).toBe('list_tables:{}');
    expect(failed(await callTool(toEnv.client, 'list_servers', { agent_id: 'ghost' })).code).toBe('INVALID_AGENT_ID');
  });

  it('FALLBACK_AGENT_NOT_IN_RULES when GATEWAY_DEFAULT_AGENT names no agent (no fall-through to default)', async () => {
    for (const [op, args] of ALL_OPS) {
      const e = failed(await callTool(toGhost.client, op, args));
      expect(e.code, op).toBe('FALLBACK_AGENT_NOT_IN_RULES');
      expect(e.message).toContain("fallback agent 'ghost' is not configured in gateway rules");
    }
    expect(serverNames(await callTool(toGhost.client, 'list_servers', { agent_id: 'researcher' }))).toEqual(['db', 'search']);
  });

  it('NO_FALLBACK_CONFIGURED with neither GATEWAY_DEFAULT_AGENT nor a default agent', async () => {
    for (const [op, args] of ALL_OPS) {
      const e = failed(await callTool(noFallback.client, op, args));
      expect(e.code, op).toBe('NO_FALLBACK_CONFIGURED');
      expect(e.message).toContain("Missing 'agent_id' parameter and no fallback agent configured.");
    }
    expect(serverNames(await callTool(noFallback.client, 'list_servers', { agent_id: 'backend' }))).toEqual(['db']);
  });

  it('no denied or refused call reached a downstream server', async () => {
    const toolCalls = readJsonl(log).filter((r) => r.method === 'tools/call');
    expect(toolCalls.map((r) => r.tool).sort()).toEqual(['list_tables', 'query']);
  });
});

// ------------------------------------------------------------------------------------------
describe('a gateway bound to one agent (--agent / GATEWAY_AGENT)', () => {
  let byFlag: GatewayHandle;
  let byEnv: GatewayHandle;
  let dropped: GatewayHandle;

  beforeAll(async () => {
    const log = join(makeTmpDir('gw-errors-bound-log'), 'calls.jsonl');
    [byFlag, byEnv, dropped] = await Promise.all([
      start({ mcpServers: r0Servers(log), rules: R0, args: ['--agent', 'researcher'] }),
      start({ mcpServers: r0Servers(log), rules: R0, env: { GATEWAY_AGENT: 'researcher' } }),
      start({ mcpServers: r0Servers(log), rules: R0, args: ['--agent', 'researcher'] }),
    ]);
  });

  it.each([
    ['--agent', () => byFlag],
    ['GATEWAY_AGENT', () => byEnv],
  ])('%s: acts as the bound agent; naming another is AGENT_MISMATCH', async (_label, gw) => {
    const client = gw().client;
    // No agent_id needed (deny_on_missing_agent is true, but the binding supplies the identity).
    expect(serverNames(await callTool(client, 'list_servers', {}))).toEqual(['db', 'search']);
    expect(serverNames(await callTool(client, 'list_servers', { agent_id: 'researcher' }))).toEqual(['db', 'search']);
    expect(textOf(await callTool(client, 'execute_tool', { server: 'db', tool: 'query', args: { sql: 'b' } }))).toBe('query:{"sql":"b"}');
    expect(failed(await callTool(client, 'execute_tool', { server: 'api', tool: 'x' }))).toMatchObject({
      code: 'DENIED_BY_POLICY',
      message: "Agent 'researcher' cannot access server 'api'",
    });
    // Another agent, even a more powerful one or one that does not exist, is refused.
    for (const other of ['admin', 'backend', 'ghost']) {
      for (const [op, args] of ALL_OPS) {
        const e = failed(await callTool(client, op, { ...args, agent_id: other }));
        expect(e.code, `${op} as ${other}`).toBe('AGENT_MISMATCH');
        expect(e.message).toContain("'researcher'");
        expect(e.message).toContain(`'${other}'`);
      }
    }
  });

  // Starting bound to an agent the rules do not define is refused (tests/e2e/cli.test.ts); a
  // reload that drops the bound agent keeps the gateway up and fails closed instead of exiting.
  it('a reload that removes the bound agent refuses every call (INVALID_AGENT_ID) and keeps serving', async () => {
    const { researcher: _dropped, ...others } = R0_AGENTS;
    writeFileSync(dropped.rulesPath, JSON.stringify({ ...R0, agents: others }));
    process.kill(dropped.pid, 'SIGHUP');
    await waitFor(async () => codeOf(await callTool(dropped.client, 'list_servers', {})) === 'INVALID_AGENT_ID', {
      message: 'the reload never took the bound agent away',
    });
    for (const [op, args] of ALL_OPS) {
      const e = failed(await callTool(dropped.client, op, args));
      expect(e.code, op).toBe('INVALID_AGENT_ID');
      expect(e.message).toContain("'researcher'");
    }
    // The agent that is still defined cannot be reached through this gateway either.
    expect(failed(await callTool(dropped.client, 'list_servers', { agent_id: 'admin' })).code).toBe('AGENT_MISMATCH');
    expect(dropped.stderr()).toMatch(/the bound agent is not in the new rules/);
  });
});

// ------------------------------------------------------------------------------------------
// Tool names are not paths. The MCP spec only says tool names SHOULD avoid "/", and a policy
// glob must not fail open on one: minimatch's `*` never matches "/" by itself, so before the
// fix in src/policy/pattern.ts a deny rule `*` let `fs/delete` through.
describe('a tool name containing "/" is matched by the policy like any other name', () => {
  let gw: GatewayHandle;
  let callLog: string;
  const exec = (agent: string, tool: string) => callTool(gw.client, 'execute_tool', { agent_id: agent, server: 'slash', tool, args: { probe: `${agent}:${tool}` } });
  const listed = async (agent: string, extra: Record<string, unknown> = {}) =>
    ok<{ tools: Array<{ name: string }>; total_available: number }>(await callTool(gw.client, 'get_server_tools', { agent_id: agent, server: 'slash', ...extra }));

  beforeAll(async () => {
    const dir = makeTmpDir('gw-errors-slash');
    callLog = join(dir, 'calls.jsonl');
    const sdk = (p: string) => pathToFileURL(join(REPO_ROOT, 'node_modules', '@modelcontextprotocol', 'sdk', 'dist', 'esm', p)).href;
    const server = join(dir, 'slash-server.mjs');
    writeFileSync(
      server,
      `import { Server } from '${sdk('server/index.js')}';
import { CallToolRequestSchema, ListToolsRequestSchema } from '${sdk('types.js')}';
import { logCall, serveStdio } from '${pathToFileURL(join(FIXTURES_DIR, '_shared.mjs')).href}';
const TOOLS = ['fs/delete', 'fs/read', 'plain', '..'].map((name) => ({ name, inputSchema: { type: 'object' } }));
const server = new Server({ name: 'slash', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
server.setRequestHandler(CallToolRequestSchema, async (req) => {
  logCall('slash', { method: 'tools/call', tool: req.params.name, args: req.params.arguments });
  return { content: [{ type: 'text', text: 'called ' + req.params.name }] };
});
await serveStdio(server);
`,
    );
    gw = await start({
      mcpServers: { slash: { command: process.execPath, args: [server], env: { FIXTURE_CALL_LOG: callLog } } },
      rules: {
        agents: {
          all: { allow: { servers: ['slash'] } },
          denyall: { allow: { servers: ['slash'] }, deny: { tools: { slash: ['*'] } } },
          nodelete: { allow: { servers: ['slash'] }, deny: { tools: { slash: ['*delete'] } } },
          reader: { allow: { servers: ['slash'], tools: { slash: ['fs?read'] } } },
        },
      },
    });
  });

  it('deny `*` denies every tool, "/" and ".." included', async () => {
    expect(await listed('denyall')).toMatchObject({ tools: [], total_available: 0 });
    for (const tool of ['fs/delete', 'fs/read', 'plain', '..']) {
      expect(failed(await exec('denyall', tool))).toEqual({
        code: 'DENIED_BY_POLICY',
        message: `Agent 'denyall' not authorized to call tool '${tool}' on server 'slash'`,
        rule: 'agents.denyall.deny.tools.slash[0]',
        server: 'slash',
        tool,
      });
    }
  });

  it('patterns see "/" as an ordinary character, in rules and in get_server_tools', async () => {
    expect(failed(await exec('nodelete', 'fs/delete'))).toMatchObject({ rule: 'agents.nodelete.deny.tools.slash[0]' });
    expect(textOf(await exec('nodelete', 'fs/read'))).toBe('called fs/read');
    expect((await listed('nodelete')).tools.map((t) => t.name)).toEqual(['fs/read', 'plain', '..']);
    expect(textOf(await exec('reader', 'fs/read'))).toBe('called fs/read');
    expect(failed(await exec('reader', 'fs/delete'))).toMatchObject({ rule: 'agents.reader.allow.tools.slash' });
    expect((await listed('all', { pattern: 'fs*' })).tools.map((t) => t.name)).toEqual(['fs/delete', 'fs/read']);
    expect((await listed('all', { pattern: '*' })).tools.map((t) => t.name)).toEqual(['fs/delete', 'fs/read', 'plain', '..']);
    const reached = readJsonl(callLog).map((r) => (r.args as { probe: string }).probe);
    expect(reached).toEqual(['nodelete:fs/read', 'reader:fs/read']);
  });
});
