// search_tools through the built gateway and a real SDK client over stdio, against real
// downstream servers (server-memory and the reference's fake-db): in meta mode with
// --search-index-at-start (then get_server_tools with names for the picked tool's schema),
// and in native mode with --native-search, where results name the tools the client calls.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { callTool, readJsonl, startGateway, type GatewayHandle, type StartGatewayOptions } from '../helpers/gateway.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { fixture, SERVER_MEMORY } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { makeTmpDir } from '../helpers/tmp.js';

const MARKER = `search-tools-${process.pid}-${Date.now()}`;
const CLEAN_ENV: Record<string, string> = {
  GATEWAY_DEFAULT_AGENT: '',
  GATEWAY_DEBUG: '',
  GATEWAY_INIT_STRATEGY: '',
  GATEWAY_MODE: '',
  GATEWAY_SEARCH_INDEX_AT_START: '',
  GATEWAY_NATIVE_SEARCH: '',
  GATEWAY_LOG_LEVEL: '',
  GW_E2E_MARKER: MARKER,
};

const gateways: GatewayHandle[] = [];
guardAgainstLeaks(MARKER, { close: () => Promise.allSettled(gateways.map((g) => g.close())), timeoutMs: 15_000 });

async function start(opts: StartGatewayOptions): Promise<GatewayHandle> {
  const gw = await startGateway({ ...opts, env: { ...CLEAN_ENV, ...opts.env } });
  gateways.push(gw);
  return gw;
}

function servers() {
  return {
    memory: { command: process.execPath, args: [SERVER_MEMORY], env: { MEMORY_FILE_PATH: join(makeTmpDir(), 'memory.jsonl') } },
    db: { command: process.execPath, args: [fixture('fake-db')] },
  };
}
const RULES = { agents: { a: { allow: { servers: ['*'] }, deny: { tools: { db: ['drop_table'] } } } } };

interface Answer {
  results: { server: string; tool: string; description: string; score: number }[];
  total_indexed: number;
  servers_not_indexed: string[];
}

function answer(result: CallToolResult): Answer {
  expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
  const text = (result.content[0] as { text: string }).text;
  expect(JSON.parse(text)).toEqual(result.structuredContent);
  return result.structuredContent as unknown as Answer;
}

describe('search_tools end to end', () => {
  it('meta mode with --search-index-at-start: finds the tools of every server, never a denied one, then their schemas by name', async () => {
    const gw = await start({ mcpServers: servers(), rules: RULES, args: ['--search-index-at-start'] });
    const tools = (await gw.client.listTools()).tools;
    expect(tools.map((t) => t.name)).toContain('search_tools');
    expect(JSON.stringify({ tools }).length / 4).toBeLessThan(1_000);

    const search = async (args: Record<string, unknown>) => answer(await callTool(gw.client, 'search_tools', { agent_id: 'a', ...args }));
    await waitFor(async () => (await search({ query: 'anything' })).servers_not_indexed.length === 0, {
      timeoutMs: 20_000,
      message: 'the servers were not indexed at start',
    });
    const found = await search({ query: 'create entities in the knowledge graph' });
    expect(found.results[0]).toMatchObject({ server: 'memory', tool: 'create_entities' });
    expect(found.results.length).toBeLessThanOrEqual(5);
    expect(JSON.stringify(found).length / 4).toBeLessThan(500);
    expect((await search({ query: 'remove a user' })).results[0]).toMatchObject({ server: 'db', tool: 'delete_user' });
    expect((await search({ query: 'drop a table', limit: 20 })).results.map((r) => r.tool)).not.toContain('drop_table');

    const picked = found.results[0]!;
    const schemas = await callTool(gw.client, 'get_server_tools', { agent_id: 'a', server: picked.server, names: [picked.tool] });
    const listed = (schemas.structuredContent as { tools: { name: string; inputSchema: object }[] }).tools;
    expect(listed.map((t) => t.name)).toEqual([picked.tool]);
    expect(listed[0]!.inputSchema).toMatchObject({ type: 'object' });

    const refused = await callTool(gw.client, 'search_tools', { agent_id: 'a', query: 'x', limit: 50 });
    expect(refused.isError).toBe(true);
    expect((refused.structuredContent as { error: { code: string; message: string } }).error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    await gw.close();
    const lines = readJsonl(gw.auditPath).filter((line) => line['operation'] === 'search_tools');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ agent: 'a', server: null, tool: null });
  });

  it('native mode with --native-search: offers search_tools, whose results are the names to call', async () => {
    const gw = await start({ mcpServers: servers(), rules: RULES, args: ['--mode', 'native', '--agent', 'a', '--native-search'] });
    const names = (await gw.client.listTools()).tools.map((t) => t.name);
    expect(names[0]).toBe('search_tools');
    expect(names).toContain('db__delete_user');
    const found = answer(await callTool(gw.client, 'search_tools', { query: 'delete a user' }));
    expect(found.results[0]).toMatchObject({ server: 'db', tool: 'db__delete_user' });
    expect(found.results.every((r) => names.includes(r.tool))).toBe(true);
    const called = await callTool(gw.client, found.results[0]!.tool, { id: '7' });
    expect(called.content).toEqual([{ type: 'text', text: 'delete_user:{"id":"7"}' }]);
    await gw.close();
  });

  it('native mode without --native-search offers no search_tools', async () => {
    const gw = await start({ mcpServers: servers(), rules: RULES, args: ['--mode', 'native', '--agent', 'a'] });
    expect((await gw.client.listTools()).tools.map((t) => t.name)).not.toContain('search_tools');
    // As any name outside the agent's native list.
    const result = await callTool(gw.client, 'search_tools', { query: 'user' });
    expect((result.structuredContent as { error: { code: string } }).error.code).toBe('TOOL_NOT_FOUND');
    await gw.close();
  });
});
