// The downstream fixtures in tests/fixtures/servers, checked directly (no gateway): each one is
// started over real stdio and talked to with the SDK Client (or with a bare JSON-RPC peer when
// the test needs exit codes, process groups or raw stdout). If these fail, gateway e2e
// failures mean nothing.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ListToolsResultSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { callTool, readJsonl } from '../helpers/gateway.js';
import { fixture } from '../helpers/paths.js';
import { descendantsOf, isAlive, killPids, waitFor } from '../helpers/processes.js';
import { spawnRaw, type RawStdioPeer } from '../helpers/rawStdio.js';
import { makeTmpDir } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { textOf } from '../helpers/results.js';
import { loadGoldenSet } from '../helpers/searchQuality.js';

// Every process this file starts carries this marker in its environment (inherited by
// grandchildren), so afterAll can prove none is left.
const MARKER = `fixtures-test-${process.pid}-${Date.now()}`;
const BASE_ENV: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined) BASE_ENV[k] = v;
BASE_ENV.FIXTURE_TEST_MARKER = MARKER;
const env = (extra: Record<string, string> = {}) => ({ ...BASE_ENV, ...extra });

interface Conn {
  client: Client;
  pid: number;
  /** The last 64 KiB of stderr. */
  stderr: () => string;
  stderrBytes: () => number;
  exited: Promise<void>;
  close: () => Promise<void>;
}

const openClients: Client[] = [];
const rawPeers: RawStdioPeer[] = [];
const strayPids = new Set<number>();

interface ConnectOptions {
  env?: Record<string, string>;
  capabilities?: ClientCapabilities;
  timeoutMs?: number;
  /** Called after the Client is built and before connect (register request handlers here). */
  setup?: (client: Client) => void;
}

async function connect(name: string, opts: ConnectOptions = {}): Promise<Conn> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [fixture(name)],
    env: env(opts.env),
    stderr: 'pipe',
  });
  let stderrText = '';
  let stderrBytes = 0;
  transport.stderr?.on('data', (b: Buffer) => {
    stderrBytes += b.length;
    stderrText = (stderrText + b.toString('utf8')).slice(-64 * 1024); // keep the tail
  });
  let markExited!: () => void;
  const exited = new Promise<void>((r) => (markExited = r));
  transport.onclose = () => markExited();
  const client = new Client({ name: 'fixture-test', version: '1.0.0' }, { capabilities: opts.capabilities ?? {} });
  opts.setup?.(client);
  openClients.push(client);
  await client.connect(transport, { timeout: opts.timeoutMs ?? 15_000 });
  const pid = transport.pid;
  if (pid === null) throw new Error(`${name} exited during initialize`);
  return {
    client,
    pid,
    stderr: () => stderrText,
    stderrBytes: () => stderrBytes,
    exited,
    close: async () => {
      await client.close();
      await exited;
    },
  };
}

function raw(name: string, extraEnv: Record<string, string> = {}, detached = false): RawStdioPeer {
  const peer = spawnRaw(process.execPath, [fixture(name)], { env: env(extraEnv), detached });
  rawPeers.push(peer);
  return peer;
}

async function listAllTools(client: Client): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.request({ method: 'tools/list', params: cursor ? { cursor } : {} }, ListToolsResultSchema);
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

// Normal cleanup only: close clients (EOF), end raw peers' stdin, kill the orphans the
// spawner tests created on purpose. Anything still marked after that is a leak.
guardAgainstLeaks(MARKER, {
  close: async () => {
    await Promise.allSettled(openClients.map((c) => c.close()));
    for (const p of rawPeers) p.endStdin();
    await Promise.all(rawPeers.map((p) => p.exit));
    killPids(strayPids);
  },
  what: 'fixture processes left behind',
  markerVar: 'FIXTURE_TEST_MARKER',
});

// ------------------------------------------------------------------------------------------
describe('every serving fixture exits on stdin EOF (no signal needed)', () => {
  const serving = ['echo', 'crash-on-call', 'noisy', 'many-tools', 'paged', 'budget', 'fake-db', 'fake-search', 'printenv', 'spawner', 'todo', 'greeter'];
  for (const name of serving) {
    it(`${name}: initialize, then EOF -> exit code 0`, async () => {
      const peer = raw(name, { NOISY_STDERR_BYTES: '0' });
      const init = await peer.initialize();
      expect(init.result?.serverInfo).toBeDefined();
      if (name === 'spawner') {
        // its grandchildren survive the EOF on purpose; remember them for cleanup
        let tree: number[] = [];
        await waitFor(() => (tree = descendantsOf(peer.pid).map((p) => p.pid)).length >= 3);
        tree.forEach((pid) => strayPids.add(pid));
      }
      peer.endStdin();
      expect(await peer.exit).toEqual({ code: 0, signal: null });
    });
  }

  it('slow-start: never answers initialize, still exits on EOF', async () => {
    const peer = raw('slow-start');
    await expect(peer.initialize(300)).rejects.toThrow(/no response to initialize/);
    expect(isAlive(peer.pid)).toBe(true);
    peer.endStdin();
    expect(await peer.exit).toEqual({ code: 0, signal: null });
  });
});

// ------------------------------------------------------------------------------------------
describe('echo.mjs', () => {
  it('lists every tool with the promised metadata; serverInfo name from ECHO_SERVER_NAME', async () => {
    const c = await connect('echo');
    expect(c.client.getServerVersion()?.name).toBe('echo');
    const tools = await listAllTools(c.client);
    const names = tools.map((t) => t.name);
    for (const n of [
      'echo',
      'add',
      'fail',
      'image',
      'structured',
      'annotated',
      'env',
      'pid',
      'progress',
      'slow',
      'cancelled_count',
      'echo_args',
      'elicit',
      'sample',
      'roots',
    ]) {
      expect(names).toContain(n);
    }
    const annotated = tools.find((t) => t.name === 'annotated')!;
    expect(annotated.title).toBeTruthy();
    expect(annotated.annotations).toMatchObject({ readOnlyHint: true, title: 'Annotated' });
    const structured = tools.find((t) => t.name === 'structured')!;
    expect(structured.outputSchema).toMatchObject({
      type: 'object',
      properties: { temperature: { type: 'number' }, city: { type: 'string' } },
    });
    await c.close();

    const named = await connect('echo', { env: { ECHO_SERVER_NAME: 'echo-two' } });
    expect(named.client.getServerVersion()?.name).toBe('echo-two');
    await named.close();
  });

  it('echo, add, env, pid, echo_args', async () => {
    const c = await connect('echo', { env: { FIXTURE_SECRET_VALUE: 's3cret' } });
    expect(textOf(await callTool(c.client, 'echo', { message: 'héllo' }))).toBe('héllo');
    expect(textOf(await callTool(c.client, 'add', { a: 2, b: 40.5 }))).toBe('42.5');
    expect(textOf(await callTool(c.client, 'env', { name: 'FIXTURE_SECRET_VALUE' }))).toBe('s3cret');
    expect(textOf(await callTool(c.client, 'env', { name: 'FIXTURE_DEFINITELY_UNSET' }))).toBe('<unset>');
    expect(textOf(await callTool(c.client, 'pid'))).toBe(String(c.pid));
    const args = { agent_id: 'researcher', sql: 'x', nested: { list: [1, 'two', null] } };
    expect(JSON.parse(textOf(await callTool(c.client, 'echo_args', args)))).toEqual(args);
    expect(JSON.parse(textOf(await callTool(c.client, 'echo_args', {})))).toEqual({});
    await c.close();
  });

  it('fail returns isError with text and structuredContent {reason}', async () => {
    const c = await connect('echo');
    const def = await callTool(c.client, 'fail');
    expect(def).toEqual({ content: [{ type: 'text', text: 'boom' }], isError: true, structuredContent: { reason: 'boom' } });
    const custom = await callTool(c.client, 'fail', { message: 'custom failure' });
    expect(custom.isError).toBe(true);
    expect(textOf(custom)).toBe('custom failure');
    expect(custom.structuredContent).toEqual({ reason: 'custom failure' });
    await c.close();
  });

  it('image returns a valid PNG, a WAV, a resource_link and an embedded resource', async () => {
    const c = await connect('echo');
    const r = await callTool(c.client, 'image');
    expect(r.content.map((b) => b.type)).toEqual(['image', 'audio', 'resource_link', 'resource']);
    const [img, audio, link, res] = r.content as Array<Record<string, unknown>>;
    expect(img!.mimeType).toBe('image/png');
    const png = Buffer.from(img!.data as string, 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(1);
    expect(audio!.mimeType).toBe('audio/wav');
    const wav = Buffer.from(audio!.data as string, 'base64');
    expect(wav.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(wav.subarray(8, 12).toString('ascii')).toBe('WAVE');
    expect(link).toMatchObject({ type: 'resource_link', uri: expect.any(String), name: expect.any(String) });
    expect(res).toMatchObject({ type: 'resource', resource: { uri: expect.any(String), text: 'embedded note' } });
    await c.close();
  });

  it('structured returns structuredContent that passes the SDK client output-schema check', async () => {
    const c = await connect('echo');
    await c.client.listTools(); // lets callTool() learn the outputSchema
    const r = await c.client.callTool({ name: 'structured', arguments: { city: 'Oslo' } });
    expect(r.structuredContent).toEqual({ temperature: 21.5, city: 'Oslo' });
    expect(JSON.parse(textOf(r))).toEqual({ temperature: 21.5, city: 'Oslo' });
    await c.close();
  });

  it("progress sends one notification per step, under the caller's token, before the answer", async () => {
    // Exact wire order via a bare peer (string token, as Claude Code may send).
    const peer = raw('echo');
    await peer.initialize();
    const r = await peer.request('tools/call', {
      name: 'progress',
      arguments: { steps: 4, delayMs: 5 },
      _meta: { progressToken: 'tok-1' },
    });
    expect(r.result).toMatchObject({ content: [{ type: 'text', text: 'done' }] });
    const progress = peer.messages.filter((m) => (m as { method?: string }).method === 'notifications/progress');
    expect(progress.map((m) => (m as { params: unknown }).params)).toEqual(
      [1, 2, 3, 4].map((i) => ({ progressToken: 'tok-1', progress: i, total: 4, message: `step ${i}/4` })),
    );
    expect(peer.messages.indexOf(progress[3]!)).toBeLessThan(peer.messages.indexOf(r));
    // No token: no notifications, defaults (3 steps), just "done".
    const before = peer.messages.length;
    const plain = await peer.request('tools/call', { name: 'progress', arguments: {} });
    expect(plain.result).toMatchObject({ content: [{ type: 'text', text: 'done' }] });
    expect(peer.messages.slice(before)).toEqual([plain]);
    peer.endStdin();
    await peer.exit;

    // And the SDK client's onprogress sees them.
    const c = await connect('echo');
    const seen: number[] = [];
    const res = await callTool(c.client, 'progress', { steps: 3, delayMs: 20 }, { onprogress: (p) => seen.push(p.progress) });
    expect(textOf(res)).toBe('done');
    expect(seen).toEqual([1, 2, 3]);
    await c.close();
  });

  it('slow sleeps, and a cancelled slow call is counted', async () => {
    const c = await connect('echo');
    expect(textOf(await callTool(c.client, 'slow', { ms: 10 }))).toBe('slept 10');
    const stats = async () => (await callTool(c.client, 'cancelled_count')).structuredContent as Record<string, number>;
    expect(await stats()).toEqual({ started: 1, completed: 1, cancelled: 0 });

    const ac = new AbortController();
    const pending = callTool(c.client, 'slow', { ms: 60_000 }, { signal: ac.signal });
    pending.catch(() => {});
    await waitFor(async () => (await stats()).started === 2, { message: 'second slow call never started' });
    ac.abort('test cancels');
    await expect(pending).rejects.toThrow();
    await waitFor(async () => textOf(await callTool(c.client, 'cancelled_count')) === '1', {
      message: 'the fixture never saw notifications/cancelled',
    });
    expect(await stats()).toEqual({ started: 2, completed: 1, cancelled: 1 });
    await c.close();
  });

  it('elicit, sample and roots go to the client and come back', async () => {
    const c = await connect('echo', {
      capabilities: { elicitation: {}, sampling: {}, roots: { listChanged: true } },
      setup: (client) => {
        client.setRequestHandler(ElicitRequestSchema, async (req) => {
          expect(req.params.message).toBe('Need input');
          return { action: 'accept', content: { answer: '42' } };
        });
        client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
          expect(req.params.maxTokens).toBe(10);
          return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled text' } };
        });
        client.setRequestHandler(ListRootsRequestSchema, async () => ({
          roots: [{ uri: 'file:///tmp/project', name: 'project' }],
        }));
      },
    });
    expect(textOf(await callTool(c.client, 'elicit'))).toBe('42');
    expect(textOf(await callTool(c.client, 'sample'))).toBe('sampled text');
    expect(JSON.parse(textOf(await callTool(c.client, 'roots')))).toEqual([{ uri: 'file:///tmp/project', name: 'project' }]);
    await c.close();
  });

  it('elicit without the client capability is an isError result', async () => {
    const c = await connect('echo');
    const r = await callTool(c.client, 'elicit');
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/elicitation/i);
    await c.close();
  });

  it('FIXTURE_CALL_LOG records each call with its arguments', async () => {
    const log = join(makeTmpDir('fixture-log'), 'calls.jsonl');
    const c = await connect('echo', { env: { FIXTURE_CALL_LOG: log } });
    await callTool(c.client, 'echo', { message: 'logged' });
    await c.close();
    expect(readJsonl(log)).toEqual([{ fixture: 'echo', pid: c.pid, method: 'tools/call', tool: 'echo', args: { message: 'logged' } }]);
  });
});

// ------------------------------------------------------------------------------------------
describe('todo.mjs and greeter.mjs (the SignalWire examples)', () => {
  it('todo keeps its list in its process: add, list, complete, a missing id is isError; a second process starts empty', async () => {
    const c = await connect('todo');
    expect((await c.client.listTools()).tools.map((t) => t.name)).toEqual(['add_todo', 'list_todos', 'complete_todo', 'pid']);
    expect(textOf(await callTool(c.client, 'list_todos'))).toBe('No all todos found');
    expect(textOf(await callTool(c.client, 'add_todo', { text: 'milk', priority: 'high' }))).toBe('Added todo #1: milk (priority: high)');
    expect(textOf(await callTool(c.client, 'add_todo', { text: 'eggs' }))).toBe('Added todo #2: eggs (priority: medium)');
    expect(textOf(await callTool(c.client, 'complete_todo', { id: 1 }))).toBe('Completed todo #1: milk');
    expect(textOf(await callTool(c.client, 'list_todos'))).toBe('Todo List (all):\n✓ #1 [high] milk\n○ #2 [medium] eggs');
    expect(textOf(await callTool(c.client, 'list_todos', { status: 'pending' }))).toBe('Todo List (pending):\n○ #2 [medium] eggs');
    const missing = await callTool(c.client, 'complete_todo', { id: 99 });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toBe('Todo #99 not found');
    expect(textOf(await callTool(c.client, 'pid'))).toBe(String(c.pid));
    const other = await connect('todo');
    expect(textOf(await callTool(other.client, 'list_todos'))).toBe('No all todos found');
    await Promise.all([c.close(), other.close()]);
  });

  it('greeter greets by name, World by default', async () => {
    const c = await connect('greeter');
    expect(textOf(await callTool(c.client, 'greet', { name: 'Ada' }))).toBe('Hello, Ada!');
    expect(textOf(await callTool(c.client, 'greet'))).toBe('Hello, World!');
    await c.close();
  });
});

// ------------------------------------------------------------------------------------------
describe('slow-start.mjs', () => {
  it('never completes initialize', async () => {
    await expect(connect('slow-start', { timeoutMs: 300 })).rejects.toThrow(/timed out/i);
  });

  it('with SLOW_START_MS it answers after the delay', async () => {
    const t0 = Date.now();
    const c = await connect('slow-start', { env: { SLOW_START_MS: '200' } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(textOf(await callTool(c.client, 'ping_me'))).toBe('pong');
    await c.close();
  });
});

// ------------------------------------------------------------------------------------------
describe('never-starts.mjs', () => {
  it('exits with code 3 and a fatal line on stderr', async () => {
    const peer = raw('never-starts');
    expect(await peer.exit).toEqual({ code: 3, signal: null });
    expect(peer.stderr()).toBe('fatal: cannot start (fixture)\n');
  });

  it('an SDK client cannot connect', async () => {
    await expect(connect('never-starts')).rejects.toThrow();
  });
});

// ------------------------------------------------------------------------------------------
describe('crash-on-call.mjs', () => {
  it('answers two calls, then dies on the third without answering', async () => {
    const c = await connect('crash-on-call');
    expect(textOf(await callTool(c.client, 'ok'))).toBe('ok');
    expect(textOf(await callTool(c.client, 'hello'))).toBe(`hello from ${c.pid}`);
    await expect(callTool(c.client, 'ok')).rejects.toThrow(/closed/i);
    await c.exited;
    expect(isAlive(c.pid)).toBe(false);
    expect(c.stderr()).toContain('crashing on call 3');
  });

  it('exit code 42 on the CRASH_ON_CALL-th call, no response sent', async () => {
    const peer = raw('crash-on-call', { CRASH_ON_CALL: '1' });
    await peer.initialize();
    await expect(peer.request('tools/call', { name: 'hello', arguments: {} })).rejects.toThrow(/exited \(code 42/);
    expect(await peer.exit).toEqual({ code: 42, signal: null });
    expect(peer.stderr()).toContain('crashing on call 1');
    expect(peer.messages).toHaveLength(1); // only the initialize answer
  });

  it('crash_now exits 42 at once; CRASH_SIGNAL makes it die by signal', async () => {
    const peer = raw('crash-on-call');
    await peer.initialize();
    await expect(peer.request('tools/call', { name: 'crash_now', arguments: {} })).rejects.toThrow(/exited/);
    expect(await peer.exit).toEqual({ code: 42, signal: null });

    const killed = raw('crash-on-call', { CRASH_SIGNAL: 'SIGKILL' });
    await killed.initialize();
    await expect(killed.request('tools/call', { name: 'crash_now', arguments: {} })).rejects.toThrow(/exited/);
    expect(await killed.exit).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

// ------------------------------------------------------------------------------------------
describe('noisy.mjs', () => {
  it('answers correctly through stdout garbage and a 2 MiB stderr flood', async () => {
    const parseErrors: Error[] = [];
    const c = await connect('noisy', { setup: (client) => (client.onerror = (e) => parseErrors.push(e)) });
    for (let i = 0; i < 20; i++) {
      expect(textOf(await callTool(c.client, 'echo', { message: `m${i}` }))).toBe(`m${i}`);
    }
    await waitFor(
      async () => {
        const s = (await callTool(c.client, 'noise_stats')).structuredContent as { floodDone: boolean };
        return s.floodDone;
      },
      { message: 'stderr flood never finished' },
    );
    await waitFor(() => c.stderrBytes() >= 2 * 1024 * 1024, { message: 'flood did not arrive on stderr' });
    await waitFor(() => c.stderr().includes('noisy stderr line'), { message: 'no periodic stderr line' });
    expect(parseErrors.length).toBeGreaterThan(0); // the garbage really was on stdout
    await c.close();
  });

  it('garbage lines are on stdout before and between answers', async () => {
    const peer = raw('noisy', { NOISY_STDERR_BYTES: '65536' });
    await peer.initialize();
    const r = await peer.request('tools/call', { name: 'echo', arguments: { message: 'x' } });
    expect(r.result).toMatchObject({ content: [{ type: 'text', text: 'x' }] });
    expect(peer.nonJsonLines).toContain('hello from noisy stdout (start)');
    expect(peer.nonJsonLines).toContain('hello from noisy stdout (before answer)');
    expect(peer.messages).toContainEqual({ noise: true, note: 'valid JSON, not JSON-RPC', tag: 'start' });
    peer.endStdin();
    expect((await peer.exit).code).toBe(0);
  });
});

// ------------------------------------------------------------------------------------------
describe('spawner.mjs', () => {
  it('has two grandchildren that outlive it on EOF (orphans), reported by children()', async () => {
    const c = await connect('spawner');
    const info = JSON.parse(textOf(await callTool(c.client, 'children'))) as { pid: number; children: number[] };
    expect(info.pid).toBe(c.pid);
    expect(info.children).toHaveLength(2);
    info.children.forEach((p) => strayPids.add(p));
    let tree: number[] = [];
    await waitFor(
      () => {
        const d = descendantsOf(c.pid);
        tree = d.map((p) => p.pid);
        return d.some((p) => p.cmd === 'sleep 1000') && d.some((p) => p.cmd === 'sleep 1001');
      },
      { message: 'grandchildren sleep 1000 / sleep 1001 not found' },
    );
    tree.forEach((p) => strayPids.add(p));
    await c.close();
    expect(isAlive(c.pid)).toBe(false);
    expect(tree.every(isAlive)).toBe(true); // orphaned on purpose
    killPids(tree);
    await waitFor(() => !tree.some(isAlive), { message: 'orphans did not die on SIGKILL' });
  });

  it('a process-group kill removes it and every grandchild', async () => {
    const peer = raw('spawner', {}, true);
    await peer.initialize();
    let tree: number[] = [];
    await waitFor(() => {
      tree = descendantsOf(peer.pid).map((p) => p.pid);
      return tree.length >= 3; // sleep 1000, sh, sleep 1001
    });
    tree.forEach((p) => strayPids.add(p));
    peer.killGroup('SIGTERM');
    await peer.exit;
    await waitFor(() => !tree.some(isAlive), { message: 'group kill left grandchildren' });
  });

  it('SPAWNER_STUBBORN=1 ignores SIGTERM; SIGKILL on the group still works', async () => {
    const peer = raw('spawner', { SPAWNER_STUBBORN: '1' }, true);
    await peer.initialize();
    let tree: number[] = [];
    await waitFor(() => {
      tree = descendantsOf(peer.pid).map((p) => p.pid);
      return tree.length >= 3;
    });
    tree.forEach((p) => strayPids.add(p));
    peer.endStdin();
    process.kill(peer.pid, 'SIGTERM');
    await waitFor(() => peer.stderr().includes('ignoring SIGTERM'));
    expect(isAlive(peer.pid)).toBe(true);
    peer.killGroup('SIGKILL');
    expect((await peer.exit).signal).toBe('SIGKILL');
    await waitFor(() => !tree.some(isAlive), { message: 'SIGKILL on the group left grandchildren' });
  });
});

// ------------------------------------------------------------------------------------------
describe('many-tools.mjs', () => {
  it('lists 500 varied tools in one page; each answers with its name', async () => {
    const c = await connect('many-tools');
    const page = await c.client.request({ method: 'tools/list', params: {} }, ListToolsResultSchema);
    expect(page.nextCursor).toBeUndefined();
    expect(page.tools).toHaveLength(500);
    expect(page.tools.map((t) => t.name)).toEqual(Array.from({ length: 500 }, (_, i) => `tool_${String(i).padStart(3, '0')}`));
    expect(new Set(page.tools.map((t) => t.description)).size).toBe(500);
    expect(page.tools.filter((t) => (t.description ?? '').length > 1000).length).toBeGreaterThanOrEqual(10);
    expect(new Set(page.tools.map((t) => JSON.stringify(t.inputSchema))).size).toBeGreaterThanOrEqual(5);
    expect(textOf(await callTool(c.client, 'tool_123', { id: 'x' }))).toBe('tool_123');
    expect(textOf(await callTool(c.client, 'tool_499'))).toBe('tool_499');
    expect((await callTool(c.client, 'tool_500')).isError).toBe(true);
    await c.close();
  });
});

// ------------------------------------------------------------------------------------------
describe('toolsets.mjs', () => {
  it('serves each golden toolset exactly as its file holds it; a call answers server/tool', async () => {
    for (const set of loadGoldenSet().toolsets) {
      const c = await connect('toolsets', { env: { TOOLSET: set.server } });
      const tools = await listAllTools(c.client);
      expect(tools.map((t) => t.name)).toEqual(set.tools.map((t) => t.name));
      expect(tools.map((t) => [t.description, t.inputSchema])).toEqual(set.tools.map((t) => [t.description, t.inputSchema]));
      const first = set.tools[0]!.name;
      expect(textOf(await callTool(c.client, first))).toBe(`${set.server}/${first}`);
      expect((await callTool(c.client, 'no_such_tool')).isError).toBe(true);
      await c.close();
    }
  });

  it('refuses a toolset that does not exist: exit code 2 before initialize', async () => {
    const peer = raw('toolsets', { TOOLSET: 'queries' });
    expect(await peer.exit).toEqual({ code: 2, signal: null });
  });
});

// ------------------------------------------------------------------------------------------
describe('paged.mjs', () => {
  it('needs two pages; mutate adds delta and sends tools/list_changed', async () => {
    const log = join(makeTmpDir('fixture-log'), 'calls.jsonl');
    let changed = 0;
    const c = await connect('paged', {
      env: { FIXTURE_CALL_LOG: log },
      setup: (client) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++),
    });
    expect(c.client.getServerCapabilities()?.tools?.listChanged).toBe(true);

    const p1 = await c.client.request({ method: 'tools/list', params: {} }, ListToolsResultSchema);
    expect(p1.tools.map((t) => t.name)).toEqual(['alpha', 'beta']);
    expect(p1.nextCursor).toBe('page2');
    const p2 = await c.client.request({ method: 'tools/list', params: { cursor: 'page2' } }, ListToolsResultSchema);
    expect(p2.tools.map((t) => t.name)).toEqual(['gamma', 'mutate']);
    expect(p2.nextCursor).toBeUndefined();
    await expect(c.client.request({ method: 'tools/list', params: { cursor: 'bogus' } }, ListToolsResultSchema)).rejects.toMatchObject({ code: -32602 });

    expect(textOf(await callTool(c.client, 'gamma'))).toBe('gamma');
    expect((await callTool(c.client, 'delta')).isError).toBe(true);
    expect(textOf(await callTool(c.client, 'mutate'))).toBe('mutated');
    await waitFor(() => changed === 1, { message: 'no notifications/tools/list_changed' });
    expect((await listAllTools(c.client)).map((t) => t.name)).toEqual(['alpha', 'beta', 'gamma', 'mutate', 'delta']);
    expect(textOf(await callTool(c.client, 'delta'))).toBe('delta');
    await c.close();

    const lists = readJsonl(log).filter((r) => r.method === 'tools/list');
    expect(lists.map((r) => r.cursor)).toEqual([null, 'page2', 'bogus', null, 'page2']);
  });
});

// ------------------------------------------------------------------------------------------
describe('budget.mjs', () => {
  const estimate = (t: unknown) => Math.ceil(JSON.stringify(t).length / 4);
  const obj = (prop: string, type: string) => ({ type: 'object', properties: { [prop]: { type } } });
  const EXPECTED = [
    { name: 'get_user', description: 'Get user by ID', inputSchema: obj('id', 'string') },
    { name: 'get_users', description: 'List all users', inputSchema: obj('limit', 'integer') },
    { name: 'create_user', description: 'Create a new user', inputSchema: obj('name', 'string') },
    { name: 'delete_user', description: 'Delete a user', inputSchema: obj('id', 'string') },
    { name: 'update_user', description: 'Update user details', inputSchema: obj('id', 'string') },
  ];

  it('serves exactly the five reference tools (estimates 30, 32, 32, 31, 32)', async () => {
    const c = await connect('budget');
    const page = await c.client.request({ method: 'tools/list', params: {} }, ListToolsResultSchema);
    expect(page.tools).toStrictEqual(EXPECTED);
    expect(page.tools.map(estimate)).toEqual([30, 32, 32, 31, 32]);
    expect(textOf(await callTool(c.client, 'get_user', { id: '7' }))).toBe('get_user:{"id":"7"}');
    await c.close();
  });

  it('BUDGET_BIG_FIRST=1 puts a 400-character `big` tool first (estimate 120)', async () => {
    const c = await connect('budget', { env: { BUDGET_BIG_FIRST: '1' } });
    const { tools } = await c.client.request({ method: 'tools/list', params: {} }, ListToolsResultSchema);
    expect(tools.map((t) => t.name)).toEqual(['big', ...EXPECTED.map((t) => t.name)]);
    expect(tools[0]!.description).toHaveLength(400);
    expect(estimate(tools[0])).toBe(120);
    expect(tools.slice(1)).toStrictEqual(EXPECTED);
    await c.close();
  });
});

// ------------------------------------------------------------------------------------------
describe('fake-db.mjs and fake-search.mjs', () => {
  it('fake-db: five tools in order, echoes arguments exactly, logs calls', async () => {
    const log = join(makeTmpDir('fixture-log'), 'calls.jsonl');
    const c = await connect('fake-db', { env: { FIXTURE_CALL_LOG: log } });
    const tools = await listAllTools(c.client);
    expect(tools.map((t) => t.name)).toEqual(['query', 'list_tables', 'drop_table', 'delete_user', 'get_user']);
    expect(await callTool(c.client, 'query', { sql: 'x' })).toEqual({
      content: [{ type: 'text', text: 'query:{"sql":"x"}' }],
    });
    expect(textOf(await callTool(c.client, 'list_tables'))).toBe('list_tables:{}');
    const unknown = await callTool(c.client, 'nonexistent');
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toBe('Unknown tool: nonexistent');
    await c.close();
    expect(
      readJsonl(log)
        .filter((r) => r.method === 'tools/call')
        .map((r) => [r.tool, r.args]),
    ).toEqual([
      ['query', { sql: 'x' }],
      ['list_tables', {}],
      ['nonexistent', {}],
    ]);
  });

  it('fake-db with FAKE_DB_EXTRA_TOOLS=1 adds slow and fail', async () => {
    const c = await connect('fake-db', { env: { FAKE_DB_EXTRA_TOOLS: '1', FAKE_DB_SLOW_MS: '20' } });
    expect((await listAllTools(c.client)).map((t) => t.name).slice(5)).toEqual(['slow', 'fail']);
    expect(textOf(await callTool(c.client, 'slow'))).toBe('slow:{}');
    expect(await callTool(c.client, 'fail')).toEqual({ content: [{ type: 'text', text: 'boom' }], isError: true });
    await c.close();
  });

  it('fake-search: web_search and local_search', async () => {
    const c = await connect('fake-search');
    expect((await listAllTools(c.client)).map((t) => t.name)).toEqual(['web_search', 'local_search']);
    expect(textOf(await callTool(c.client, 'web_search', { query: 'q' }))).toBe('web_search:{"query":"q"}');
    await c.close();
  });
});

// ------------------------------------------------------------------------------------------
describe('printenv.mjs', () => {
  it('env() returns the whole environment; cwd() the working directory', async () => {
    const c = await connect('printenv', { env: { FIXTURE_PRINTENV_PROBE: 'probe-value' } });
    const r = await callTool(c.client, 'env');
    const shown = JSON.parse(textOf(r)) as Record<string, string>;
    expect(shown.FIXTURE_PRINTENV_PROBE).toBe('probe-value');
    expect(shown.FIXTURE_TEST_MARKER).toBe(MARKER);
    expect(r.structuredContent).toEqual({ env: shown });
    expect(textOf(await callTool(c.client, 'cwd'))).toBe(process.cwd());
    await c.close();
  });
});
