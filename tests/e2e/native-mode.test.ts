// --mode native and --mode both against the built gateway, with server-everything and
// server-memory as the downstream servers: native names, per-agent lists, calls through the
// one call path (policy, audit, progress), resources, templates, subscriptions, prompts,
// completions, and list_changed after reloads.
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { assignNames, DEFAULT_SEPARATOR, namingOptions } from '../../src/gateway/native/names.js';
import { callTool, readJsonl, type GatewayHandle } from '../helpers/gateway.js';
import { fixture, SERVER_EVERYTHING, SERVER_MEMORY } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, writeJson } from '../helpers/tmp.js';
import { GatewayFarm } from './reload-support.js';
import { textOf, errorOf } from '../helpers/results.js';
import { META_TOOL_NAMES } from '../helpers/metaTools.js';

const farm = new GatewayFarm('native-mode');
afterAll(async () => {
  try {
    await farm.closeAll();
  } finally {
    cleanupTmpDirs();
  }
});

const LONG = 'the-everything-server-with-a-long-name';
const SERVERS = {
  [LONG]: { command: process.execPath, args: [SERVER_EVERYTHING, 'stdio'] },
  'memory.graph': { command: process.execPath, args: [SERVER_MEMORY], env: { MEMORY_FILE_PATH: '/dev/null' } },
};
const ALL = { agents: { a: { allow: { servers: ['*'] } } } };
const VALID = /^[A-Za-z0-9_-]+$/;

/** server-everything registers some tools after initialization; wait until it has. */
async function settledTools(gw: GatewayHandle, server: string): Promise<Tool[]> {
  let tools: Tool[] = [];
  await waitFor(
    async () => {
      const r = await callTool(gw.client, 'get_server_tools', { server, agent_id: 'a' });
      tools = (r.structuredContent as { tools: Tool[] }).tools;
      return server !== LONG || tools.some((t) => t.name === 'trigger-sampling-request');
    },
    { timeoutMs: 20_000, intervalMs: 200, message: `${server} never offered all its tools` },
  );
  return tools;
}

const nativeTools = async (gw: GatewayHandle): Promise<Tool[]> => (await gw.client.listTools()).tools.filter((t) => !META_TOOL_NAMES.includes(t.name));

describe('native names', () => {
  it('fit the budget, map characters, match the pure naming function, and are the same after a restart', async () => {
    const names: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const gw = await farm.start({ mcpServers: SERVERS, rules: ALL, debug: false, args: ['--mode', 'both', '--agent', 'a'] });
      const originals = [
        ...(await settledTools(gw, LONG)).map((t) => ({ server: LONG, item: t.name, tool: t })),
        ...(await settledTools(gw, 'memory.graph')).map((t) => ({ server: 'memory.graph', item: t.name, tool: t })),
      ];
      const listed = await nativeTools(gw);
      const expected = assignNames(originals, namingOptions(DEFAULT_SEPARATOR, 14));
      expect(listed.map((t) => t.name)).toEqual(expected);
      for (const name of expected) {
        expect(name).toMatch(VALID);
        expect(`mcp__gateway__${name}`.length).toBeLessThanOrEqual(64);
      }
      expect(new Set(expected).size).toBe(expected.length);
      // Long names are shortened with a hash; "." in a server name is mapped.
      expect(expected.find((n) => n.startsWith('the-everything-server-with-a-long-name__trigger'))).toBeUndefined();
      expect(expected.some((n) => /^the-everything-se.*-[0-9a-f]{8}$/.test(n))).toBe(true);
      expect(expected.filter((n) => n.startsWith('memory_graph__')).length).toBe(originals.filter((o) => o.server === 'memory.graph').length);

      // Every field a model uses is kept, for every tool (get_server_tools shows exactly those fields).
      const modelFields = (t: Tool) =>
        Object.fromEntries(Object.entries(t).filter(([k]) => ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'].includes(k)));
      listed.forEach((tool, i) => {
        expect(modelFields(tool), originals[i]!.item).toEqual(modelFields(originals[i]!.tool));
      });
      expect(listed.some((t) => t.annotations !== undefined && t.outputSchema !== undefined) || listed.some((t) => t.outputSchema !== undefined)).toBe(true);
      expect(listed.filter((t) => t.annotations !== undefined).length).toBeGreaterThan(3);
      names.push(expected);
      await gw.close();
    }
    expect(names[1]).toEqual(names[0]);
  });

  it('follow --client-prefix-length and --name-separator', async () => {
    const gw = await farm.start({
      mcpServers: { 'memory.graph': SERVERS['memory.graph'] },
      rules: ALL,
      debug: false,
      // (`--name-separator -` would read "-" as an argument of its own.)
      args: ['--mode', 'native', '--agent', 'a', '--client-prefix-length', '40', '--name-separator=-'],
    });
    const listed = (await gw.client.listTools()).tools;
    expect(listed.length).toBeGreaterThan(5);
    for (const t of listed) {
      expect(t.name.length).toBeLessThanOrEqual(24);
      expect(t.name).toMatch(/^memor[A-Za-z0-9_-]*-[0-9a-f]{8}$/);
    }
    await gw.close();
  });
});

describe('per-agent lists and calls', () => {
  const RULES = {
    agents: {
      reader: {
        allow: {
          servers: ['everything', 'memory'],
          tools: { everything: ['echo', 'get-structured-content', 'trigger-long-running-operation'], memory: ['read_graph', 'search_*'] },
          resources: { everything: ['demo://resource/static/document/*'] },
          prompts: { everything: ['simple-prompt'] },
        },
      },
      writer: { allow: { servers: ['memory'] }, deny: { tools: { memory: ['delete_*'] } } },
    },
  };
  const MCP = { everything: SERVERS[LONG], memory: SERVERS['memory.graph'] };

  it('show each agent exactly what its rules allow', async () => {
    const reader = await farm.start({ mcpServers: MCP, rules: RULES, debug: false, args: ['--mode', 'native', '--agent', 'reader'] });
    const writer = await farm.start({ mcpServers: MCP, rules: RULES, debug: false, args: ['--mode', 'native', '--agent', 'writer'] });
    expect((await reader.client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'everything__echo',
      'everything__get-structured-content',
      'everything__trigger-long-running-operation',
      'memory__read_graph',
      'memory__search_nodes',
    ]);
    const writerTools = (await writer.client.listTools()).tools.map((t) => t.name);
    expect(writerTools, writerTools.join()).toContain('memory__create_entities');
    expect(writerTools.every((n) => n.startsWith('memory__') && !n.startsWith('memory__delete_'))).toBe(true);

    const resources = (await reader.client.listResources()).resources.map((r) => r.uri);
    expect(resources.length).toBeGreaterThan(0);
    const fromEverything = resources.filter((u) => u.startsWith('mcpgw://everything/'));
    expect(fromEverything.length).toBeGreaterThan(0);
    expect(
      fromEverything.every((u) => u.startsWith('mcpgw://everything/demo://resource/static/document/')),
      resources.join(),
    ).toBe(true);
    // No resources rule for memory: its resources are allowed with the server.
    expect(resources.filter((u) => !u.startsWith('mcpgw://everything/')).every((u) => u.startsWith('mcpgw://memory/'))).toBe(true);
    expect((await reader.client.listResourceTemplates()).resourceTemplates).toEqual([]);
    expect((await reader.client.listPrompts()).prompts.map((p) => p.name)).toEqual(['everything__simple-prompt']);
    const writerResources = (await writer.client.listResources()).resources.map((r) => r.uri);
    expect(writerResources.length).toBeGreaterThan(0);
    expect(writerResources.every((u) => u.startsWith('mcpgw://memory/'))).toBe(true);
    expect((await writer.client.listPrompts()).prompts).toEqual([]);
    await Promise.all([reader.close(), writer.close()]);
  });

  it('a denied tool name gives exactly the error of a missing one; calls, structured output and progress pass; all audited', async () => {
    const gw = await farm.start({ mcpServers: MCP, rules: RULES, debug: false, args: ['--mode', 'native', '--agent', 'reader'] });
    await gw.client.listTools();
    const denied = await callTool(gw.client, 'memory__delete_entities', { entityNames: ['x'] });
    const missing = await callTool(gw.client, 'memory__no_such_tool', { entityNames: ['x'] });
    const shape = (r: CallToolResult, name: string) => JSON.parse(JSON.stringify(r).replaceAll(name, 'NAME')) as unknown;
    expect(shape(denied, 'memory__delete_entities')).toEqual(shape(missing, 'memory__no_such_tool'));
    expect(errorOf(denied)).toEqual({ code: 'TOOL_NOT_FOUND', message: 'Unknown tool: memory__delete_entities', tool: 'memory__delete_entities' });

    const echo = await callTool(gw.client, 'everything__echo', { message: 'hi' });
    expect(echo).toEqual({ content: [{ type: 'text', text: 'Echo: hi' }] });
    const structured = await callTool(gw.client, 'everything__get-structured-content', { location: 'Chicago' });
    expect(structured.isError).toBeFalsy();
    expect(structured.structuredContent).toMatchObject({ temperature: expect.any(Number), conditions: expect.any(String) });

    const progress: number[] = [];
    const long = await callTool(
      gw.client,
      'everything__trigger-long-running-operation',
      { duration: 2, steps: 4 },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(long.isError).toBeFalsy();
    expect(progress.length).toBeGreaterThan(0);
    expect([...progress].sort((x, y) => x - y)).toEqual(progress);

    await waitFor(() => readJsonl(gw.auditPath).length >= 5, { message: 'audit lines missing' });
    const recs = readJsonl(gw.auditPath);
    expect(recs.map((r) => [r['operation'], r['server'], r['tool'], r['decision'], r['code']])).toEqual([
      ['native_call', null, 'memory__delete_entities', 'ERROR', 'TOOL_NOT_FOUND'],
      ['native_call', null, 'memory__no_such_tool', 'ERROR', 'TOOL_NOT_FOUND'],
      ['native_call', 'everything', 'echo', 'ALLOW', null],
      ['native_call', 'everything', 'get-structured-content', 'ALLOW', null],
      ['native_call', 'everything', 'trigger-long-running-operation', 'ALLOW', null],
    ]);
    expect(recs[2]).toMatchObject({ agent: 'reader', identity_source: 'bound', arg_keys: ['message'] });
    await gw.close();
  });
});

describe('native calls: timeout and cancellation', () => {
  it("take execute_tool's timeout and cancellation path", async () => {
    const gw = await farm.start({
      mcpServers: { echo: { command: process.execPath, args: [fixture('echo')], timeout_ms: 300 } },
      rules: ALL,
      debug: false,
      args: ['--mode', 'native', '--agent', 'a'],
    });
    await gw.client.listTools();
    const stats = async () => (await callTool(gw.client, 'echo__cancelled_count', {})).structuredContent as { started: number; cancelled: number };

    // The server's timeout_ms applies; the downstream is told to cancel.
    const timedOut = await callTool(gw.client, 'echo__slow', { ms: 60_000 });
    expect(errorOf(timedOut)).toMatchObject({ code: 'TIMEOUT', message: 'Tool execution timed out after 300ms' });
    await waitFor(async () => (await stats()).cancelled === 1, { message: 'the timed-out call was not cancelled downstream' });

    // Cancelling upstream cancels downstream.
    const controller = new AbortController();
    const call = callTool(gw.client, 'echo__slow', { ms: 60_000 }, { signal: controller.signal, timeout: 120_000 });
    await waitFor(async () => (await stats()).started === 2, { message: 'the second slow call never started' });
    controller.abort();
    await expect(call).rejects.toThrow();
    await waitFor(async () => (await stats()).cancelled === 2, { message: 'the cancelled call was not cancelled downstream' });

    await waitFor(() => readJsonl(gw.auditPath).filter((r) => r['tool'] === 'slow').length === 2, { message: 'audit lines missing' });
    const slow = readJsonl(gw.auditPath).filter((r) => r['tool'] === 'slow');
    expect(slow.map((r) => [r['operation'], r['decision'], r['code']])).toEqual([
      ['native_call', 'TIMEOUT', 'TIMEOUT'],
      ['native_call', 'ERROR', 'CANCELLED'],
    ]);
    await gw.close();
  });
});

describe('resources, templates, subscriptions, prompts, completions', () => {
  it('lists and reads them under gateway URIs and names, and relays a subscription update', async () => {
    const gw = await farm.start({
      mcpServers: { everything: SERVERS[LONG] },
      rules: ALL,
      debug: false,
      args: ['--mode', 'native', '--agent', 'a'],
    });
    const { resources } = await gw.client.listResources();
    expect(resources.length).toBeGreaterThan(0);
    for (const r of resources) expect(r.uri.startsWith('mcpgw://everything/')).toBe(true);
    const first = resources[0]!;
    const read = await gw.client.readResource({ uri: first.uri });
    expect(read.contents[0]).toMatchObject({ uri: first.uri });

    const { resourceTemplates } = await gw.client.listResourceTemplates();
    const text = resourceTemplates.find((t) => t.uriTemplate.includes('dynamic/text'))!;
    expect(text.uriTemplate).toBe('mcpgw://everything/demo://resource/dynamic/text/{resourceId}');
    const expanded = text.uriTemplate.replace('{resourceId}', '7');
    const fromTemplate = await gw.client.readResource({ uri: expanded });
    expect(fromTemplate.contents[0]).toMatchObject({ uri: expanded });
    expect(JSON.stringify(fromTemplate.contents[0])).toContain('7');

    await expect(gw.client.readResource({ uri: 'mcpgw://nowhere/x://y' })).rejects.toMatchObject({ code: -32602 });
    await expect(gw.client.readResource({ uri: 'demo://resource/static/document/architecture.md' })).rejects.toMatchObject({ code: -32602 });

    const updates: string[] = [];
    gw.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await gw.client.subscribeResource({ uri: first.uri });
    // server-everything sends updates for subscribed resources every 5 s once this is on.
    const toggled = await callTool(gw.client, 'everything__toggle-subscriber-updates', {});
    expect(toggled.isError).toBeFalsy();
    await waitFor(() => updates.length > 0, { timeoutMs: 20_000, message: 'no notifications/resources/updated relayed' });
    expect(updates[0]).toBe(first.uri);
    await gw.client.unsubscribeResource({ uri: first.uri });

    const { prompts } = await gw.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(['everything__simple-prompt', 'everything__completable-prompt']));
    const simple = await gw.client.getPrompt({ name: 'everything__simple-prompt' });
    expect(simple.messages[0]).toMatchObject({ role: 'user', content: { type: 'text' } });
    await expect(gw.client.getPrompt({ name: 'everything__nope' })).rejects.toThrow(/Unknown prompt: everything__nope/);

    const completion = await gw.client.complete({
      ref: { type: 'ref/prompt', name: 'everything__completable-prompt' },
      argument: { name: 'department', value: 'E' },
    });
    expect(completion.completion.values).toEqual(['Engineering']);
    // A template reference goes to its server under the server's own URI.
    const templateCompletion = await gw.client.complete({
      ref: { type: 'ref/resource', uri: text.uriTemplate },
      argument: { name: 'resourceId', value: '42' },
    });
    expect(templateCompletion.completion.values).toEqual(['42']);
    await gw.close();
  });
});

describe('list_changed', () => {
  it('is sent after a rules reload that changes what the agent sees, and not after one that does not', async () => {
    const rules = { agents: { a: { allow: { servers: ['memory'] } } } };
    const gw = await farm.start({
      mcpServers: { memory: SERVERS['memory.graph'] },
      rules,
      debug: false,
      args: ['--mode', 'native', '--agent', 'a', '--reload-debounce-ms', '75'],
      env: { GATEWAY_LOG_LEVEL: 'debug' },
    });
    let toolChanges = 0;
    let resourceChanges = 0;
    gw.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      toolChanges++;
    });
    gw.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      resourceChanges++;
    });
    const before = (await gw.client.listTools()).tools.map((t) => t.name);
    expect(before).toContain('memory__delete_entities');
    await gw.client.listResources();
    const checks = () => gw.stderr().split('visible lists checked').length - 1;

    // Another agent's rules change: this agent's lists do not.
    const checked = checks();
    writeJson(gw.rulesPath, { agents: { ...rules.agents, other: { allow: { servers: ['*'] } } } });
    await waitFor(() => checks() > checked, { message: 'the lists were never checked after the reload' });
    expect(toolChanges).toBe(0);

    // Now this agent loses the delete tools.
    writeJson(gw.rulesPath, { agents: { a: { allow: { servers: ['memory'] }, deny: { tools: { memory: ['delete_*'] } } } } });
    await waitFor(() => toolChanges === 1, { message: 'no notifications/tools/list_changed' });
    const after = (await gw.client.listTools()).tools.map((t) => t.name);
    expect(after).toEqual(before.filter((n) => !n.startsWith('memory__delete_')));
    // The resources list did not change.
    expect(resourceChanges).toBe(0);
    await gw.close();
  });
});

describe('meta mode additions', () => {
  it('list_servers counts what the agent may use; read_resource and get_prompt follow the policy', async () => {
    const rules = {
      agents: {
        a: {
          allow: { servers: ['everything', 'memory'], tools: { memory: ['read_graph'] }, prompts: { everything: ['simple-prompt'] } },
          deny: { resources: { everything: ['*extension*'] } },
        },
      },
    };
    const gw = await farm.start({
      mcpServers: { everything: SERVERS[LONG], memory: SERVERS['memory.graph'] },
      rules,
      debug: false,
      args: ['--init-strategy', 'eager'],
    });
    const tools = (await gw.client.listTools()).tools;
    expect(tools.map((t) => t.name)).toEqual(META_TOOL_NAMES);
    expect(JSON.stringify({ tools }).length).toBeLessThan(4000);

    type Entry = { name: string; tools: number | null; resources: number | null; resource_templates: number | null; prompts: number | null };
    let servers: Entry[] = [];
    await waitFor(
      async () => {
        servers = ((await callTool(gw.client, 'list_servers', { agent_id: 'a' })).structuredContent as { servers: Entry[] }).servers;
        return servers.every((s) => s.tools !== null);
      },
      { timeoutMs: 20_000, message: 'counts never known' },
    );
    const memory = servers.find((s) => s.name === 'memory')!;
    expect(memory).toMatchObject({ tools: 1, resource_templates: 0, prompts: 0 });
    const memoryResources = (await callTool(gw.client, 'read_resource', { agent_id: 'a', server: 'memory' })).structuredContent as {
      resources: unknown[];
    };
    expect(memory.resources).toBe(memoryResources.resources.length);
    const everything = servers.find((s) => s.name === 'everything')!;
    expect(everything.prompts).toBe(1);

    const listing = await callTool(gw.client, 'read_resource', { agent_id: 'a', server: 'everything' });
    const listed = listing.structuredContent as { resources: { uri: string }[]; resource_templates: unknown[] };
    expect(listed.resources.length).toBe(everything.resources);
    expect(listed.resources.some((r) => r.uri.includes('extension'))).toBe(false);
    const uri = listed.resources[0]!.uri;
    const read = await callTool(gw.client, 'read_resource', { agent_id: 'a', server: 'everything', uri });
    expect(read.content[0]).toMatchObject({ type: 'resource', resource: { uri } });
    const denied = await callTool(gw.client, 'read_resource', {
      agent_id: 'a',
      server: 'everything',
      uri: 'demo://resource/static/document/extension.md',
    });
    expect(errorOf(denied)).toMatchObject({ code: 'DENIED_BY_POLICY' });

    const prompts = await callTool(gw.client, 'get_prompt', { agent_id: 'a', server: 'everything' });
    expect((prompts.structuredContent as { prompts: { name: string }[] }).prompts.map((p) => p.name)).toEqual(['simple-prompt']);
    const got = await callTool(gw.client, 'get_prompt', { agent_id: 'a', server: 'everything', prompt: 'simple-prompt' });
    expect(textOf(got)).toContain('messages');
    const refused = await callTool(gw.client, 'get_prompt', { agent_id: 'a', server: 'everything', prompt: 'args-prompt', arguments: { city: 'x' } });
    expect(errorOf(refused)).toMatchObject({ code: 'DENIED_BY_POLICY', rule: 'agents.a.allow.prompts.everything' });
    await gw.close();
  });
});
