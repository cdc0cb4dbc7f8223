// DownstreamConnection against real stdio servers: server-everything, server-memory and the
// fixtures in tests/fixtures/servers.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ProtocolError, type CallToolResult } from '@modelcontextprotocol/server';
import { isAbortError } from '../../src/downstream/abort.js';
import { memoryEcho } from '../helpers/memoryDownstream.js';
import { SERVER_EVERYTHING, SERVER_MEMORY } from '../helpers/paths.js';
import { isAlive, waitFor } from '../helpers/processes.js';
import {
  callLog,
  closeTracked,
  connectedAs,
  connection,
  recordingLogger,
  expectGatewayError,
  rejection,
  expectNoLeftovers,
  fixtureSpec,
  stdioSpec,
  textOf,
} from '../helpers/downstream.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };
const tmp = mkdtempSync(join(tmpdir(), 'amg-downstream-'));

afterEach(closeTracked);
afterAll(async () => {
  await expectNoLeftovers();
  rmSync(tmp, { recursive: true, force: true });
});

describe('server-everything', () => {
  it('lists tools with every field as the server sent it, and forwards calls untouched', async () => {
    const { logger, records } = recordingLogger();
    const c = connection(stdioSpec('everything', [SERVER_EVERYTHING]), { logger });
    expect(c.state).toBe('idle');
    const tools = await c.listTools();
    expect(c.state).toBe('ready');
    expect(c.pid).toBeTypeOf('number');
    expect(connectedAs(records, 'everything')).toBe('mcp-servers/everything');
    const sum = tools.find((t) => t.name === 'get-sum');
    expect(sum).toMatchObject({
      title: 'Get Sum Tool',
      annotations: { readOnlyHint: true },
      execution: { taskSupport: 'forbidden' },
    });
    // The JSON Schema keeps keys the SDK's Tool schema knows nothing about.
    expect(sum?.inputSchema).toHaveProperty('$schema');

    const echo = await c.callTool('echo', { message: 'hi' }, CALL);
    expect(echo).toEqual({ content: [{ type: 'text', text: 'Echo: hi' }] });

    const image = (await c.callTool('get-tiny-image', {}, CALL)) as CallToolResult;
    expect(image.content.some((b) => b.type === 'image' && b.mimeType === 'image/png' && b.data.length > 0)).toBe(true);
  });

  it('relays progress and resets the timeout on it', async () => {
    const c = connection(stdioSpec('everything', [SERVER_EVERYTHING]));
    const progress: unknown[] = [];
    // 1.5 s in 3 steps of 0.5 s with a 1 s idle timeout: only progress keeps it alive.
    const result = await c.callTool(
      'trigger-long-running-operation',
      { duration: 1.5, steps: 3 },
      { timeoutMs: 1_000, maxTotalTimeoutMs: 10_000, onprogress: (p) => progress.push(p) },
    );
    expect(textOf(result)).toContain('Long running operation completed');
    // All three: the last one arrives right before the result, often in the same chunk.
    expect(progress).toEqual([
      { progress: 1, total: 3 },
      { progress: 2, total: 3 },
      { progress: 3, total: 3 },
    ]);
  });

  it('refuses server-to-client requests without a handler, and forwards them to one', async () => {
    const bare = connection(stdioSpec('everything', [SERVER_EVERYTHING]));
    const refused = await bare.callTool('trigger-sampling-request', { prompt: 'hi', maxTokens: 5 }, CALL);
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain('sampling/createMessage is not supported by the gateway client');

    const seen: { server: string; method: string }[] = [];
    const served = connection(stdioSpec('everything2', [SERVER_EVERYTHING]), {
      onServerRequest: async (server, request) => {
        seen.push({ server, method: request.method });
        if (request.method === 'roots/list') return { roots: [{ uri: 'file:///tmp', name: 'tmp' }] };
        return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled!' } };
      },
    });
    const sampled = await served.callTool('trigger-sampling-request', { prompt: 'hi', maxTokens: 5 }, CALL);
    expect(sampled.isError).toBeFalsy();
    expect(JSON.stringify(sampled.content)).toContain('sampled!');
    expect(seen).toContainEqual({ server: 'everything2', method: 'sampling/createMessage' });
  });

  it('passes log messages to onLog and other notifications to onNotification, with the server name', async () => {
    const seen: { server: string; method: string }[] = [];
    const logs: { server: string; level: string }[] = [];
    const c = connection(stdioSpec('everything', [SERVER_EVERYTHING]), {
      onNotification: (server, n) => seen.push({ server, method: n.method }),
      onLog: (server, params) => logs.push({ server, level: params.level }),
    });
    await c.callTool('toggle-simulated-logging', {}, CALL);
    await waitFor(() => logs.length > 0);
    expect(logs.every((l) => l.server === 'everything')).toBe(true);
    expect(seen.every((n) => n.server === 'everything')).toBe(true);
    // Logging, progress and list_changed have their own routes and never show up here.
    expect(seen.map((n) => n.method)).not.toEqual(expect.arrayContaining([expect.stringMatching(/^notifications\/(message|progress|tools\/list_changed)$/)]));
  });
});

describe('server-memory', () => {
  it('works with MEMORY_FILE_PATH and keeps outputSchema and structuredContent', async () => {
    const file = join(tmp, 'memory.jsonl');
    const c = connection(stdioSpec('memory', [SERVER_MEMORY], { env: { MEMORY_FILE_PATH: file } }));
    const tools = await c.listTools();
    expect(tools.find((t) => t.name === 'read_graph')?.outputSchema).toBeDefined();
    await c.callTool('create_entities', { entities: [{ name: 'gateway', entityType: 'project', observations: ['written in TypeScript'] }] }, CALL);
    const graph = await c.callTool('read_graph', {}, CALL);
    expect(graph.structuredContent).toMatchObject({ entities: [{ name: 'gateway' }] });
    expect(readFileSync(file, 'utf8')).toContain('gateway');
  });
});

describe('fixtures', () => {
  it('follows nextCursor pages and refreshes the cache on list_changed', async () => {
    const log = join(tmp, 'paged-calls.jsonl');
    writeFileSync(log, '');
    const changed: string[] = [];
    const c = connection(fixtureSpec('paged', 'paged', { env: { FIXTURE_CALL_LOG: log } }), {
      onToolsChanged: (server) => changed.push(server),
    });
    const first = await c.listTools();
    expect(first.map((t) => t.name)).toEqual(['alpha', 'beta', 'gamma', 'mutate']);
    expect(await c.listTools()).toBe(first); // cached: same array, no new request
    expect(c.cachedToolCount).toBe(4);
    const listCalls = (): number =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"tools/list"')).length;
    expect(listCalls()).toBe(2);

    await c.callTool('mutate', {}, CALL);
    await waitFor(() => changed.length === 1);
    expect(changed).toEqual(['paged']);
    const second = await c.listTools();
    expect(second.map((t) => t.name)).toEqual(['alpha', 'beta', 'gamma', 'mutate', 'delta']);
    expect(listCalls()).toBe(4);
  });

  it('forwards elicitation and roots/list to onServerRequest, with a signal', async () => {
    const signals: AbortSignal[] = [];
    const c = connection(fixtureSpec('echo', 'echo'), {
      onServerRequest: async (_server, request, extra) => {
        signals.push(extra.signal);
        if (request.method === 'elicitation/create') {
          expect(request.params).toMatchObject({ message: 'Need input' });
          return { action: 'accept', content: { answer: '42' } };
        }
        return { roots: [{ uri: 'file:///work', name: 'work' }] };
      },
    });
    expect(textOf(await c.callTool('elicit', {}, CALL))).toBe('42');
    expect(JSON.parse(textOf(await c.callTool('roots', {}, CALL)))).toEqual([{ uri: 'file:///work', name: 'work' }]);
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s instanceof AbortSignal)).toBe(true);
  });

  it('returns an isError result untouched', async () => {
    const c = connection(fixtureSpec('echo', 'echo'));
    const result = await c.callTool('fail', { message: 'nope' }, CALL);
    expect(result).toEqual({ content: [{ type: 'text', text: 'nope' }], isError: true, structuredContent: { reason: 'nope' } });
  });

  it('times out with TIMEOUT and cancels the downstream request', async () => {
    const c = connection(stdioSpec('echo', []), { transportFactory: memoryEcho().transportFactory });
    // Started first: the bound below is about the call, not a spawn on a loaded machine.
    await c.connect();
    const started = Date.now();
    const err = await rejection(c.callTool('slow', { ms: 5_000 }, { timeoutMs: 200, maxTotalTimeoutMs: 60_000 }));
    const gerr = expectGatewayError(err, 'TIMEOUT');
    expect(gerr.message).toBe('Tool execution timed out after 200ms');
    expect(gerr.details).toEqual({ server: 'echo', tool: 'slow' });
    // Well under the 5 s the call would take: the 200 ms timeout ended it.
    expect(Date.now() - started).toBeLessThan(4_000);
    await waitFor(async () => textOf(await c.callTool('cancelled_count', {}, CALL)) === '1');
    expect(c.state).toBe('ready');
  });

  it('enforces the hard maximum even while progress keeps coming', async () => {
    const c = connection(fixtureSpec('echo', 'echo'));
    const progress: unknown[] = [];
    const err = await rejection(
      c.callTool('progress', { steps: 100, delayMs: 50 }, { timeoutMs: 300, maxTotalTimeoutMs: 600, onprogress: (p) => progress.push(p) }),
    );
    expect(expectGatewayError(err, 'TIMEOUT').message).toBe('Tool execution exceeded the maximum of 600ms');
    expect(progress.length).toBeGreaterThan(3);
  });

  it("rejects with an AbortError on the caller's abort and cancels downstream", async () => {
    const echo = memoryEcho();
    const c = connection(stdioSpec('echo', []), { transportFactory: echo.transportFactory });
    await c.connect();
    const abort = new AbortController();
    const call = c.callTool('slow', { ms: 5_000 }, { ...CALL, signal: abort.signal });
    await waitFor(() => echo.reached('slow'));
    abort.abort('user cancelled');
    const err = await rejection(call);
    expect(isAbortError(err)).toBe(true);
    await waitFor(async () => textOf(await c.callTool('cancelled_count', {}, CALL)) === '1');

    // Already aborted: fails before anything is sent.
    expect(isAbortError(await rejection(c.callTool('echo', { message: 'x' }, { ...CALL, signal: abort.signal })))).toBe(true);
  });

  it('fails a call in flight at once when the server crashes, then restarts on the next call', async () => {
    const c = connection(fixtureSpec('crash', 'crash-on-call', { env: { CRASH_ON_CALL: '2' } }));
    expect(textOf(await c.callTool('hello', {}, CALL))).toContain('hello from');
    const firstPid = c.pid;
    const started = Date.now();
    // A long timeout: the failure must come from the exit, not from the clock.
    const err = await rejection(c.callTool('ok', {}, { timeoutMs: 30_000, maxTotalTimeoutMs: 60_000 }));
    expect(Date.now() - started).toBeLessThan(1_000);
    const gerr = expectGatewayError(err, 'SERVER_UNAVAILABLE');
    expect(gerr.message).toContain('exited with code 42');
    expect(gerr.message).toContain('crashing on call 2');
    expect(gerr.details).toEqual({ server: 'crash', tool: 'ok' });
    expect(c.state).toBe('failed');
    expect(c.lastError).toContain('exited with code 42');
    expect(c.stderrTail()).toContain('crashing on call 2');
    expect(c.cachedToolCount).toBeUndefined();

    expect(textOf(await c.callTool('hello', {}, CALL))).toContain('hello from');
    expect(c.state).toBe('ready');
    expect(c.pid).not.toBe(firstPid);
    expect(c.restarts).toBe(1);
    expect(c.lastError).toBeUndefined();
    expect(isAlive(firstPid!)).toBe(false);
  });

  it('reports a death by signal', async () => {
    const c = connection(fixtureSpec('crash', 'crash-on-call', { env: { CRASH_SIGNAL: 'SIGKILL' } }));
    const err = await rejection(c.callTool('crash_now', {}, CALL));
    expect(expectGatewayError(err, 'SERVER_UNAVAILABLE').message).toContain('was killed by signal SIGKILL');
  });

  it('skips non-JSON-RPC stdout lines and survives a stderr flood', async () => {
    const c = connection(fixtureSpec('noisy', 'noisy', { env: { NOISY_STDERR_BYTES: String(4 * 1024 * 1024) } }));
    for (let i = 0; i < 5; i++) expect(textOf(await c.callTool('echo', { message: `m${i}` }, CALL))).toBe(`m${i}`);
    await waitFor(async () => {
      const stats = await c.callTool('noise_stats', {}, CALL);
      return (stats.structuredContent as { floodDone: boolean }).floodDone;
    });
    // The flood was drained (else the server would block) and only a bounded tail is kept.
    const tail = c.stderrTail(20).split('\n');
    expect(tail.length).toBeLessThanOrEqual(20);
    expect(c.stderrTail(1000).length).toBeLessThanOrEqual(70 * 1024);
    expect(c.state).toBe('ready');
  });

  it('marks a server that exits at start failed, with the exit code and stderr tail', async () => {
    const c = connection(fixtureSpec('dead', 'never-starts'));
    const started = Date.now();
    const err = await rejection(c.connect());
    expect(Date.now() - started).toBeLessThan(5_000);
    const gerr = expectGatewayError(err, 'SERVER_UNAVAILABLE');
    expect(gerr.message).toContain("Server 'dead' exited with code 3 during initialization");
    expect(gerr.message).toContain('fatal: cannot start (fixture)');
    expect(c.state).toBe('failed');
    expect(c.lastError).toBe(gerr.message);

    // The next use tries again (a fresh process) and fails the same way.
    expectGatewayError(await rejection(c.listTools()), 'SERVER_UNAVAILABLE');
    expect(c.restarts).toBe(1);
    expect(c.consecutiveFailures).toBe(2);
  });

  it('bounds start-up with connectTimeoutMs and kills the hung server', async () => {
    // Long enough for the fixture to load and print its pid line, short for a test.
    const c = connection(fixtureSpec('hung', 'slow-start'), { connectTimeoutMs: 1_500 });
    const started = Date.now();
    const err = await rejection(c.connect());
    expect(Date.now() - started).toBeLessThan(2_500);
    const gerr = expectGatewayError(err, 'SERVER_UNAVAILABLE');
    expect(gerr.message).toContain("Server 'hung' did not complete initialization within 1500ms");
    expect(gerr.message).toContain('slow-start: pid');
    expect(c.state).toBe('failed');
    expect(c.pid).toBeUndefined();
  });

  it('shares one start among concurrent callers', async () => {
    const c = connection(fixtureSpec('echo', 'echo'));
    const [a, b] = await Promise.all([c.callTool('pid', {}, CALL), c.callTool('pid', {}, CALL), c.listTools(), c.connect()]);
    expect(textOf(a)).toBe(textOf(b));
    expect(textOf(a)).toBe(String(c.pid));
  });

  it('reports a command that cannot be spawned', async () => {
    const c = connection(fixtureSpec('ghost', 'echo', { command: '/nonexistent/amg-no-such-binary' }));
    const gerr = expectGatewayError(await rejection(c.connect()), 'SERVER_UNAVAILABLE');
    expect(gerr.message).toContain("Server 'ghost' could not be started (command '/nonexistent/amg-no-such-binary')");
    expect(gerr.message).toContain('ENOENT');
  });

  it('fails calls on a closed connection at once', async () => {
    const log = callLog();
    const c = connection(fixtureSpec('echo', 'echo', { env: log.env }));
    await c.connect();
    const pid = c.pid!;
    const inFlight = c.callTool('slow', { ms: 10_000 }, CALL);
    await waitFor(() => log.reached('slow'));
    const closing = c.close();
    const gerr = expectGatewayError(await rejection(inFlight), 'SERVER_UNAVAILABLE');
    expect(gerr.message).toContain('closed');
    await closing;
    expect(c.state).toBe('closed');
    expect(isAlive(pid)).toBe(false);
    expectGatewayError(await rejection(c.callTool('echo', { message: 'x' }, CALL)), 'SERVER_UNAVAILABLE');
    expectGatewayError(await rejection(c.connect()), 'SERVER_UNAVAILABLE');
  });

  it('maps JSON-RPC errors of a call: unknown tool, bad arguments, others', async () => {
    const c = connection(fixtureSpec('rpc', join('..', 'downstream-jsonrpc-errors.mjs')));
    expectGatewayError(await rejection(c.callTool('missing', {}, CALL)), 'TOOL_NOT_FOUND');
    expectGatewayError(await rejection(c.callTool('method_not_found', {}, CALL)), 'TOOL_NOT_FOUND');
    const bad = expectGatewayError(await rejection(c.callTool('bad_args', {}, CALL)), 'INVALID_ARGUMENT');
    expect(bad.message).toContain('count must be a number');
    const internal = expectGatewayError(await rejection(c.callTool('internal', {}, CALL)), 'SERVER_UNAVAILABLE');
    expect(internal.message).toContain('database on fire');
    expect((internal.cause as ProtocolError).code).toBe(-32603);
    // A protocol error does not break the connection.
    expect(c.state).toBe('ready');
  });
});
