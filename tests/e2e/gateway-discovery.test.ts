// Discovery through the built gateway over real stdio: what tools/list offers, what
// list_servers shows each agent, and what get_server_tools returns (fields kept, per-agent
// counts, names/pattern filters, token budget arithmetic, paging, 500 tools, list_changed).
// Downstream servers are real processes (fixtures, server-memory); nothing is mocked.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode, ListToolsResultSchema, McpError, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { callTool, startGateway, type GatewayHandle, type StartGatewayOptions } from '../helpers/gateway.js';
import { fixture, SERVER_MEMORY } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { makeTmpDir } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { DEBUG_META_TOOL_NAMES, META_TOOL_NAMES } from '../helpers/metaTools.js';

// Every gateway (and, through the inherited environment, every downstream server and direct
// client this file starts) carries this marker, so afterAll can prove nothing is left behind.
const MARKER = `gateway-discovery-${process.pid}-${Date.now()}`;
// Neutralise any GATEWAY_* setting of the developer's shell ('' counts as unset).
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
const directClients: Client[] = [];

async function start(opts: StartGatewayOptions): Promise<GatewayHandle> {
  const gw = await startGateway({ ...opts, env: { ...CLEAN_ENV, ...opts.env } });
  gateways.push(gw);
  return gw;
}

/** A client straight to a downstream server (no gateway), to compare against. */
async function direct(command: string, args: string[], env: Record<string, string> = {}): Promise<Client> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) base[k] = v;
  const transport = new StdioClientTransport({ command, args, env: { ...base, ...CLEAN_ENV, ...env }, stderr: 'ignore' });
  const client = new Client({ name: 'direct', version: '1.0.0' });
  directClients.push(client);
  await client.connect(transport, { timeout: 20_000 });
  return client;
}

async function listAll(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.request({ method: 'tools/list', params: cursor ? { cursor } : {} }, ListToolsResultSchema);
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

/** A successful gateway result: structuredContent plus the same JSON as its only text block. */
function ok<T = Record<string, unknown>>(r: CallToolResult): T {
  expect(r.isError, JSON.stringify(r).slice(0, 500)).toBeFalsy();
  expect(r.structuredContent).toBeDefined();
  expect(r.content).toHaveLength(1);
  const block = r.content[0]!;
  expect(block.type).toBe('text');
  expect(JSON.parse((block as { text: string }).text)).toEqual(r.structuredContent);
  return r.structuredContent as T;
}

interface GatewayErrorBody {
  code: string;
  message: string;
  rule?: string;
  server?: string;
  tool?: string;
}

function failed(r: CallToolResult): GatewayErrorBody {
  expect(r.isError).toBe(true);
  const error = (r.structuredContent as { error: GatewayErrorBody }).error;
  expect(r.content).toEqual([{ type: 'text', text: error.message }]);
  return error;
}

interface ServersAnswer {
  servers: Array<Record<string, unknown> & { name: string }>;
}
interface ToolsAnswer {
  server: string;
  tools: Array<Record<string, unknown> & { name: string }>;
  total_available: number;
  returned: number;
  tokens_used: number | null;
  truncated: boolean;
}

const MODEL_FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'];
const modelView = (t: Tool) => Object.fromEntries(Object.entries(t).filter(([k]) => MODEL_FIELDS.includes(k)));
/** The documented estimate: ceil(compact JSON length / 4) of the tool object as returned. */
const estimate = (t: unknown) => Math.ceil(JSON.stringify(t).length / 4);
const names = (a: ToolsAnswer) => a.tools.map((t) => t.name);

guardAgainstLeaks(MARKER, {
  close: () => Promise.allSettled([...gateways.map((g) => g.close()), ...directClients.map((c) => c.close())]),
  timeoutMs: 15_000,
});

// ------------------------------------------------------------------------------------------
describe('tools/list', () => {
  const ONE_AGENT = { agents: { a: { allow: { servers: ['*'] } } } };
  const ECHO = { echo: { command: process.execPath, args: [fixture('echo')] } };

  it('offers exactly list_servers, search_tools, get_server_tools, execute_tool, read_resource, get_prompt, in under 1,000 tokens', async () => {
    const gw = await start({ mcpServers: ECHO, rules: ONE_AGENT });
    const answer = await gw.client.listTools();
    expect(answer.tools.map((t) => t.name)).toEqual(META_TOOL_NAMES);
    expect(JSON.stringify(answer).length).toBeLessThan(4000);

    const byName = new Map(answer.tools.map((t) => [t.name, t]));
    const gst = byName.get('get_server_tools')!;
    expect(gst.inputSchema.required).toEqual(['server']);
    expect(Object.keys(gst.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['agent_id', 'server', 'names', 'pattern', 'max_schema_tokens']));
    const exe = byName.get('execute_tool')!;
    expect(exe.inputSchema.required).toEqual(expect.arrayContaining(['server', 'tool']));
    expect(Object.keys(exe.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['agent_id', 'server', 'tool', 'args', 'timeout_ms']));
    const ls = byName.get('list_servers')!;
    expect(Object.keys(ls.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['agent_id', 'include_metadata']));
    for (const t of answer.tools) expect(t.description, t.name).toBeTruthy();

    // Without debug mode the status tool does not exist: a JSON-RPC error, not a tool result.
    const call = callTool(gw.client, 'get_gateway_status', { agent_id: 'a' });
    await expect(call).rejects.toBeInstanceOf(McpError);
    await expect(call).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
    await expect(call).rejects.toThrow(/Unknown tool: get_gateway_status/);
    await expect(callTool(gw.client, 'no_such_tool', {})).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
    await gw.close();
  });

  const debugOn: Array<[string, Partial<StartGatewayOptions>]> = [
    ['--debug', { args: ['--debug'] }],
    ['GATEWAY_DEBUG=true', { env: { GATEWAY_DEBUG: 'true' } }],
    ['GATEWAY_DEBUG=1', { env: { GATEWAY_DEBUG: '1' } }],
    ['GATEWAY_DEBUG=yes', { env: { GATEWAY_DEBUG: 'yes' } }],
  ];
  it.each(debugOn)('%s adds get_gateway_status (still under 1,000 tokens)', async (_label, extra) => {
    const gw = await start({ mcpServers: ECHO, rules: ONE_AGENT, ...extra });
    const answer = await gw.client.listTools();
    expect(answer.tools.map((t) => t.name)).toEqual(DEBUG_META_TOOL_NAMES);
    expect(JSON.stringify(answer).length).toBeLessThan(4000);
    const status = ok<{ version: string; servers: Array<{ name: string }> }>(await callTool(gw.client, 'get_gateway_status', { agent_id: 'a' }));
    expect(typeof status.version).toBe('string');
    expect(status.servers.map((s) => s.name)).toEqual(['echo']);
    await gw.close();
  });

  it.each(['false', '0', 'no'])('GATEWAY_DEBUG=%s does not', async (value) => {
    const gw = await start({ mcpServers: ECHO, rules: ONE_AGENT, env: { GATEWAY_DEBUG: value } });
    expect((await gw.client.listTools()).tools.map((t) => t.name)).toEqual(META_TOOL_NAMES);
    await gw.close();
  });
});

// ------------------------------------------------------------------------------------------
// The reference's fixture (agent-mcp-gateway.md §D) with rules R0, plus two agents of ours.
const R0 = {
  agents: {
    researcher: { allow: { servers: ['search', 'db'], tools: { db: ['query'] } } },
    backend: {
      allow: { servers: ['db'], tools: { db: ['query', 'list_*', 'delete_user'] } },
      deny: { tools: { db: ['drop_*', 'delete_*'] } },
    },
    admin: { allow: { servers: ['*'] }, deny: { servers: ['api'], tools: { db: ['drop_table'] } } },
    default: { deny: { servers: ['*'] } },
    // Denied by a pattern, not by name.
    nosearch: { allow: { servers: ['*'] }, deny: { servers: ['s?arch'] } },
    ops: { allow: { servers: ['*'] } },
  },
  defaults: { deny_on_missing_agent: true },
};

describe('list_servers (reference fixture, rules R0)', () => {
  let gw: GatewayHandle;
  const list = async (args: Record<string, unknown>) => ok<ServersAnswer>(await callTool(gw.client, 'list_servers', args));

  beforeAll(async () => {
    gw = await start({
      mcpServers: {
        db: {
          command: 'node',
          args: [fixture('fake-db'), '--secret-arg=hunter2'],
          env: { DB_PASSWORD: 'hunter2-env' },
          description: 'Fake DB',
        },
        search: { command: 'node', args: [fixture('fake-search')] },
        api: { type: 'http', url: 'http://user:pw@127.0.0.1:1/mcp?token=x', description: 'HTTP API' },
      },
      rules: R0,
    });
  });

  // Counts of what the agent may use are known once a server runs; list_servers starts none.
  const NOT_STARTED = { tools: null, resources: null, resource_templates: null, prompts: null };

  it('shows only the servers each agent may use, in config order (not rules order)', async () => {
    // researcher's rules say ["search", "db"]; the answer follows .mcp.json.
    expect(await list({ agent_id: 'researcher' })).toEqual({
      servers: [
        { name: 'db', description: 'Fake DB', ...NOT_STARTED },
        { name: 'search', description: null, ...NOT_STARTED },
      ],
    });
    expect((await list({ agent_id: 'backend' })).servers.map((s) => s.name)).toEqual(['db']);
    expect((await list({ agent_id: 'ops' })).servers.map((s) => s.name)).toEqual(['db', 'search', 'api']);
    expect(await list({ agent_id: 'default' })).toEqual({ servers: [] });
  });

  it('never lists a server the agent is denied, by name or by pattern (reference bug C.1-2)', async () => {
    expect((await list({ agent_id: 'admin' })).servers.map((s) => s.name)).toEqual(['db', 'search']);
    expect((await list({ agent_id: 'nosearch' })).servers.map((s) => s.name)).toEqual(['db', 'api']);
    // ...and what is listed is exactly what can be used: the denied one is refused.
    const denied = failed(await callTool(gw.client, 'get_server_tools', { agent_id: 'admin', server: 'api' }));
    expect(denied).toMatchObject({ code: 'DENIED_BY_POLICY', rule: 'agents.admin.deny.servers[0]' });
  });

  it('include_metadata adds transport, command (never args or env), redacted url and status', async () => {
    const { servers } = await list({ agent_id: 'ops', include_metadata: true });
    expect(servers).toEqual([
      { name: 'db', description: 'Fake DB', ...NOT_STARTED, transport: 'stdio', command: 'node', status: 'idle' },
      { name: 'search', description: null, ...NOT_STARTED, transport: 'stdio', command: 'node', status: 'idle' },
      { name: 'api', description: 'HTTP API', ...NOT_STARTED, transport: 'http', url: 'http://127.0.0.1:1/mcp', status: 'idle' },
    ]);
    const raw = JSON.stringify(servers);
    for (const secret of ['hunter2', 'user', 'pw@', 'token', 'args', 'env']) expect(raw).not.toContain(secret);

    // status follows the connection: after a call, db is connected.
    ok(await callTool(gw.client, 'get_server_tools', { agent_id: 'ops', server: 'db' }));
    const after = await list({ agent_id: 'ops', include_metadata: true });
    expect(after.servers.map((s) => [s.name, s.status])).toEqual([
      ['db', 'ready'],
      ['search', 'idle'],
      ['api', 'idle'],
    ]);
    // Without include_metadata the extra keys are absent; db runs now, so its counts are known.
    const plain = (await list({ agent_id: 'ops', include_metadata: false })).servers;
    expect(Object.keys(plain[0]!)).toEqual(['name', 'description', 'tools', 'resources', 'resource_templates', 'prompts']);
    expect(plain[0]).toMatchObject({ tools: expect.any(Number), prompts: 0 });
    expect(plain[1]).toMatchObject(NOT_STARTED);
  });
});

// ------------------------------------------------------------------------------------------
describe('get_server_tools', () => {
  let gw: GatewayHandle;
  let memoryFile: string;
  const tools = async (args: Record<string, unknown>) => ok<ToolsAnswer>(await callTool(gw.client, 'get_server_tools', args));

  beforeAll(async () => {
    memoryFile = join(makeTmpDir('gw-discovery-memory'), 'memory.jsonl');
    gw = await start({
      mcpServers: {
        db: { command: 'node', args: [fixture('fake-db')] },
        echo: { command: process.execPath, args: [fixture('echo')] },
        memory: { command: process.execPath, args: [SERVER_MEMORY], env: { MEMORY_FILE_PATH: memoryFile } },
        budget: { command: process.execPath, args: [fixture('budget')] },
        budgetbig: { command: process.execPath, args: [fixture('budget')], env: { BUDGET_BIG_FIRST: '1' } },
        paged: { command: process.execPath, args: [fixture('paged')] },
        many: { command: process.execPath, args: [fixture('many-tools')] },
      },
      rules: {
        agents: {
          ...R0.agents,
          limited: {
            allow: { servers: ['budget'], tools: { budget: ['get_*', 'create_user'] } },
            deny: { tools: { budget: ['get_users'] } },
          },
        },
        defaults: { deny_on_missing_agent: true },
      },
      // paged's tool list changes on purpose below; pinning would quarantine the new tool (tests/e2e/pins.test.ts).
      args: ['--pinning', 'off'],
    });
  });

  it('keeps name, title, description, inputSchema, outputSchema, annotations (echo)', async () => {
    const viaGateway = await tools({ agent_id: 'admin', server: 'echo', names: 'annotated,structured' });
    // Server order, not the order of `names`.
    expect(names(viaGateway)).toEqual(['structured', 'annotated']);
    const [structured, annotated] = viaGateway.tools;
    expect(annotated).toMatchObject({
      title: 'Annotated Tool',
      description: 'A read-only tool with annotations',
      annotations: { readOnlyHint: true, title: 'Annotated' },
    });
    expect(structured!.outputSchema).toMatchObject({
      type: 'object',
      properties: { temperature: { type: 'number' }, city: { type: 'string' } },
    });
    // Field for field what the server itself says, minus what a model cannot use.
    const echo = await direct(process.execPath, [fixture('echo')]);
    const directTools = await listAll(echo);
    const all = await tools({ agent_id: 'admin', server: 'echo' });
    expect(all.tools).toEqual(directTools.map(modelView));
    expect(all.total_available).toBe(directTools.length);
    for (const t of all.tools) expect(Object.keys(t).every((k) => MODEL_FIELDS.includes(k))).toBe(true);
    await echo.close();
  });

  it('keeps every model field of server-memory tools', async () => {
    const viaGateway = await tools({ agent_id: 'admin', server: 'memory' });
    const mem = await direct(process.execPath, [SERVER_MEMORY], {
      MEMORY_FILE_PATH: join(makeTmpDir('gw-discovery-memory-direct'), 'm.jsonl'),
    });
    const directTools = await listAll(mem);
    await mem.close();
    expect(viaGateway.tools).toEqual(directTools.map(modelView));
    expect(names(viaGateway)).toEqual(expect.arrayContaining(['create_entities', 'read_graph', 'search_nodes']));
    const readGraph = viaGateway.tools.find((t) => t.name === 'read_graph')!;
    expect(readGraph).toMatchObject({
      title: 'Read Graph',
      description: 'Read the entire knowledge graph',
      annotations: { readOnlyHint: true },
    });
    expect(readGraph.outputSchema).toMatchObject({ properties: { entities: { type: 'array' }, relations: { type: 'array' } } });
    expect(viaGateway).toMatchObject({
      server: 'memory',
      total_available: directTools.length,
      returned: directTools.length,
      tokens_used: null,
      truncated: false,
    });
  });

  it('total_available counts only the tools this agent may call (R0 on db)', async () => {
    // The reference said total_available 5 here, leaking the hidden tools.
    expect(await tools({ agent_id: 'backend', server: 'db' })).toMatchObject({
      server: 'db',
      total_available: 2,
      returned: 2,
      tokens_used: null,
      truncated: false,
    });
    expect(names(await tools({ agent_id: 'backend', server: 'db' }))).toEqual(['query', 'list_tables']);
    expect(names(await tools({ agent_id: 'researcher', server: 'db' }))).toEqual(['query']);
    const admin = await tools({ agent_id: 'admin', server: 'db' });
    expect(names(admin)).toEqual(['query', 'list_tables', 'delete_user', 'get_user']);
    expect(admin.total_available).toBe(4);
    // Before the names / pattern filters: still 2 when the filter leaves nothing.
    expect(await tools({ agent_id: 'backend', server: 'db', names: 'get_user' })).toMatchObject({
      tools: [],
      total_available: 2,
      returned: 0,
    });
    // limited: allow get_* and create_user, deny get_users.
    expect(await tools({ agent_id: 'limited', server: 'budget' })).toMatchObject({ total_available: 2, returned: 2 });
    expect(names(await tools({ agent_id: 'limited', server: 'budget' }))).toEqual(['get_user', 'create_user']);
    expect(await tools({ agent_id: 'limited', server: 'budget', pattern: 'get_*' })).toMatchObject({
      total_available: 2,
      returned: 1,
    });
  });

  it('names: comma-separated string (spaces and empties ignored) or array, in server order', async () => {
    const expected = ['delete_user', 'get_user'];
    expect(names(await tools({ agent_id: 'admin', server: 'db', names: ' get_user , delete_user ,' }))).toEqual(expected);
    expect(names(await tools({ agent_id: 'admin', server: 'db', names: ['get_user', 'delete_user'] }))).toEqual(expected);
    // Empty filters mean no filter (reference D.5-50).
    expect((await tools({ agent_id: 'admin', server: 'db', names: '' })).returned).toBe(4);
    expect((await tools({ agent_id: 'admin', server: 'db', names: ' , ' })).returned).toBe(4);
    // A denied tool stays hidden even when named; an unknown name matches nothing; case-sensitive.
    expect(names(await tools({ agent_id: 'admin', server: 'db', names: 'drop_table,query,nope,QUERY' }))).toEqual(['query']);
  });

  it('pattern: the policy glob language (*, ?, [...]), case-sensitive, combined with names', async () => {
    const pick = async (pattern: string, server = 'budget', extra: Record<string, unknown> = {}) =>
      names(await tools({ agent_id: 'admin', server, pattern, ...extra }));
    expect(await pick('*_user')).toEqual(['get_user', 'create_user', 'delete_user', 'update_user']);
    expect(await pick('get_use?')).toEqual(['get_user']);
    expect(await pick('[dg]*')).toEqual(['get_user', 'get_users', 'delete_user']);
    expect(await pick('*e*')).toEqual(['get_user', 'get_users', 'create_user', 'delete_user', 'update_user']);
    expect(await pick('GET_*')).toEqual([]);
    expect(await pick('nomatch_*')).toEqual([]);
    // names, then pattern, then policy: drop_table matches but admin may not call it.
    expect(await pick('get_*', 'db', { names: 'get_user,query' })).toEqual(['get_user']);
    expect(await pick('d*', 'db')).toEqual(['delete_user']);
    // An empty pattern is no filter.
    expect(await pick('')).toHaveLength(5);
  });

  it('budget: estimate = ceil(JSON.stringify(tool).length / 4); a tool that does not fit is skipped', async () => {
    const full = await tools({ agent_id: 'admin', server: 'budget' });
    expect(full).toMatchObject({ total_available: 5, returned: 5, tokens_used: null, truncated: false });
    expect(names(full)).toEqual(['get_user', 'get_users', 'create_user', 'delete_user', 'update_user']);
    const costs = full.tools.map(estimate);
    // Measured by the fixture's author from the same objects (cumulative 30, 62, 94, 125, 157).
    expect(costs).toEqual([30, 32, 32, 31, 32]);

    /** The documented algorithm, run over the returned objects. */
    const expectedFor = (budget: number) => {
      let used = 0;
      let truncated = false;
      const kept: string[] = [];
      full.tools.forEach((t, i) => {
        if (used + costs[i]! > budget) truncated = true;
        else {
          used += costs[i]!;
          kept.push(t.name);
        }
      });
      return { names: kept, tokens_used: used, truncated };
    };
    const table: Array<[number, string[], number, boolean]> = [
      [1000, ['get_user', 'get_users', 'create_user', 'delete_user', 'update_user'], 157, false],
      [157, ['get_user', 'get_users', 'create_user', 'delete_user', 'update_user'], 157, false],
      [156, ['get_user', 'get_users', 'create_user', 'delete_user'], 125, true],
      [94, ['get_user', 'get_users', 'create_user'], 94, true],
      [62, ['get_user', 'get_users'], 62, true],
      // Skip and continue: get_users and create_user (32) do not fit, delete_user (31) does.
      [61, ['get_user', 'delete_user'], 61, true],
      [50, ['get_user'], 30, true],
      [30, ['get_user'], 30, true],
      [29, [], 0, true],
      [0, [], 0, true],
    ];
    for (const [budget, keep, used, truncated] of table) {
      const got = await tools({ agent_id: 'admin', server: 'budget', max_schema_tokens: budget });
      const summary = { names: names(got), tokens_used: got.tokens_used, truncated: got.truncated };
      expect(summary, `max_schema_tokens ${budget}`).toEqual(expectedFor(budget));
      expect(summary, `max_schema_tokens ${budget}`).toEqual({ names: keep, tokens_used: used, truncated });
      expect(got.returned).toBe(keep.length);
      expect(got.total_available).toBe(5);
      // tokens_used is the sum of the estimates of exactly the objects returned.
      expect(got.tokens_used).toBe(got.tools.reduce((n, t) => n + estimate(t), 0));
      // The returned objects are the same objects the unbudgeted answer holds.
      expect(got.tools).toEqual(full.tools.filter((t) => keep.includes(t.name)));
    }
    // The budget applies after names, pattern and policy.
    const filtered = await tools({ agent_id: 'admin', server: 'budget', pattern: '*_user', max_schema_tokens: 61 });
    expect({ names: names(filtered), used: filtered.tokens_used, truncated: filtered.truncated }).toEqual({
      names: ['get_user', 'delete_user'],
      used: 61,
      truncated: true,
    });
    const limited = await tools({ agent_id: 'limited', server: 'budget', max_schema_tokens: 62 });
    expect({ names: names(limited), used: limited.tokens_used, truncated: limited.truncated }).toEqual({
      names: ['get_user', 'create_user'],
      used: 62,
      truncated: false,
    });
  });

  it('budget skips a big first tool and keeps going (BUDGET_BIG_FIRST=1; the reference stopped)', async () => {
    const full = await tools({ agent_id: 'admin', server: 'budgetbig' });
    expect(names(full)).toEqual(['big', 'get_user', 'get_users', 'create_user', 'delete_user', 'update_user']);
    expect(full.tools.map(estimate)).toEqual([120, 30, 32, 32, 31, 32]);

    const skipped = await tools({ agent_id: 'admin', server: 'budgetbig', max_schema_tokens: 100 });
    expect(skipped).toMatchObject({ returned: 3, tokens_used: 94, truncated: true, total_available: 6 });
    expect(names(skipped)).toEqual(['get_user', 'get_users', 'create_user']);
    expect(skipped.tokens_used).toBe(skipped.tools.reduce((n, t) => n + estimate(t), 0));

    const bigOnly = await tools({ agent_id: 'admin', server: 'budgetbig', max_schema_tokens: 120 });
    expect({ names: names(bigOnly), used: bigOnly.tokens_used, truncated: bigOnly.truncated }).toEqual({
      names: ['big'],
      used: 120,
      truncated: true,
    });
    const everything = await tools({ agent_id: 'admin', server: 'budgetbig', max_schema_tokens: 277 });
    expect({ returned: everything.returned, used: everything.tokens_used, truncated: everything.truncated }).toEqual({
      returned: 6,
      used: 277,
      truncated: false,
    });
    expect(await tools({ agent_id: 'admin', server: 'budgetbig', max_schema_tokens: 0 })).toMatchObject({
      tools: [],
      returned: 0,
      tokens_used: 0,
      truncated: true,
    });
  });

  it('follows nextCursor: both pages of paged.mjs are returned', async () => {
    expect(await tools({ agent_id: 'admin', server: 'paged' })).toMatchObject({
      server: 'paged',
      total_available: 4,
      returned: 4,
    });
    expect(names(await tools({ agent_id: 'admin', server: 'paged' }))).toEqual(['alpha', 'beta', 'gamma', 'mutate']);
  });

  it('500 tools: all returned unchanged, filters and budget work at scale', async () => {
    const all = await tools({ agent_id: 'admin', server: 'many' });
    expect(all).toMatchObject({ total_available: 500, returned: 500, tokens_used: null, truncated: false });
    expect(names(all)).toEqual(Array.from({ length: 500 }, (_, i) => `tool_${String(i).padStart(3, '0')}`));
    const many = await direct(process.execPath, [fixture('many-tools')]);
    expect(all.tools).toEqual((await listAll(many)).map(modelView));
    await many.close();

    expect((await tools({ agent_id: 'admin', server: 'many', pattern: 'tool_4??' })).returned).toBe(100);
    expect(names(await tools({ agent_id: 'admin', server: 'many', names: ['tool_499', 'tool_000', 'tool_250'] }))).toEqual(['tool_000', 'tool_250', 'tool_499']);
    const budgeted = await tools({ agent_id: 'admin', server: 'many', max_schema_tokens: 2000 });
    expect(budgeted.truncated).toBe(true);
    expect(budgeted.returned).toBeGreaterThan(0);
    expect(budgeted.returned).toBeLessThan(500);
    expect(budgeted.tokens_used).toBe(budgeted.tools.reduce((n, t) => n + estimate(t), 0));
    expect(budgeted.tokens_used).toBeLessThanOrEqual(2000);
    // Skip-and-continue: every tool left out is one that would not fit on top of what was kept.
    const kept = new Set(names(budgeted));
    for (const t of all.tools) if (!kept.has(t.name)) expect(budgeted.tokens_used! + estimate(t)).toBeGreaterThan(2000);
  });

  // Runs last in this block: it changes paged's tool list for good.
  it("a downstream's tools/list_changed refreshes the cache (paged mutate() adds delta)", async () => {
    const exec = (tool: string) => callTool(gw.client, 'execute_tool', { agent_id: 'admin', server: 'paged', tool });
    expect(failed(await exec('delta'))).toMatchObject({ code: 'TOOL_NOT_FOUND', server: 'paged', tool: 'delta' });
    expect((await exec('mutate')).content).toEqual([{ type: 'text', text: 'mutated' }]);
    await waitFor(async () => names(await tools({ agent_id: 'admin', server: 'paged' })).includes('delta'), {
      timeoutMs: 15_000,
      message: 'delta never appeared in get_server_tools',
    });
    expect(await tools({ agent_id: 'admin', server: 'paged' })).toMatchObject({ total_available: 5, returned: 5 });
    expect(names(await tools({ agent_id: 'admin', server: 'paged' }))).toEqual(['alpha', 'beta', 'gamma', 'mutate', 'delta']);
    expect((await exec('delta')).content).toEqual([{ type: 'text', text: 'delta' }]);
  });
});
