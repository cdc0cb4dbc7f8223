// The execute_tool fast path over real stdio (issue 20): a well-formed 2025 tools/call after
// initialize is answered past the SDK Server upstream (stdioFastCalls.ts), and the call to a
// 2025 stdio server is made past the SDK Client downstream (directCalls.ts). What a client sees
// must be what it saw before: the same answers and errors, cancellation that reaches the
// downstream and writes no answer, progress under the caller's token, results of other shapes
// forwarded through the SDK (and the call made once), duplicate ids and calls before
// initialize handled as the SDK handles them. Bare JSON-RPC peers on both sides, so every line
// is seen: the built gateway, the echo fixture, and a raw downstream written here that answers
// with exactly the bytes a test needs.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_MAIN, fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { spawnRaw, type RawStdioPeer } from '../helpers/rawStdio.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { codeOf, textOf } from '../helpers/results.js';
import { writeFileSync } from 'node:fs';

const MARKER = `gw-fastpath-${process.pid}-${Date.now()}`;
const BASE_ENV: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) BASE_ENV[k] = v;
BASE_ENV.GW_E2E_MARKER = MARKER;

const AGENT = 'tester';
const RULES = { agents: { [AGENT]: { allow: { servers: ['*'] } } } };

/**
 * A 2025-11-25 stdio server answering each tool with fixed bytes, for results the SDK-built
 * fixtures cannot send. `late` answers only once it is cancelled (an answer nobody waits for).
 * Every tools/call and cancellation is appended to RAW_LOG.
 */
const RAW_SERVER = String.raw`
import { appendFileSync } from 'node:fs';
const log = (record) => appendFileSync(process.env.RAW_LOG, JSON.stringify(record) + '\n');
const RESULTS = {
  plain: '{"content":[{"type":"text","text":"plain"}]}',
  meta_token: '{"content":[{"type":"text","text":"t"}],"_meta":{"progressToken":{}}}',
  sc_array: '{"content":[{"type":"text","text":"a"}],"structuredContent":[1,2]}',
  proto_meta: '{"content":[{"type":"text","text":"p"}],"_meta":{"__proto__":{"polluted":true}}}',
  result_type: '{"content":[{"type":"text","text":"r"}],"resultType":"complete"}',
  invalid: '{"content":[{"type":"text"}]}',
};
const TOOLS = [...Object.keys(RESULTS), 'late', 'progress_now', 'log_now'];
const late = new Set();
const write = (line) => process.stdout.write(line + '\n');
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    if (line.trim() === '') continue;
    const m = JSON.parse(line);
    const id = JSON.stringify(m.id);
    if (m.method === 'initialize') {
      write('{"jsonrpc":"2.0","id":' + id + ',"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"logging":{}},"serverInfo":{"name":"raw","version":"1.0.0"}}}');
    } else if (m.method === 'tools/list') {
      write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { tools: TOOLS.map((name) => ({ name, inputSchema: { type: 'object' } })) } }));
    } else if (m.method === 'tools/call') {
      log({ call: m.params.name, id: m.id, args: m.params.arguments });
      if (m.params.name === 'late') late.add(m.id);
      else if (m.params.name === 'log_now') {
        process.stdout.write('{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"error","logger":"raw","data":"during ' + m.id + '"}}\n' + '{"jsonrpc":"2.0","id":' + id + ',"result":{"content":[{"type":"text","text":"logged"}]}}\n');
      } else if (m.params.name === 'progress_now') {
        // Progress and the result in one write: nothing between them but the gateway's own turns.
        const token = JSON.stringify(m.params._meta?.progressToken ?? null);
        const progress = (i) => '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":' + token + ',"progress":' + i + ',"total":2}}\n';
        process.stdout.write(progress(1) + progress(2) + '{"jsonrpc":"2.0","id":' + id + ',"result":{"content":[{"type":"text","text":"now"}]}}\n');
      }
      else write('{"jsonrpc":"2.0","id":' + id + ',"result":' + RESULTS[m.params.name] + '}');
    } else if (m.method === 'notifications/cancelled') {
      log({ cancelled: m.params.requestId });
      if (late.delete(m.params.requestId)) {
        write('{"jsonrpc":"2.0","id":' + JSON.stringify(m.params.requestId) + ',"result":{"content":[{"type":"text","text":"too late"}]}}');
      }
    } else if (m.method === 'ping' || m.method === 'logging/setLevel') {
      write('{"jsonrpc":"2.0","id":' + id + ',"result":{}}');
    } else if (m.id !== undefined && m.method !== undefined) {
      write(JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } }));
    }
  }
});
process.stdin.on('end', () => process.exit(0));
`;

interface Gateway {
  peer: RawStdioPeer;
  /** The echo fixture's FIXTURE_CALL_LOG and the raw server's RAW_LOG. */
  echoLog: string;
  rawLog: string;
  /** The gateway's audit log. */
  auditLog: string;
}

const peers: RawStdioPeer[] = [];

function spawnGateway(args: string[] = []): Gateway {
  const dir = makeTmpDir('amg-fastpath-');
  const echoLog = join(dir, 'echo-calls.jsonl');
  const rawLog = join(dir, 'raw-calls.jsonl');
  const rawServer = join(dir, 'raw-server.mjs');
  const auditLog = join(dir, 'audit.jsonl');
  writeFileSync(rawServer, RAW_SERVER);
  writeJson(join(dir, '.mcp.json'), {
    mcpServers: {
      echo: { command: process.execPath, args: [fixture('echo')], env: { FIXTURE_CALL_LOG: echoLog } },
      raw: { command: process.execPath, args: [rawServer], env: { RAW_LOG: rawLog } },
      crash: { command: process.execPath, args: [fixture('crash-on-call')] },
      mrtr: { command: process.execPath, args: [fixture('conformance-mrtr')] },
      huge: { command: process.execPath, args: [fixture('huge-output')] },
    },
  });
  writeJson(join(dir, '.mcp-gateway-rules.json'), RULES);
  const peer = spawnRaw(
    process.execPath,
    [GATEWAY_MAIN, '--mcp-config', join(dir, '.mcp.json'), '--rules', join(dir, '.mcp-gateway-rules.json'), '--audit-log', auditLog, ...args],
    { env: BASE_ENV, cwd: dir },
  );
  peers.push(peer);
  return { peer, echoLog, rawLog, auditLog };
}

async function startGateway(args: string[] = []): Promise<Gateway> {
  const gw = spawnGateway(args);
  await gw.peer.initialize(20_000);
  return gw;
}

function readLog(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** How many tools/call of `tool` reached the echo fixture. */
function echoCalls(gw: Gateway, tool: string): number {
  return readLog(gw.echoLog).filter((r) => r['method'] === 'tools/call' && r['tool'] === tool).length;
}

const execArgs = (server: string, tool: string, args: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'execute_tool',
  arguments: { agent_id: AGENT, server, tool, args, ...extra },
});

function sendRequest(gw: Gateway, id: string | number, params: Record<string, unknown>, method = 'tools/call'): void {
  gw.peer.send({ jsonrpc: '2.0', id, method, params });
}

/** Every answer (not request or notification) to `id` so far. */
function answersTo(gw: Gateway, id: unknown): Record<string, unknown>[] {
  return (gw.peer.messages as Record<string, unknown>[]).filter((m) => m['id'] === id && !('method' in m));
}

async function answerTo(gw: Gateway, id: string | number, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  await waitFor(() => answersTo(gw, id).length > 0, { timeoutMs, message: `no answer to ${JSON.stringify(id)}; stderr: ${gw.peer.stderr().slice(-2000)}` });
  return answersTo(gw, id)[0]!;
}

/** Sends a tools/call and waits for its answer. */
async function call(gw: Gateway, id: string | number, params: Record<string, unknown>, method = 'tools/call'): Promise<Record<string, unknown>> {
  sendRequest(gw, id, params, method);
  return answerTo(gw, id);
}

async function slowStats(gw: Gateway, id: string): Promise<{ started: number; cancelled: number; completed: number }> {
  const answer = await call(gw, id, execArgs('echo', 'cancelled_count'));
  return (answer['result'] as { structuredContent: { started: number; cancelled: number; completed: number } }).structuredContent;
}

async function close(gw: Gateway): Promise<void> {
  gw.peer.endStdin();
  expect(await gw.peer.exit).toEqual({ code: 0, signal: null });
}

guardAgainstLeaks(MARKER, {
  close: async () => {
    for (const peer of peers) peer.endStdin();
    await Promise.allSettled(peers.map((p) => p.exit));
  },
  what: 'processes left behind by stdio-fast-path tests',
});

describe('the fast path answers as the SDK path did', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await close(gw);
  });

  it('a tools/call is answered with the downstream result, under a string or a numeric id', async () => {
    expect(await call(gw, 'str-1', execArgs('echo', 'echo', { message: 'hi ü' }))).toEqual({
      jsonrpc: '2.0',
      id: 'str-1',
      result: { content: [{ type: 'text', text: 'hi ü' }] },
    });
    expect(await call(gw, 7, execArgs('echo', 'fail', { message: 'bad' }))).toEqual({
      jsonrpc: '2.0',
      id: 7,
      result: { content: [{ type: 'text', text: 'bad' }], structuredContent: { reason: 'bad' }, isError: true },
    });
    expect(await call(gw, 8, execArgs('echo', 'structured', { city: 'Oslo' }))).toEqual({
      jsonrpc: '2.0',
      id: 8,
      result: { content: [{ type: 'text', text: '{"temperature":21.5,"city":"Oslo"}' }], structuredContent: { temperature: 21.5, city: 'Oslo' } },
    });
    expect(gw.peer.nonJsonLines).toEqual([]);
  });

  it("the gateway's own refusals keep their shape: a JSON-RPC error for an unknown tool, error results for the rest", async () => {
    expect(await call(gw, 'unknown', { name: 'no_such_tool', arguments: {} })).toEqual({
      jsonrpc: '2.0',
      id: 'unknown',
      error: { code: -32602, message: 'Unknown tool: no_such_tool' },
    });
    const missingAgent = await call(gw, 'no-agent', { name: 'execute_tool', arguments: {} });
    expect(missingAgent).toMatchObject({ jsonrpc: '2.0', id: 'no-agent', result: { isError: true } });
    expect(codeOf(missingAgent['result'])).toBe('MISSING_AGENT_ID');
    const noTool = await call(gw, 'no-tool', execArgs('echo', 'no_tool'));
    expect(codeOf(noTool['result'])).toBe('TOOL_NOT_FOUND');
    expect(textOf(noTool['result'])).toBe("Tool 'no_tool' not found on server 'echo'");
  });

  it('a client without elicitation gets the same refusal when the downstream asks for input', async () => {
    expect(await call(gw, 'no-elicit', execArgs('echo', 'elicit'))).toEqual({
      jsonrpc: '2.0',
      id: 'no-elicit',
      result: { content: [{ type: 'text', text: 'MCP error -32600: The client connected to the gateway does not support elicitation' }], isError: true },
    });
  });

  it('a tools/call the fast path does not take (arguments not an object, an unknown param) is answered by the SDK as before', async () => {
    const bad = await call(gw, 'bad-args', { name: 'execute_tool', arguments: 'nope' });
    expect(bad).toMatchObject({ jsonrpc: '2.0', id: 'bad-args', error: { code: -32602 } });
    const extra = await call(gw, 'extra-param', { ...execArgs('echo', 'echo', { message: 'x' }), somethingElse: 1 });
    expect(extra).toEqual({ jsonrpc: '2.0', id: 'extra-param', result: { content: [{ type: 'text', text: 'x' }] } });
  });

  it('progress reaches the client under its own token (string or number), all before the result', async () => {
    for (const [id, token] of [
      ['prog-s', 'tok-ü'],
      ['prog-n', 77],
    ] as const) {
      const from = gw.peer.messages.length;
      const answer = await call(gw, id, { ...execArgs('echo', 'progress', { steps: 3, delayMs: 40 }), _meta: { progressToken: token } });
      expect(answer).toEqual({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'done' }] } });
      const seen = (gw.peer.messages.slice(from) as Record<string, unknown>[]).filter((m) => m['method'] === 'notifications/progress');
      expect(seen.map((m) => m['params'])).toEqual([1, 2, 3].map((i) => ({ progressToken: token, progress: i, total: 3, message: `step ${i}/3` })));
      const answerAt = gw.peer.messages.indexOf(answer);
      expect(gw.peer.messages.indexOf(seen[seen.length - 1]!)).toBeLessThan(answerAt);
    }
  });

  it('a result of another shape (image, audio, links) is forwarded whole through the SDK, and the call is made once', async () => {
    const before = echoCalls(gw, 'image');
    const answer = await call(gw, 'img', execArgs('echo', 'image'));
    const content = (answer['result'] as { content: Record<string, unknown>[] }).content;
    expect(content.map((b) => b['type'])).toEqual(['image', 'audio', 'resource_link', 'resource']);
    expect(content[0]).toEqual({ type: 'image', data: expect.stringMatching(/^iVBORw0KGgo/), mimeType: 'image/png' });
    expect(content[1]).toEqual({ type: 'audio', data: expect.stringMatching(/^UklGR/), mimeType: 'audio/wav' });
    expect(content[2]).toEqual({
      type: 'resource_link',
      uri: 'file:///fixtures/readme.txt',
      name: 'readme.txt',
      description: 'A linked resource',
      mimeType: 'text/plain',
    });
    expect(content[3]).toEqual({ type: 'resource', resource: { uri: 'fixture://embedded/note.txt', mimeType: 'text/plain', text: 'embedded note' } });
    expect(answersTo(gw, 'img')).toHaveLength(1);
    // A later call settles the count: the image call reached the fixture exactly once.
    await call(gw, 'img-after', execArgs('echo', 'echo', { message: 'x' }));
    expect(echoCalls(gw, 'image') - before).toBe(1);
    await waitFor(() => readLog(gw.auditLog).some((r) => r['tool'] === 'image'), { timeoutMs: 10_000, message: 'the image call was not audited' });
    expect(readLog(gw.auditLog).filter((r) => r['tool'] === 'image')).toEqual([
      expect.objectContaining({ operation: 'execute_tool', server: 'echo', decision: 'ALLOW', isError: false }),
    ]);
  });

  it('a tools/call without arguments is taken and answered as before (no agent_id: the gateway refuses it)', async () => {
    const answer = await call(gw, 'no-args', { name: 'list_servers' });
    expect(answer).toMatchObject({ jsonrpc: '2.0', id: 'no-args', result: { isError: true } });
    expect(codeOf(answer['result'])).toBe('MISSING_AGENT_ID');
  });

  it('many calls in flight at once, written in one chunk: each answered once, with its own result', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => (i % 2 === 0 ? `many-${i}` : 1000 + i));
    gw.peer.child.stdin!.write(
      ids
        .map((id) => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: execArgs('echo', 'echo', { message: `m ${String(id)}` }) })}\n`)
        .join(''),
    );
    await waitFor(() => ids.every((id) => answersTo(gw, id).length > 0), { timeoutMs: 20_000, message: 'not every concurrent call was answered' });
    for (const id of ids) {
      expect(answersTo(gw, id)).toEqual([{ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: `m ${String(id)}` }] } }]);
    }
  });

  it('the same id twice in flight: both calls are answered (as the SDK did) and the connection goes on', async () => {
    gw.peer.child.stdin!.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 'dup', method: 'tools/call', params: execArgs('echo', 'slow', { ms: 300 }) })}\n` +
        `${JSON.stringify({ jsonrpc: '2.0', id: 'dup', method: 'tools/call', params: execArgs('echo', 'slow', { ms: 400 }) })}\n`,
    );
    await waitFor(() => answersTo(gw, 'dup').length === 2, { timeoutMs: 20_000, message: 'both duplicate calls were not answered' });
    expect(
      answersTo(gw, 'dup')
        .map((m) => textOf(m['result']))
        .sort(),
    ).toEqual(['slept 300', 'slept 400']);
    expect(await call(gw, 'dup-after', execArgs('echo', 'echo', { message: 'on' }))).toMatchObject({ result: { content: [{ type: 'text', text: 'on' }] } });
  });

  it('the same id twice in one read with a result of another shape: each answered once, each call made once', async () => {
    const before = echoCalls(gw, 'image');
    const line = `${JSON.stringify({ jsonrpc: '2.0', id: 'dup-img', method: 'tools/call', params: execArgs('echo', 'image') })}\n`;
    gw.peer.child.stdin!.write(line + line);
    await waitFor(() => answersTo(gw, 'dup-img').length >= 2, { timeoutMs: 20_000, message: 'both duplicate image calls were not answered' });
    await call(gw, 'dup-img-after', execArgs('echo', 'echo', { message: 'x' }));
    expect(answersTo(gw, 'dup-img')).toHaveLength(2);
    for (const answer of answersTo(gw, 'dup-img')) expect((answer['result'] as { content: unknown[] }).content).toHaveLength(4);
    expect(echoCalls(gw, 'image') - before).toBe(2);
  });
});

describe('cancelling a call in flight', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await close(gw);
  });

  it('notifications/cancelled stops it: the downstream is told, and no answer is written', async () => {
    const before = await slowStats(gw, 'stats-0');
    sendRequest(gw, 'slow-1', execArgs('echo', 'slow', { ms: 60_000 }));
    await waitFor(async () => (await slowStats(gw, `stats-a-${Date.now()}`)).started > before.started, {
      timeoutMs: 15_000,
      message: 'slow never started downstream',
    });
    gw.peer.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1', reason: 'the user changed their mind' } });
    await waitFor(async () => (await slowStats(gw, `stats-b-${Date.now()}`)).cancelled === before.cancelled + 1, {
      timeoutMs: 15_000,
      message: 'the downstream never saw notifications/cancelled',
    });
    // A call made afterwards is answered; the cancelled one never is.
    expect(await call(gw, 'after-cancel', execArgs('echo', 'echo', { message: 'still here' }))).toMatchObject({
      result: { content: [{ type: 'text', text: 'still here' }] },
    });
    expect(answersTo(gw, 'slow-1')).toEqual([]);
    expect((await slowStats(gw, 'stats-end')).completed).toBe(before.completed);
    // Audited as a cancelled call, as before.
    await waitFor(() => readLog(gw.auditLog).some((r) => r['tool'] === 'slow'), { timeoutMs: 10_000, message: 'the cancelled call was not audited' });
    expect(readLog(gw.auditLog).filter((r) => r['tool'] === 'slow')).toEqual([expect.objectContaining({ decision: 'ERROR', code: 'CANCELLED', isError: true })]);
  });

  it('the id of a cancelled call can be used again at once, and is answered once', async () => {
    sendRequest(gw, 'reuse', execArgs('echo', 'slow', { ms: 60_000 }));
    gw.peer.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'reuse' } });
    const answer = await call(gw, 'reuse', execArgs('echo', 'echo', { message: 'second' }));
    expect(answer).toEqual({ jsonrpc: '2.0', id: 'reuse', result: { content: [{ type: 'text', text: 'second' }] } });
    await call(gw, 'reuse-after', execArgs('echo', 'echo', { message: 'x' }));
    expect(answersTo(gw, 'reuse')).toHaveLength(1);
  });

  // The fast path takes only the cancellations the SDK would act on: a well-formed notification.
  it('a request (with an id) named notifications/cancelled is answered as before and cancels nothing', async () => {
    sendRequest(gw, 'victim', execArgs('echo', 'slow', { ms: 1_500 }));
    await waitFor(() => readLog(gw.echoLog).some((r) => r['tool'] === 'slow' && (r['args'] as { ms?: number } | undefined)?.ms === 1_500), {
      timeoutMs: 15_000,
      message: 'slow never reached the fixture',
    });
    sendRequest(gw, 'cancel-as-request', { requestId: 'victim' }, 'notifications/cancelled');
    expect(await answerTo(gw, 'victim', 8_000)).toEqual({ jsonrpc: '2.0', id: 'victim', result: { content: [{ type: 'text', text: 'slept 1500' }] } });
    expect(answersTo(gw, 'cancel-as-request')).toEqual([{ jsonrpc: '2.0', id: 'cancel-as-request', error: expect.objectContaining({ code: -32601 }) }]);
  });

  it('a malformed cancellation (reason not a string) is ignored as before', async () => {
    sendRequest(gw, 'victim-2', execArgs('echo', 'slow', { ms: 1_400 }));
    await waitFor(() => readLog(gw.echoLog).some((r) => r['tool'] === 'slow' && (r['args'] as { ms?: number } | undefined)?.ms === 1_400), {
      timeoutMs: 15_000,
      message: 'slow never reached the fixture',
    });
    gw.peer.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'victim-2', reason: 5 } });
    expect(await answerTo(gw, 'victim-2', 8_000)).toEqual({ jsonrpc: '2.0', id: 'victim-2', result: { content: [{ type: 'text', text: 'slept 1400' }] } });
  });

  it('a cancellation for an id nobody knows changes nothing', async () => {
    gw.peer.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'never-sent' } });
    expect(await call(gw, 'unknown-cancel-after', execArgs('echo', 'echo', { message: 'ok' }))).toMatchObject({
      result: { content: [{ type: 'text', text: 'ok' }] },
    });
  });
});

describe('requests to the client made during a fast call', () => {
  it('elicitation, sampling and roots reach the client and their answers come back', async () => {
    const gw = spawnGateway();
    const init = await gw.peer.request(
      'initialize',
      { protocolVersion: '2025-11-25', capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} }, clientInfo: { name: 'capable-raw', version: '1.0.0' } },
      20_000,
    );
    expect(init.error).toBeUndefined();
    gw.peer.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const answers: Record<string, unknown> = {
      'elicitation/create': { action: 'accept', content: { answer: 'forty-two', name: 'Ada' } },
      'sampling/createMessage': { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled' } },
      'roots/list': { roots: [{ uri: 'file:///tmp/root-x', name: 'root-x' }] },
    };
    const answered = new Set<unknown>();
    // The client's side: answer each request of the gateway as it comes.
    const answering = setInterval(() => {
      for (const m of gw.peer.messages as Record<string, unknown>[]) {
        const method = m['method'];
        if (typeof method !== 'string' || !(method in answers) || m['id'] === undefined || answered.has(m['id'])) continue;
        answered.add(m['id']);
        gw.peer.send({ jsonrpc: '2.0', id: m['id'], result: answers[method] });
      }
    }, 10);
    try {
      expect(textOf((await call(gw, 'elicit', execArgs('echo', 'elicit')))['result'])).toBe('forty-two');
      expect(textOf((await call(gw, 'sample', execArgs('echo', 'sample')))['result'])).toBe('sampled');
      expect(textOf((await call(gw, 'roots', execArgs('echo', 'roots')))['result'])).toBe(JSON.stringify([{ uri: 'file:///tmp/root-x', name: 'root-x' }]));
      // A 2026 server's input_required, answered through requests to this 2025 client.
      expect(textOf((await call(gw, 'mrtr-inputs', execArgs('mrtr', 'input_required_result_multiple_inputs')))['result'])).toBe('Ada: 1 root(s)');
    } finally {
      clearInterval(answering);
    }
    expect(answered.size).toBe(6);
    await close(gw);
  });
});

describe('the downstream dies mid-call', () => {
  it('the call in flight fails at once with SERVER_UNAVAILABLE, and the next call is served by a new process', async () => {
    const gw = await startGateway();
    const answer = await call(gw, 'crash', execArgs('crash', 'crash_now'));
    expect(codeOf(answer['result'])).toBe('SERVER_UNAVAILABLE');
    expect(textOf(answer['result'])).toContain('exited with code 42');
    const next = await call(gw, 'crash-next', execArgs('crash', 'ok'));
    expect(next).toEqual({ jsonrpc: '2.0', id: 'crash-next', result: { content: [{ type: 'text', text: 'ok' }] } });
    await close(gw);
  });
});

describe('a result over --max-result-bytes', () => {
  it('fails the call at once with RESULT_TOO_LARGE, and the next call is served by a new process', async () => {
    const gw = await startGateway(['--max-result-bytes', String(1024 * 1024)]);
    const first = textOf((await call(gw, 'huge-pid', execArgs('huge', 'pid')))['result']);
    const over = await call(gw, 'huge-big', execArgs('huge', 'big', { bytes: 2 * 1024 * 1024 }));
    expect(codeOf(over['result'])).toBe('RESULT_TOO_LARGE');
    const again = textOf((await call(gw, 'huge-pid-2', execArgs('huge', 'pid')))['result']);
    expect(again).toMatch(/^\d+$/);
    expect(again).not.toBe(first);
    await close(gw);
  });
});

describe('before initialize', () => {
  it('a tools/call before initialize is answered as the SDK answers it, and the fast path serves after initialize', async () => {
    const gw = spawnGateway();
    const early = await call(gw, 'early', { name: 'list_servers', arguments: { agent_id: AGENT } });
    expect(early['error']).toBeUndefined();
    expect((early['result'] as { structuredContent: { servers: { name: string }[] } }).structuredContent.servers.map((s) => s.name).sort()).toEqual([
      'crash',
      'echo',
      'huge',
      'mrtr',
      'raw',
    ]);
    await gw.peer.initialize(20_000);
    expect(await call(gw, 'late-init', execArgs('echo', 'echo', { message: 'after init' }))).toEqual({
      jsonrpc: '2.0',
      id: 'late-init',
      result: { content: [{ type: 'text', text: 'after init' }] },
    });
    await close(gw);
  });
});

describe('results only the raw downstream sends', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await close(gw);
  });

  it('a plain result and a result with a resultType (stripped) are forwarded', async () => {
    expect(await call(gw, 'raw-plain', execArgs('raw', 'plain'))).toEqual({
      jsonrpc: '2.0',
      id: 'raw-plain',
      result: { content: [{ type: 'text', text: 'plain' }] },
    });
    expect(await call(gw, 'raw-rt', execArgs('raw', 'result_type'))).toEqual({ jsonrpc: '2.0', id: 'raw-rt', result: { content: [{ type: 'text', text: 'r' }] } });
  });

  it('progress written right before the result still reaches the client before its answer', async () => {
    for (let round = 0; round < 5; round++) {
      const id = `raw-progress-${round}`;
      const from = gw.peer.messages.length;
      const answer = await call(gw, id, { ...execArgs('raw', 'progress_now'), _meta: { progressToken: id } });
      expect(textOf(answer['result'])).toBe('now');
      const seen = (gw.peer.messages.slice(from) as Record<string, unknown>[]).filter((m) => m['method'] === 'notifications/progress');
      expect(seen.map((m) => m['params'])).toEqual([1, 2].map((progress) => ({ progressToken: id, progress, total: 2 })));
      expect(gw.peer.messages.indexOf(seen[1]!)).toBeLessThan(gw.peer.messages.indexOf(answer));
    }
  });

  it('a log message written right before the result reaches the client before its answer', async () => {
    expect(await call(gw, 'set-level', { level: 'debug' }, 'logging/setLevel')).toEqual({ jsonrpc: '2.0', id: 'set-level', result: {} });
    for (let round = 0; round < 5; round++) {
      const id = `raw-log-${round}`;
      const from = gw.peer.messages.length;
      const answer = await call(gw, id, execArgs('raw', 'log_now'));
      expect(textOf(answer['result'])).toBe('logged');
      const logs = (gw.peer.messages.slice(from) as Record<string, unknown>[]).filter(
        (m) => m['method'] === 'notifications/message' && (m['params'] as { logger?: unknown }).logger === 'raw/raw',
      );
      expect(logs).toHaveLength(1);
      expect(gw.peer.messages.indexOf(logs[0]!)).toBeLessThan(gw.peer.messages.indexOf(answer));
    }
  });

  it('an invalid result fails the call with SERVER_UNAVAILABLE naming the invalid result', async () => {
    const answer = await call(gw, 'raw-invalid', execArgs('raw', 'invalid'));
    expect(codeOf(answer['result'])).toBe('SERVER_UNAVAILABLE');
    expect(textOf(answer['result'])).toMatch(/^Server 'raw' failed the request: Invalid result for tools\/call: /);
  });

  it('an answer that comes after the timeout is swallowed: TIMEOUT, the server told, nothing stray, the next call served', async () => {
    const answer = await call(gw, 'raw-late', execArgs('raw', 'late', {}, { timeout_ms: 300 }));
    expect(codeOf(answer['result'])).toBe('TIMEOUT');
    expect(textOf(answer['result'])).toBe('Tool execution timed out after 300ms');
    await waitFor(() => readLog(gw.rawLog).some((r) => 'cancelled' in r), { timeoutMs: 10_000, message: 'the raw server was never told of the cancellation' });
    // The late answer was written before this call's answer, so it has been read by then.
    expect(await call(gw, 'raw-after-late', execArgs('raw', 'plain'))).toMatchObject({ result: { content: [{ type: 'text', text: 'plain' }] } });
    expect(answersTo(gw, 'raw-late')).toHaveLength(1);
    expect(JSON.stringify(gw.peer.messages)).not.toContain('too late');
  });

  // A 2025 server's result is validated with the 2025 schema, as the SDK Client did.
  it.each([
    ['a progressToken object in the result _meta', 'meta_token'],
    ['structuredContent an array', 'sc_array'],
  ])('%s is refused as an invalid result, as before', async (_name, tool) => {
    const answer = await call(gw, `raw-${tool}`, execArgs('raw', tool));
    expect(codeOf(answer['result'])).toBe('SERVER_UNAVAILABLE');
    expect(textOf(answer['result'])).toContain('Invalid result for tools/call');
  });

  // A `__proto__` key the schema's parse drops is dropped on the fast path too.
  it('a __proto__ key in the result _meta is not forwarded, as before', async () => {
    const answer = await call(gw, 'raw-proto', execArgs('raw', 'proto_meta'));
    expect(textOf(answer['result'])).toBe('p');
    expect(Object.keys((answer['result'] as { _meta?: object })._meta ?? {})).not.toContain('__proto__');
  });
});

describe('native mode', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway(['--mode', 'native', '--agent', AGENT]);
  });
  afterAll(async () => {
    await close(gw);
  });

  it('a native tools/call is answered with the downstream result; an unknown tool as before', async () => {
    expect(await call(gw, 'n-echo', { name: 'echo__echo', arguments: { message: 'native' } })).toEqual({
      jsonrpc: '2.0',
      id: 'n-echo',
      result: { content: [{ type: 'text', text: 'native' }] },
    });
    const unknown = await call(gw, 'n-unknown', { name: 'echo__no_such_tool', arguments: {} });
    expect(codeOf(unknown['result'])).toBe('TOOL_NOT_FOUND');
  });

  it('the arguments the downstream receives are the ones the client sent', async () => {
    const answer = await call(gw, 'n-args', { name: 'raw__plain', arguments: { a: 1, nested: { b: [true, null] } } });
    expect(textOf(answer['result'])).toBe('plain');
    const logged = readLog(gw.rawLog).find((r) => r['call'] === 'plain');
    expect(logged?.['args']).toEqual({ a: 1, nested: { b: [true, null] } });
  });

  // The SDK's parse of the params drops an own `__proto__` key of the arguments: so does the fast path.
  it('a __proto__ key at the top of arguments does not reach the downstream, as before', async () => {
    gw.peer.child.stdin!.write(
      '{"jsonrpc":"2.0","id":"n-proto","method":"tools/call","params":{"name":"raw__plain","arguments":{"__proto__":{"polluted":true},"a":2}}}\n',
    );
    const answer = await answerTo(gw, 'n-proto');
    expect(textOf(answer['result'])).toBe('plain');
    const logged = readLog(gw.rawLog).filter((r) => r['call'] === 'plain' && r['id'] !== undefined);
    const args = logged[logged.length - 1]?.['args'] as Record<string, unknown>;
    expect(args['a']).toBe(2);
    expect(Object.keys(args)).not.toContain('__proto__');
  });
});
