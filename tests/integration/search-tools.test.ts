// search_tools through the in-process gateway: only what the agent may call, the index
// following a downstream's list_changed and a reload that removes a server, servers not
// started named in servers_not_indexed (and none the agent may not see), and the setting
// that indexes every server at start.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { GatewayOptions } from '../../src/gateway/options.js';
import { buildGateway, closeGateways, testExtra, testSession } from '../helpers/inProcessGateway.js';
import { fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { codeOf, errorOf } from '../helpers/results.js';
import { META_TOOL_NAMES } from '../helpers/metaTools.js';
import { cleanupTmpDirs, writeJson } from '../helpers/tmp.js';

afterEach(closeGateways);
afterAll(cleanupTmpDirs);

const server = (name: string) => ({ command: process.execPath, args: [fixture(name)] });
const SERVERS = { db: server('fake-db'), paged: server('paged'), todo: server('todo') };
const RULES = {
  agents: {
    alice: { allow: { servers: ['db', 'paged'] }, deny: { tools: { db: ['drop_table'] } } },
    bob: { allow: { servers: ['todo'] } },
  },
};

interface Answer {
  results: { server: string; tool: string; title?: string; description: string; score: number }[];
  total_indexed: number;
  servers_not_indexed: string[];
}

const extra = testExtra();

function build(options: Partial<GatewayOptions> = {}, servers: object = SERVERS) {
  return buildGateway(servers, RULES, { backoff: { baseMs: 10, maxMs: 10 }, ...options });
}

async function search(gateway: Gateway, args: Record<string, unknown>): Promise<Answer> {
  const result = await gateway.callTool('search_tools', args, extra, testSession());
  expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
  return result.structuredContent as unknown as Answer;
}

async function list(gateway: Gateway, agent: string, target: string): Promise<void> {
  const result = await gateway.callTool('get_server_tools', { agent_id: agent, server: target }, extra, testSession());
  expect(result.isError).not.toBe(true);
}

describe('search_tools in meta mode', () => {
  it('is offered between list_servers and get_server_tools', () => {
    const { gateway } = build();
    expect(gateway.listTools().map((t) => t.name)).toEqual(META_TOOL_NAMES);
  });

  it('starts no server: servers never listed are named in servers_not_indexed, those the agent may not see are not', async () => {
    const { gateway } = build();
    expect(await search(gateway, { agent_id: 'alice', query: 'delete a user' })).toEqual({ results: [], total_indexed: 0, servers_not_indexed: ['db', 'paged'] });
    expect(gateway.serverStates().every((s) => s.state === 'idle')).toBe(true);
  });

  it("ranks the agent's tools once listed, and never returns a denied one, whatever the query", async () => {
    const { gateway, audit } = build();
    await list(gateway, 'alice', 'db');
    const answer = await search(gateway, { agent_id: 'alice', query: 'remove a user account' });
    expect(answer.results[0]).toMatchObject({ server: 'db', tool: 'delete_user', description: 'Delete a user' });
    expect(answer.total_indexed).toBe(4);
    expect(answer.servers_not_indexed).toEqual(['paged']);
    for (const query of ['drop table', 'drop_table', 'Drop a table', 'table']) {
      const tools = (await search(gateway, { agent_id: 'alice', query, limit: 20 })).results.map((r) => r.tool);
      expect(tools).not.toContain('drop_table');
    }
    // bob may see only todo: db's tools are listed and indexed, yet never his.
    expect(await search(gateway, { agent_id: 'bob', query: 'delete a user' })).toEqual({ results: [], total_indexed: 0, servers_not_indexed: ['todo'] });
    const line = audit.records.find((r) => r.operation === 'search_tools');
    expect(line).toMatchObject({ operation: 'search_tools', agent: 'alice', server: null, tool: null, decision: 'ALLOW' });
  });

  it('restricts the search to the servers its patterns match', async () => {
    const { gateway } = build();
    await list(gateway, 'alice', 'db');
    await list(gateway, 'alice', 'paged');
    const everywhere = await search(gateway, { agent_id: 'alice', query: 'first tool or a user', limit: 20 });
    expect(new Set(everywhere.results.map((r) => r.server))).toEqual(new Set(['db', 'paged']));
    const paged = await search(gateway, { agent_id: 'alice', query: 'first tool or a user', servers: 'pa*' });
    expect(new Set(paged.results.map((r) => r.server))).toEqual(new Set(['paged']));
    expect((await search(gateway, { agent_id: 'alice', query: 'a user', servers: ['nothing', 'd?'] })).results[0]?.server).toBe('db');
  });

  it('refuses bad arguments with INVALID_ARGUMENT naming the field', async () => {
    const { gateway } = build();
    const cases: [Record<string, unknown>, string][] = [
      [{}, "'query'"],
      [{ query: '' }, "'query'"],
      [{ query: '   ' }, "'query'"],
      [{ query: 'x'.repeat(1_001) }, "'query'"],
      [{ query: 'a', limit: 0 }, "'limit'"],
      [{ query: 'a', limit: 21 }, "'limit'"],
      [{ query: 'a', limit: 2.5 }, "'limit'"],
      [{ query: 'a', servers: 5 }, "'servers'"],
      [{ query: 'a', servers: ['ok', 7] }, "'servers[1]'"],
      [{ query: 'a', servers: ['a/b'] }, "'servers[0]'"],
    ];
    for (const [args, field] of cases) {
      const result = await gateway.callTool('search_tools', { agent_id: 'alice', ...args }, extra, testSession());
      expect(codeOf(result), JSON.stringify(args)).toBe('INVALID_ARGUMENT');
      expect(errorOf(result)!.message).toContain(field);
    }
  });

  it("follows a downstream's tools/list_changed", async () => {
    const { gateway } = build();
    await list(gateway, 'alice', 'paged');
    expect((await search(gateway, { agent_id: 'alice', query: 'added by mutate' })).results.map((r) => r.tool)).not.toContain('delta');
    const mutated = await gateway.callTool('execute_tool', { agent_id: 'alice', server: 'paged', tool: 'mutate' }, extra, testSession());
    expect(mutated.isError).not.toBe(true);
    // Nobody lists again: the search itself fetches the running server's new list.
    await waitFor(async () => (await search(gateway, { agent_id: 'alice', query: 'added by mutate' })).results[0]?.tool === 'delta', {
      message: 'search_tools never saw the tool added after list_changed',
    });
  });

  it('forgets a server a reload removed, and indexes the one that replaced it', async () => {
    const { gateway, mcpConfig } = build();
    await list(gateway, 'alice', 'db');
    expect((await search(gateway, { agent_id: 'alice', query: 'delete a user' })).results[0]?.tool).toBe('delete_user');
    writeJson(mcpConfig, { mcpServers: { paged: SERVERS.paged, todo: SERVERS.todo } });
    expect(gateway.reload(['mcp_config']).applied).toEqual(['mcp_config']);
    const answer = await search(gateway, { agent_id: 'alice', query: 'delete a user' });
    expect(answer.results.filter((r) => r.server === 'db')).toEqual([]);
    expect(answer.servers_not_indexed).toEqual(['paged']);
  });

  it('with searchIndexAtStart, starts and indexes every server at start', async () => {
    const { gateway } = build({ searchIndexAtStart: true });
    gateway.start();
    const indexed = async (agent: string) => (await search(gateway, { agent_id: agent, query: 'x' })).servers_not_indexed.length === 0;
    await waitFor(async () => (await indexed('alice')) && (await indexed('bob')), {
      message: 'the servers were not indexed at start',
    });
    expect((await search(gateway, { agent_id: 'bob', query: 'add a new todo item' })).results[0]).toMatchObject({ server: 'todo', tool: 'add_todo' });
  });

  it('with searchIndexAtStart, the first search waits for the servers still starting', async () => {
    const { gateway } = build({ searchIndexAtStart: true });
    gateway.start();
    const first = await search(gateway, { agent_id: 'bob', query: 'add a new todo item' });
    expect(first.servers_not_indexed).toEqual([]);
    expect(first.results[0]).toMatchObject({ server: 'todo', tool: 'add_todo' });
  });
});

describe('search_tools in native mode', () => {
  it('is offered only with nativeSearch, and answers the native names', async () => {
    expect(build({ mode: 'native', boundAgent: 'alice' }).gateway.listTools()).toEqual([]);
    const { gateway } = build({ mode: 'native', boundAgent: 'alice', nativeSearch: true });
    expect(gateway.listTools().map((t) => t.name)).toEqual(['search_tools']);
    const session = testSession({ mcp: true });
    // A client lists before it searches: the native list starts the agent's servers.
    await gateway.native.tools(session);
    const result = await gateway.callTool('search_tools', { query: 'delete a user' }, extra, session);
    expect(result.isError).not.toBe(true);
    const answer = result.structuredContent as unknown as Answer;
    expect(answer.results[0]).toMatchObject({ server: 'db', tool: 'db__delete_user' });
    expect(answer.results.map((r) => r.tool)).not.toContain('db__drop_table');
    expect(answer.servers_not_indexed).toEqual([]);
  });
});
