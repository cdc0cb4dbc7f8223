// DirectCalls: tools/call to a 2025 stdio server written and answered past the SDK Client.
// What the Client gave a call must still hold: the idle timeout and the caller's abort both
// send notifications/cancelled and fail with RequestTimeout, an error answer is the same
// ProtocolError, a result is what the result schema makes of it, and the answers that are not
// the direct calls' (numeric ids, malformed lines) are left to the SDK.
import { Client, InMemoryTransport, ProtocolError, ProtocolErrorCode, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import type { JSONRPCMessage } from '@modelcontextprotocol/client';
import { CallToolResultSchema } from '@modelcontextprotocol/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectCalls, readDirectResult, type DirectCallOptions } from '../../../src/downstream/directCalls.js';
import { GatewayClient } from '../../../src/downstream/gatewayClient.js';
import { ManualClock } from '../../helpers/manualClock.js';

const TIMEOUT_MS = 1_000;

interface World {
  calls: DirectCalls;
  clock: ManualClock;
  /** Every message written to the server, in order. */
  written: Record<string, unknown>[];
}

function world(write?: (message: JSONRPCMessage) => Promise<void>): World {
  const written: Record<string, unknown>[] = [];
  const clock = new ManualClock();
  const calls = new DirectCalls((message) => {
    written.push(message as unknown as Record<string, unknown>);
    return write ? write(message) : Promise.resolve();
  });
  return { calls, clock, written };
}

/** Reads results as a gateway Client does before any version is negotiated: with the 2025 codec. */
const reader = new GatewayClient({ name: 'direct-calls-test', version: '1.0.0' });

function options(w: World, extra: Partial<DirectCallOptions> = {}): DirectCallOptions {
  return { timeoutMs: TIMEOUT_MS, clock: w.clock, readResult: (raw) => readDirectResult(reader, raw, 0), ...extra };
}

/** The outcome of a call once settled, without an unhandled rejection meanwhile. */
function outcome<T>(promise: Promise<T>): { readonly state: () => { value?: T; error?: unknown; settled: boolean } } {
  let settled = false;
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => {
      settled = true;
      value = v;
    },
    (e: unknown) => {
      settled = true;
      error = e;
    },
  );
  return { state: () => ({ settled, value, error }) };
}

/** Lets the promise callbacks queued so far run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const answer = (id: unknown, result: unknown): Record<string, unknown> => ({ jsonrpc: '2.0', id, result });
const plain = { content: [{ type: 'text', text: 'hi' }] };

describe('DirectCalls: a call and its answer', () => {
  it('writes a tools/call with an id of its own and resolves with the result the answer carries', async () => {
    const w = world();
    const params = { name: 'echo', arguments: { message: 'hi' }, _meta: { traceparent: 't' } };
    const call = w.calls.call(params, options(w));
    expect(w.written).toEqual([{ jsonrpc: '2.0', id: 'gw-0', method: 'tools/call', params }]);
    expect(w.calls.take(answer('gw-0', plain))).toBe(true);
    await expect(call).resolves.toStrictEqual(plain);
    expect(w.clock.pending).toBe(0);
  });

  it('numbers its calls gw-0, gw-1, ... and matches each answer to its call, in any order', async () => {
    const w = world();
    const first = w.calls.call({ name: 'a' }, options(w));
    const second = w.calls.call({ name: 'b' }, options(w));
    expect(w.written.map((m) => m['id'])).toEqual(['gw-0', 'gw-1']);
    expect(w.calls.take(answer('gw-1', { content: [{ type: 'text', text: 'b' }] }))).toBe(true);
    expect(w.calls.take(answer('gw-0', { content: [{ type: 'text', text: 'a' }] }))).toBe(true);
    await expect(first).resolves.toEqual({ content: [{ type: 'text', text: 'a' }] });
    await expect(second).resolves.toEqual({ content: [{ type: 'text', text: 'b' }] });
  });

  it('an error answer rejects with the ProtocolError the SDK Client makes of it (code, message, data)', async () => {
    const w = world();
    const call = w.calls.call({ name: 'x' }, options(w));
    const error = { code: ProtocolErrorCode.InvalidParams, message: 'Unknown tool: x', data: { tool: 'x' } };
    expect(w.calls.take({ jsonrpc: '2.0', id: 'gw-0', error })).toBe(true);
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    const expected = ProtocolError.fromError(error.code, error.message, error.data);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err).toBeInstanceOf(expected.constructor);
    expect(err).toMatchObject({ code: expected.code, message: expected.message, data: expected.data });
    expect(w.clock.pending).toBe(0);
  });

  it('an error answer with a known special code becomes the same subclass as in the SDK', async () => {
    const w = world();
    const call = w.calls.call({ name: 'x' }, options(w));
    const error = { code: ProtocolErrorCode.InvalidParams, message: 'no such resource', data: { uri: 'file:///x' } };
    w.calls.take({ jsonrpc: '2.0', id: 'gw-0', error });
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError.fromError(error.code, error.message, error.data).constructor);
  });

  it('a result not of the plain shape is parsed by the schema: valid blocks pass, defaults are applied', async () => {
    const w = world();
    const image = { content: [{ type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png', annotations: { priority: 0.5 } }] };
    const first = w.calls.call({ name: 'img' }, options(w));
    w.calls.take(answer('gw-0', image));
    await expect(first).resolves.toStrictEqual(CallToolResultSchema.parse(image));

    // No content at all: the schema's default (an empty list), as the SDK Client gives it.
    const second = w.calls.call({ name: 'empty' }, options(w));
    w.calls.take(answer('gw-1', { structuredContent: { a: 1 } }));
    await expect(second).resolves.toStrictEqual({ content: [], structuredContent: { a: 1 } });
  });

  it('an invalid result fails the call with the SDK Client InvalidResult error', async () => {
    const w = world();
    const call = w.calls.call({ name: 'bad' }, options(w));
    expect(w.calls.take(answer('gw-0', { content: [{ type: 'text' }] }))).toBe(true);
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect(err).toMatchObject({ code: SdkErrorCode.InvalidResult, message: expect.stringMatching(/^Invalid result for tools\/call: /) });
  });

  it('a resultType some servers add is stripped (a plain result and a parsed one alike)', async () => {
    const w = world();
    const first = w.calls.call({ name: 'a' }, options(w));
    w.calls.take(answer('gw-0', { ...plain, resultType: 'complete' }));
    await expect(first).resolves.toStrictEqual(plain);

    const second = w.calls.call({ name: 'b' }, options(w));
    const resource = { content: [{ type: 'resource_link', uri: 'file:///r', name: 'r' }] };
    w.calls.take(answer('gw-1', { ...resource, resultType: 'complete' }));
    const result = await second;
    expect(result).not.toHaveProperty('resultType');
    expect(result).toStrictEqual(CallToolResultSchema.parse(resource));
  });

  it('a write that fails fails the call, and its timer is cleared', async () => {
    const w = world(() => Promise.reject(new Error("Not connected: server 's' is not running")));
    await expect(w.calls.call({ name: 'a' }, options(w))).rejects.toThrow(/Not connected/);
    expect(w.clock.pending).toBe(0);
  });
});

describe('DirectCalls: giving up on a call', () => {
  it('the idle timeout sends notifications/cancelled and fails with RequestTimeout', async () => {
    const w = world();
    const call = outcome(w.calls.call({ name: 'slow' }, options(w)));
    w.clock.advance(TIMEOUT_MS - 1);
    await flush();
    expect(call.state().settled).toBe(false);
    w.clock.advance(1);
    await flush();
    const { error } = call.state();
    expect(error).toBeInstanceOf(SdkError);
    expect(error).toMatchObject({ code: SdkErrorCode.RequestTimeout, message: expect.stringContaining('Request timed out'), data: { timeout: TIMEOUT_MS } });
    expect(w.written[1]).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 'gw-0', reason: expect.stringContaining('Request timed out') },
    });
  });

  it("the caller's abort sends notifications/cancelled with the reason and rejects", async () => {
    const w = world();
    const controller = new AbortController();
    const call = outcome(w.calls.call({ name: 'slow' }, options(w, { signal: controller.signal })));
    controller.abort('client cancelled');
    await flush();
    const { error } = call.state();
    // As the SDK Client rejects: an SdkError (RequestTimeout) carrying the reason.
    expect(error).toBeInstanceOf(SdkError);
    expect(error).toMatchObject({ code: SdkErrorCode.RequestTimeout, message: expect.stringContaining('client cancelled') });
    expect(w.written[1]).toEqual({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'gw-0', reason: 'client cancelled' } });
    expect(w.clock.pending).toBe(0);
  });

  it('an abort with an SdkError reason rejects with that very error', async () => {
    const w = world();
    const controller = new AbortController();
    const call = w.calls.call({ name: 'slow' }, options(w, { signal: controller.signal }));
    const reason = new SdkError(SdkErrorCode.ConnectionClosed, 'gone');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
  });

  it('an already-aborted signal fails the call at once: nothing written, no timer', async () => {
    const w = world();
    const controller = new AbortController();
    controller.abort('too late');
    const err = await w.calls.call({ name: 'x' }, options(w, { signal: controller.signal })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect(err).toMatchObject({ code: SdkErrorCode.RequestTimeout, message: expect.stringContaining('too late') });
    expect(w.written).toEqual([]);
    expect(w.clock.pending).toBe(0);
  });

  it('an answer after the abort does not resolve the call, and the abort after an answer sends nothing', async () => {
    const w = world();
    const controller = new AbortController();
    const call = w.calls.call({ name: 'x' }, options(w, { signal: controller.signal }));
    w.calls.take(answer('gw-0', plain));
    await expect(call).resolves.toStrictEqual(plain);
    controller.abort('after');
    await flush();
    expect(w.written).toHaveLength(1);
  });

  it('closeAll fails every call in flight with the reason, and clears their timers', async () => {
    const w = world();
    const a = w.calls.call({ name: 'a' }, options(w));
    const b = w.calls.call({ name: 'b' }, options(w));
    expect(w.clock.pending).toBe(2);
    const reason = new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed');
    w.calls.closeAll(reason);
    await expect(a).rejects.toBe(reason);
    await expect(b).rejects.toBe(reason);
    expect(w.clock.pending).toBe(0);
    // Nothing is cancelled downstream: the connection is gone.
    expect(w.written).toHaveLength(2);
  });

  it('a late answer to a call given up on is swallowed (taken), and nothing settles twice', async () => {
    const w = world();
    let settledCount = 0;
    const call = w.calls.call({ name: 'slow' }, options(w));
    call.then(
      () => settledCount++,
      () => settledCount++,
    );
    w.clock.advance(TIMEOUT_MS);
    await flush();
    expect(settledCount).toBe(1);
    expect(w.calls.take(answer('gw-0', plain))).toBe(true);
    expect(w.calls.take({ jsonrpc: '2.0', id: 'gw-0', error: { code: -32603, message: 'late' } })).toBe(true);
    await flush();
    expect(settledCount).toBe(1);
    await expect(call).rejects.toMatchObject({ code: SdkErrorCode.RequestTimeout });
    // A second answer to a call already answered: also taken, and the first result stands.
    const next = w.calls.call({ name: 'b' }, options(w));
    expect(w.calls.take(answer('gw-1', plain))).toBe(true);
    expect(w.calls.take(answer('gw-1', { content: [{ type: 'text', text: 'again' }] }))).toBe(true);
    await expect(next).resolves.toStrictEqual(plain);
  });
});

describe("DirectCalls: what is not the direct calls' is left to the SDK", () => {
  it.each([
    ['a numeric id (the SDK Client numbers its own requests)', answer(0, plain)],
    ['a numeric id equal to a pending counter', answer(1, plain)],
    ['a string id without the prefix', answer('0', plain)],
    ['a string id of another prefix', answer('sdk-gw-0', plain)],
    ['a request from the server that uses a gw- id', { jsonrpc: '2.0', id: 'gw-0', method: 'roots/list' }],
    ['a notification', { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'gw-0', progress: 1 } }],
    ['no id', { jsonrpc: '2.0', result: plain }],
    ['not an object', ['gw-0']],
    ['null', null],
    ['a string', 'gw-0'],
  ])('%s: not taken', (_name, value) => {
    const w = world();
    const call = outcome(w.calls.call({ name: 'x' }, options(w)));
    expect(w.calls.take(value)).toBe(false);
    expect(call.state().settled).toBe(false);
    w.calls.closeAll(new Error('end'));
  });

  it.each([
    ['no jsonrpc', { id: 'gw-0', result: plain }],
    ['jsonrpc 1.0', { jsonrpc: '1.0', id: 'gw-0', result: plain }],
    ['both result and error', { jsonrpc: '2.0', id: 'gw-0', result: plain, error: { code: 1, message: 'm' } }],
    ['neither result nor error', { jsonrpc: '2.0', id: 'gw-0' }],
    ['a result that is not an object', { jsonrpc: '2.0', id: 'gw-0', result: 'done' }],
    ['a result that is an array', { jsonrpc: '2.0', id: 'gw-0', result: [plain] }],
    ['an error without code', { jsonrpc: '2.0', id: 'gw-0', error: { message: 'm' } }],
    ['an error with a fractional code', { jsonrpc: '2.0', id: 'gw-0', error: { code: 1.5, message: 'm' } }],
    ['an error without message', { jsonrpc: '2.0', id: 'gw-0', error: { code: -32603 } }],
    ['an error that is a string', { jsonrpc: '2.0', id: 'gw-0', error: 'bad' }],
  ])('a malformed answer to a pending call (%s) is not taken, and the call still waits', async (_name, value) => {
    const w = world();
    const call = outcome(w.calls.call({ name: 'x' }, options(w)));
    expect(w.calls.take(value)).toBe(false);
    await flush();
    expect(call.state().settled).toBe(false);
    // A well-formed answer afterwards still settles it.
    expect(w.calls.take(answer('gw-0', plain))).toBe(true);
    await flush();
    expect(call.state()).toMatchObject({ settled: true, value: plain });
  });
});

// ---- the same answer, through the SDK Client (the path before) and through DirectCalls ----

/**
 * An SDK Client on a 2025-11-25 connection to a bare in-memory server that answers every
 * tools/call with the result it is given: what client.request made of an answer before the
 * direct path existed.
 */
async function sdkClientAnswering(): Promise<{ client: Client; answerNext(result: unknown): void }> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  let next: unknown;
  serverSide.onmessage = (message: JSONRPCMessage) => {
    const m = message as Record<string, unknown>;
    if (!('id' in m) || !('method' in m)) return;
    const result =
      m['method'] === 'initialize' ? { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'raw', version: '1.0.0' } } : next;
    void serverSide.send({ jsonrpc: '2.0', id: m['id'], result } as JSONRPCMessage);
  };
  await serverSide.start();
  const client = new Client({ name: 'differential', version: '1.0.0' });
  await client.connect(clientSide);
  expect(client.getProtocolEra()).toBe('legacy');
  return { client, answerNext: (result) => (next = result) };
}

type Verdict = { ok: true; value: unknown } | { ok: false; code: unknown; message: string };

async function verdictOf(promise: Promise<unknown>): Promise<Verdict> {
  try {
    return { ok: true, value: await promise };
  } catch (err) {
    return { ok: false, code: (err as { code?: unknown }).code, message: (err as Error).message };
  }
}

async function throughSdk(sdk: { client: Client; answerNext(result: unknown): void }, raw: unknown): Promise<Verdict> {
  sdk.answerNext(raw);
  return verdictOf(sdk.client.request({ method: 'tools/call', params: { name: 't', arguments: {} } }, { timeout: 5_000 }));
}

async function throughDirect(raw: unknown): Promise<Verdict> {
  const w = world();
  const call = w.calls.call({ name: 't', arguments: {} }, options(w));
  w.calls.take(JSON.parse(JSON.stringify({ jsonrpc: '2.0', id: 'gw-0', result: raw })));
  return verdictOf(call);
}

describe('DirectCalls decides as the SDK Client did on a 2025 connection', () => {
  let sdk: Awaited<ReturnType<typeof sdkClientAnswering>>;
  beforeAll(async () => {
    sdk = await sdkClientAnswering();
  });
  afterAll(async () => {
    await sdk.client.close();
  });

  const agreeing: [string, unknown][] = [
    ['a plain text result', plain],
    ['isError with structuredContent', { content: [{ type: 'text', text: 'e' }], isError: true, structuredContent: { reason: 'x' } }],
    [
      'an image, audio, resource_link and embedded resource',
      {
        content: [
          { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
          { type: 'audio', data: 'UklGRg==', mimeType: 'audio/wav' },
          { type: 'resource_link', uri: 'file:///r', name: 'r' },
          { type: 'resource', resource: { uri: 'x://n', text: 'note' } },
        ],
      },
    ],
    ['annotations on a text block', { content: [{ type: 'text', text: 'a', annotations: { priority: 1, audience: ['user'] } }] }],
    ['no content at all (defaulted to [])', { structuredContent: { a: 1 } }],
    ['a resultType', { ...plain, resultType: 'complete' }],
    ['an unknown key (kept by the loose schema)', { ...plain, extra: { deep: true } }],
    ['a progressToken string in the result _meta', { ...plain, _meta: { progressToken: 'p' } }],
    ['a text block without text (invalid)', { content: [{ type: 'text' }] }],
    ['an image without data (invalid)', { content: [{ type: 'image', mimeType: 'image/png' }] }],
    ['isError a string (invalid)', { content: [], isError: 'yes' }],
    ['content not a list (invalid)', { content: 'text' }],
  ];
  it.each(agreeing)('%s', async (_name, raw) => {
    const before = await throughSdk(sdk, raw);
    const after = await throughDirect(raw);
    expect(after).toStrictEqual(before);
  });

  // Where the 2025 schema the Client validates with is stricter than core's CallToolResultSchema
  // (result `_meta` read as request meta, structuredContent a record, no contentless task body,
  // `__proto__` keys dropped): each of these once diverged, and now agrees.
  const stricter: [string, unknown][] = [
    ['a progressToken object in the result _meta (accepted as plain)', { ...plain, _meta: { progressToken: {} } }],
    ['structuredContent an array', { ...plain, structuredContent: [1, 2] }],
    ['structuredContent a string', { ...plain, structuredContent: 'text' }],
    ['a task without content', { task: { taskId: 't', status: 'working' } }],
    ['a malformed related-task in the result _meta', { ...plain, _meta: { 'io.modelcontextprotocol/related-task': 'x' } }],
    ['a __proto__ key in the result _meta', JSON.parse('{"content":[],"_meta":{"__proto__":{"polluted":true}}}') as unknown],
    ['a __proto__ key in structuredContent', JSON.parse('{"content":[],"structuredContent":{"__proto__":{"polluted":true}}}') as unknown],
  ];
  it.each(stricter)('%s', async (_name, raw) => {
    const before = await throughSdk(sdk, raw);
    const after = await throughDirect(raw);
    expect(after).toStrictEqual(before);
  });
});

describe('DirectCalls and the SDK Client: the property', () => {
  // Results of every block type, valid or not, with the keys where the 2025 schema is strict
  // (structuredContent of any JSON, `__proto__`, `task`, progressToken in `_meta`).
  const key = fc.oneof(
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'content',
        'structuredContent',
        'isError',
        '_meta',
        'type',
        'text',
        'annotations',
        'resultType',
        'toolResult',
        'data',
        'mimeType',
        'uri',
        'name',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'task', 'progressToken') },
    { weight: 5, arbitrary: fc.string() },
  );
  const anyJson = fc.jsonValue({ maxDepth: 2 });
  const someObject = fc.dictionary(key, anyJson, { maxKeys: 3 });
  const block = fc.oneof(
    fc.record(
      {
        type: fc.constantFrom('text', 'image', 'audio', 'resource_link', 'resource'),
        text: fc.string(),
        data: fc.oneof(fc.base64String(), fc.string()),
        mimeType: fc.string(),
        uri: fc.string(),
        name: fc.string(),
        resource: fc.oneof(someObject, fc.record({ uri: fc.string(), text: fc.string() })),
        annotations: fc.oneof(someObject, fc.record({ priority: fc.double(), audience: fc.array(fc.constantFrom('user', 'assistant', 'x')) }, { requiredKeys: [] })),
        _meta: someObject,
      },
      { requiredKeys: ['type'] },
    ),
    anyJson,
  );
  const result = fc.record(
    {
      content: fc.oneof({ weight: 6, arbitrary: fc.array(block, { maxLength: 3 }) }, { weight: 1, arbitrary: anyJson }),
      isError: fc.oneof(fc.boolean(), anyJson),
      structuredContent: fc.oneof({ weight: 4, arbitrary: someObject }, { weight: 1, arbitrary: anyJson }),
      _meta: someObject,
      extra: anyJson,
    },
    { requiredKeys: [] },
  );

  it('any result: accepted by both with the same value, or refused by both with the same error', async () => {
    const sdk = await sdkClientAnswering();
    try {
      await fc.assert(
        fc.asyncProperty(
          result.map((r) => JSON.parse(JSON.stringify(r)) as unknown),
          async (raw) => {
            expect(await throughDirect(raw)).toStrictEqual(await throughSdk(sdk, raw));
          },
        ),
        { numRuns: 600 },
      );
    } finally {
      await sdk.client.close();
    }
  });
});
