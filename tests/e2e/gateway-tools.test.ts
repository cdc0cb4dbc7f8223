// execute_tool through the built gateway over real stdio, against real downstream servers:
// results come back exactly as the server sent them (every content block type,
// structuredContent, isError), arguments arrive exactly (agent_id is never forwarded), and the
// policy is applied to server-everything, server-memory and the reference's fake-db.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { callTool, readJsonl, startGateway, type GatewayHandle, type StartGatewayOptions } from '../helpers/gateway.js';
import { fixture, SERVER_EVERYTHING, SERVER_MEMORY } from '../helpers/paths.js';
import { makeTmpDir } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { textOf } from '../helpers/results.js';

const MARKER = `gateway-tools-${process.pid}-${Date.now()}`;
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

/** A client straight to a downstream server (no gateway), to compare results with. */
async function direct(command: string, args: string[], env: Record<string, string> = {}): Promise<Client> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) base[k] = v;
  const transport = new StdioClientTransport({ command, args, env: { ...base, ...CLEAN_ENV, ...env }, stderr: 'ignore' });
  const client = new Client({ name: 'direct', version: '1.0.0' });
  directClients.push(client);
  await client.connect(transport, { timeout: 20_000 });
  return client;
}

interface GatewayErrorBody {
  code: string;
  message: string;
  rule?: string;
  server?: string;
  tool?: string;
}

function failed(r: CallToolResult): GatewayErrorBody {
  expect(r.isError, JSON.stringify(r).slice(0, 500)).toBe(true);
  const error = (r.structuredContent as { error: GatewayErrorBody }).error;
  expect(r.content).toEqual([{ type: 'text', text: error.message }]);
  return error;
}

guardAgainstLeaks(MARKER, {
  close: () => Promise.allSettled([...gateways.map((g) => g.close()), ...directClients.map((c) => c.close())]),
  timeoutMs: 15_000,
});

// ------------------------------------------------------------------------------------------
describe('transparent results (echo.mjs, compared with a direct connection)', () => {
  let gw: GatewayHandle;
  let echo: Client;
  const viaGateway = (tool: string, args: Record<string, unknown> = {}) => callTool(gw.client, 'execute_tool', { agent_id: 'a', server: 'echo', tool, args });
  const viaDirect = (tool: string, args: Record<string, unknown> = {}) => callTool(echo, tool, args);

  beforeAll(async () => {
    [gw, echo] = await Promise.all([
      start({
        mcpServers: { echo: { command: process.execPath, args: [fixture('echo')] } },
        rules: { agents: { a: { allow: { servers: ['echo'] } } } },
      }),
      direct(process.execPath, [fixture('echo')]),
    ]);
  });

  it('image(): image, audio, resource_link and embedded resource blocks arrive unchanged', async () => {
    const r = await viaGateway('image');
    expect(r).toStrictEqual(await viaDirect('image'));
    expect(r.content.map((b) => b.type)).toEqual(['image', 'audio', 'resource_link', 'resource']);
    expect(r.content[0]).toMatchObject({ type: 'image', mimeType: 'image/png' });
    expect(
      Buffer.from((r.content[0] as { data: string }).data, 'base64')
        .subarray(1, 4)
        .toString('ascii'),
    ).toBe('PNG');
    expect(r.content[1]).toMatchObject({ type: 'audio', mimeType: 'audio/wav' });
    expect(
      Buffer.from((r.content[1] as { data: string }).data, 'base64')
        .subarray(0, 4)
        .toString('ascii'),
    ).toBe('RIFF');
    expect(r.content[2]).toEqual({
      type: 'resource_link',
      uri: 'file:///fixtures/readme.txt',
      name: 'readme.txt',
      description: 'A linked resource',
      mimeType: 'text/plain',
    });
    expect(r.content[3]).toEqual({
      type: 'resource',
      resource: { uri: 'fixture://embedded/note.txt', mimeType: 'text/plain', text: 'embedded note' },
    });
    // Not wrapped: no gateway structuredContent, no JSON-in-text (the reference's defect).
    expect(r.structuredContent).toBeUndefined();
    expect(r.isError).toBeUndefined();
  });

  it('structured(): structuredContent is kept', async () => {
    const r = await viaGateway('structured', { city: 'Paris' });
    expect(r).toStrictEqual(await viaDirect('structured', { city: 'Paris' }));
    expect(r.structuredContent).toEqual({ temperature: 21.5, city: 'Paris' });
    expect(JSON.parse(textOf(r))).toEqual({ temperature: 21.5, city: 'Paris' });
  });

  it('fail(): a downstream isError:true stays exactly that, with its structuredContent', async () => {
    const r = await viaGateway('fail', { message: 'nope' });
    expect(r).toStrictEqual(await viaDirect('fail', { message: 'nope' }));
    expect(r).toStrictEqual({ content: [{ type: 'text', text: 'nope' }], isError: true, structuredContent: { reason: 'nope' } });
    // It is the server's error, not a gateway error: no `error` object, no rewritten text.
    expect(textOf(r)).not.toMatch(/Tool execution failed/);
    expect(await viaGateway('fail')).toStrictEqual({
      content: [{ type: 'text', text: 'boom' }],
      isError: true,
      structuredContent: { reason: 'boom' },
    });
  });

  it('echo_args(): arguments arrive exactly; the gateway never forwards its own agent_id', async () => {
    const args = {
      s: 'x',
      n: 1.5,
      neg: -0.25,
      t: true,
      f: false,
      nil: null,
      list: [1, 'two', { three: [3] }, []],
      nested: { deep: { deeper: { deepest: 'yes' } }, empty: {} },
      unicode: 'héllo wörld ✓ 🚀',
      quotes: 'a "b" \\ c\n',
      big: 'z'.repeat(20_000),
    };
    const r = await viaGateway('echo_args', args);
    expect(r.isError).toBeFalsy();
    const received = JSON.parse(textOf(r)) as Record<string, unknown>;
    expect(received).toStrictEqual(args);
    expect(received).not.toHaveProperty('agent_id');
    // No args at all -> {} downstream.
    const none = await callTool(gw.client, 'execute_tool', { agent_id: 'a', server: 'echo', tool: 'echo_args' });
    expect(JSON.parse(textOf(none))).toStrictEqual({});
    // A downstream tool's own parameter that happens to be called agent_id is its business.
    expect(JSON.parse(textOf(await viaGateway('echo_args', { agent_id: 'inner' })))).toStrictEqual({ agent_id: 'inner' });
  });

  it('plain results and input validation errors of the downstream are forwarded as they are', async () => {
    expect(await viaGateway('echo', { message: 'hi' })).toStrictEqual(await viaDirect('echo', { message: 'hi' }));
    expect(await viaGateway('add', { a: 2, b: 40 })).toStrictEqual({ content: [{ type: 'text', text: '42' }] });
    const bad = await viaGateway('add', { a: 'two', b: 40 });
    expect(bad).toStrictEqual(await viaDirect('add', { a: 'two', b: 40 }));
    expect(bad.isError).toBe(true);
    expect(bad.structuredContent).toBeUndefined(); // the server's error, not a gateway one
  });
});

// ------------------------------------------------------------------------------------------
describe('server-everything', () => {
  let gw: GatewayHandle;
  const exec = (tool: string, args: Record<string, unknown> = {}) => callTool(gw.client, 'execute_tool', { agent_id: 'user', server: 'everything', tool, args });

  beforeAll(async () => {
    gw = await start({
      mcpServers: { everything: { command: process.execPath, args: [SERVER_EVERYTHING] } },
      rules: {
        agents: {
          user: {
            allow: { servers: ['everything'], tools: { everything: ['echo', 'get-*'] } },
            deny: { tools: { everything: ['get-env'] } },
          },
        },
      },
    });
  });

  it('echo, get-sum and get-tiny-image work through the gateway', async () => {
    expect(await exec('echo', { message: 'hello gateway' })).toStrictEqual({
      content: [{ type: 'text', text: 'Echo: hello gateway' }],
    });
    expect(textOf(await exec('get-sum', { a: 2, b: 3 }))).toBe('The sum of 2 and 3 is 5.');
    const image = await exec('get-tiny-image');
    expect(image.isError).toBeFalsy();
    expect(image.content.map((b) => b.type)).toEqual(['text', 'image', 'text']);
    const png = image.content[1] as { data: string; mimeType: string };
    expect(png.mimeType).toBe('image/png');
    expect(Buffer.from(png.data, 'base64').subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it("the downstream's own validation error comes back as its isError result", async () => {
    const r = await exec('get-sum', { a: 'two', b: 3 });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
    expect(textOf(r)).toContain('Invalid arguments for tool get-sum');
  });

  it('the policy filters and guards its tools', async () => {
    const r = await callTool(gw.client, 'get_server_tools', { agent_id: 'user', server: 'everything' });
    const listed = (r.structuredContent as { tools: Array<{ name: string; title?: string }> }).tools;
    const names = listed.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['echo', 'get-sum', 'get-tiny-image']));
    expect(names.every((n) => n === 'echo' || n.startsWith('get-'))).toBe(true);
    expect(names).not.toContain('get-env');
    expect(listed.find((t) => t.name === 'get-sum')?.title).toBe('Get Sum Tool');
    expect(failed(await exec('get-env'))).toEqual({
      code: 'DENIED_BY_POLICY',
      message: "Agent 'user' not authorized to call tool 'get-env' on server 'everything'",
      rule: 'agents.user.deny.tools.everything[0]',
      server: 'everything',
      tool: 'get-env',
    });
    expect(failed(await exec('trigger-long-running-operation'))).toMatchObject({
      code: 'DENIED_BY_POLICY',
      rule: 'agents.user.allow.tools.everything',
    });
  });
});

// ------------------------------------------------------------------------------------------
describe('server-memory and fake-db with the policy applied', () => {
  let gw: GatewayHandle;
  let memoryFile: string;
  let callLog: string;
  const exec = (agent: string, server: string, tool: string, args: Record<string, unknown> = {}) =>
    callTool(gw.client, 'execute_tool', { agent_id: agent, server, tool, args });
  const graph = async (agent: string) => {
    const r = await exec(agent, 'memory', 'read_graph');
    expect(r.isError).toBeFalsy();
    // server-memory answers with both forms: pretty JSON text and structuredContent.
    expect(JSON.parse(textOf(r))).toEqual(r.structuredContent);
    return r.structuredContent as { entities: Array<{ name: string; entityType: string; observations: string[] }> };
  };

  beforeAll(async () => {
    const dir = makeTmpDir('gw-tools-memory');
    memoryFile = join(dir, 'memory.jsonl');
    callLog = join(dir, 'calls.jsonl');
    gw = await start({
      mcpServers: {
        memory: { command: process.execPath, args: [SERVER_MEMORY], env: { MEMORY_FILE_PATH: memoryFile } },
        db: { command: process.execPath, args: [fixture('fake-db')], env: { FIXTURE_CALL_LOG: callLog } },
      },
      rules: {
        agents: {
          writer: { allow: { servers: ['memory'] } },
          reader: { allow: { servers: ['memory', 'db'], tools: { memory: ['read_graph'], db: ['query'] } } },
        },
      },
    });
  });

  it('create_entities then read_graph, through the gateway', async () => {
    const created = await exec('writer', 'memory', 'create_entities', {
      entities: [{ name: 'Alice', entityType: 'person', observations: ['likes tea'] }],
    });
    expect(created.isError).toBeFalsy();
    expect(created.structuredContent).toEqual({
      entities: [{ name: 'Alice', entityType: 'person', observations: ['likes tea'] }],
    });
    expect((await graph('writer')).entities).toEqual([{ name: 'Alice', entityType: 'person', observations: ['likes tea'] }]);
    expect((await graph('reader')).entities.map((e) => e.name)).toEqual(['Alice']);
    expect(readFileSync(memoryFile, 'utf8')).toContain('Alice');
  });

  it('an agent allowed only read_graph is refused create_entities, and nothing is written', async () => {
    expect(
      failed(
        await exec('reader', 'memory', 'create_entities', {
          entities: [{ name: 'Mallory', entityType: 'person', observations: ['sneaky'] }],
        }),
      ),
    ).toEqual({
      code: 'DENIED_BY_POLICY',
      message: "Agent 'reader' not authorized to call tool 'create_entities' on server 'memory'",
      rule: 'agents.reader.allow.tools.memory',
      server: 'memory',
      tool: 'create_entities',
    });
    expect((await graph('reader')).entities.map((e) => e.name)).toEqual(['Alice']);
    expect(existsSync(memoryFile) ? readFileSync(memoryFile, 'utf8') : '').not.toContain('Mallory');
    // And it only sees what it may call.
    const tools = await callTool(gw.client, 'get_server_tools', { agent_id: 'reader', server: 'memory' });
    expect(tools.structuredContent).toMatchObject({ total_available: 1, returned: 1, tools: [{ name: 'read_graph' }] });
  });

  it('a denied call never reaches the server (fake-db call log); agent_id never does either', async () => {
    expect(failed(await exec('reader', 'db', 'drop_table', { table: 'users' }))).toMatchObject({
      code: 'DENIED_BY_POLICY',
      rule: 'agents.reader.allow.tools.db',
    });
    expect(failed(await exec('writer', 'db', 'query', { sql: 'select secret' }))).toMatchObject({
      code: 'DENIED_BY_POLICY',
      message: "Agent 'writer' cannot access server 'db'",
    });
    // The reference's D.3-40 / D.6-60.
    expect(await exec('reader', 'db', 'query', { sql: 'select 1' })).toStrictEqual({
      content: [{ type: 'text', text: 'query:{"sql":"select 1"}' }],
    });
    const toolCalls = readJsonl(callLog).filter((r) => r.method === 'tools/call');
    expect(toolCalls.map((r) => [r.tool, r.args])).toEqual([['query', { sql: 'select 1' }]]);
  });

  it('30 concurrent calls from 3 agents each get their own answer (reference D.6-68)', async () => {
    const jobs = Array.from({ length: 30 }, (_, i) => {
      switch (i % 3) {
        case 0:
          return exec('reader', 'db', 'query', { sql: `q${i}` }).then((r) => [textOf(r), `query:{"sql":"q${i}"}`]);
        case 1:
          return exec('writer', 'memory', 'search_nodes', { query: `nothing-${i}` }).then((r) => [
            JSON.stringify((r.structuredContent as { entities: unknown[] }).entities),
            '[]',
          ]);
        default:
          return exec('writer', 'db', 'query', { sql: `w${i}` }).then((r) => [failed(r).message, "Agent 'writer' cannot access server 'db'"]);
      }
    });
    for (const [got, want] of await Promise.all(jobs)) expect(got).toBe(want);
    const logged = readJsonl(callLog)
      .filter((r) => r.method === 'tools/call')
      .map((r) => (r.args as { sql: string }).sql);
    expect(logged.filter((s) => s.startsWith('w'))).toEqual([]);
    expect(logged.filter((s) => s.startsWith('q')).sort()).toEqual(Array.from({ length: 10 }, (_, k) => `q${k * 3}`).sort());
  });
});
