// DownstreamConnection against servers of both protocol eras (tests/fixtures/era): which era
// each flavour is reached in, one process per start whatever it takes to find out, and the
// era found again after a restart.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { CLIENT_CAPABILITIES_META_KEY } from '@modelcontextprotocol/client';
import type { ServerSpec } from '../../src/config/types.js';
import { isInputRequiredResult, type DownstreamConnection } from '../../src/downstream/connection.js';
import { eraFixture, startHttpFixture, TRACE_META, type HttpFixture } from '../fixtures/era/eraHarness.js';
import { closeTracked, connection, expectGatewayError, expectNoLeftovers, MARKER, MARKER_NAME, rejection, stdioSpec, textOf } from '../helpers/downstream.js';
import { waitFor } from '../helpers/processes.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };
const tmp = mkdtempSync(join(tmpdir(), 'amg-eras-'));
const httpServers: HttpFixture[] = [];
let logs = 0;

afterEach(async () => {
  await closeTracked();
  await Promise.all(httpServers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await expectNoLeftovers();
  rmSync(tmp, { recursive: true, force: true });
});

/** A fresh ERA_START_LOG file and what it says: one line per server start. */
function startLog(): { env: Record<string, string>; starts(): string[] } {
  const file = join(tmp, `starts-${++logs}.log`);
  return {
    env: { ERA_START_LOG: file },
    starts: () => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []),
  };
}

function eraSpec(name: string, fixture: string, args: string[], env: Record<string, string> = {}): ServerSpec {
  return stdioSpec(name, [eraFixture(fixture), ...args], { env });
}

function httpSpec(name: string, url: string): ServerSpec {
  return { ...stdioSpec(name, []), transport: 'http', command: undefined, args: [], url };
}

async function httpFixture(name: 'v1-http' | 'v2-http', args: string[], env: Record<string, string>): Promise<HttpFixture> {
  const server = await startHttpFixture(name, args, { ...process.env, [MARKER_NAME]: MARKER, ...env });
  httpServers.push(server);
  return server;
}

describe('stdio: the era per flavour, one process per start', () => {
  const cases: [string, string, string[], 'legacy' | 'modern', string][] = [
    ['v1 (2025 only)', 'v1-stdio', [], 'legacy', '2025-11-25'],
    ["v2 on legacy: 'serve'", 'v2-stdio', ['--legacy', 'serve'], 'modern', '2026-07-28'],
    ["v2 on legacy: 'reject'", 'v2-stdio', ['--legacy', 'reject'], 'modern', '2026-07-28'],
  ];
  it.each(cases)('%s', async (_label, fixture, args, era, version) => {
    const log = startLog();
    const c = connection(eraSpec('era', fixture, args, log.env));
    expect(c.era).toBeUndefined();
    const tools = await c.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'ask', 'grow']));
    expect(c.era).toBe(era);
    expect(c.protocolVersion).toBe(version);
    expect(textOf(await c.callTool('echo', { text: 'hi' }, CALL))).toContain('hi');
    expect(log.starts()).toHaveLength(1);
  });

  it('falls back to initialize on the same process when a 2025 server ignores the probe', async () => {
    const log = startLog();
    const c = connection(eraSpec('silent', 'v1-strict', ['--on-probe', 'ignore'], log.env), { connectTimeoutMs: 4_000 });
    await c.connect();
    expect(c.era).toBe('legacy');
    expect(textOf(await c.callTool('echo', { text: 'hi' }, CALL))).toContain('hi');
    expect(log.starts()).toHaveLength(1);
  });

  it('starts a 2025 server that exits on the probe once more, and skips the probe from then on', async () => {
    const log = startLog();
    const c = connection(eraSpec('strict', 'v1-strict', ['--on-probe', 'exit'], log.env));
    await c.connect();
    expect(c.era).toBe('legacy');
    expect(c.restarts).toBe(0);
    expect(log.starts()).toHaveLength(2);
    expect(textOf(await c.callTool('echo', { text: 'hi' }, CALL))).toContain('hi');

    process.kill(c.pid!, 'SIGKILL');
    await waitFor(() => c.state === 'failed');
    expect(textOf(await c.callTool('echo', { text: 'again' }, CALL))).toContain('again');
    expect(c.era).toBe('legacy');
    expect(log.starts()).toHaveLength(3);
  });

  it('starts a slow 2026-only server once more, waiting for its server/discover answer, when it refused the 2025 fallback', async () => {
    const log = startLog();
    const which = join(tmp, 'slow-reject');
    writeFileSync(which, 'v2-stdio --legacy reject');
    const env = { ...log.env, ERA_SWITCH_FILE: which, ERA_START_DELAY_MS: '1700' };
    // The probe gives up after 1.5 s; the server reads it after 1.7 s.
    const c = connection(eraSpec('slow', 'switch', [], env), { connectTimeoutMs: 3_000 });
    await c.connect();
    expect(c.era).toBe('modern');
    expect(log.starts()).toHaveLength(2);
    expect(textOf(await c.callTool('echo', { text: 'late' }, CALL))).toContain('late');
  });

  it('negotiates again after a restart: a server upgraded in place is reached in its new era', async () => {
    const log = startLog();
    const which = join(tmp, 'switch-1');
    writeFileSync(which, 'v1-stdio');
    const c = connection(eraSpec('switch', 'switch', [], { ...log.env, ERA_SWITCH_FILE: which }));
    await c.connect();
    expect(c.era).toBe('legacy');

    writeFileSync(which, 'v2-stdio --legacy reject');
    process.kill(c.pid!, 'SIGKILL');
    await waitFor(() => c.state === 'failed');
    expect(textOf(await c.callTool('echo', { text: 'upgraded' }, CALL))).toContain('upgraded');
    expect(c.era).toBe('modern');
    expect(c.protocolVersion).toBe('2026-07-28');
    expect(c.restarts).toBe(1);
    expect(log.starts()).toHaveLength(2);
  });
});

describe('Streamable HTTP: the era per flavour', () => {
  const cases: [string, 'v1-http' | 'v2-http', string[], 'legacy' | 'modern'][] = [
    ['v1 (2025 sessions)', 'v1-http', [], 'legacy'],
    ["v2 on legacy: 'stateless'", 'v2-http', ['--legacy', 'stateless'], 'modern'],
    ["v2 on legacy: 'reject'", 'v2-http', ['--legacy', 'reject'], 'modern'],
    ['v2 with 2025 sessions', 'v2-http', ['--legacy', 'sessions'], 'modern'],
  ];
  it.each(cases)('%s', async (_label, fixture, args, era) => {
    const log = startLog();
    const server = await httpFixture(fixture, args, log.env);
    const c = connection(httpSpec('remote', server.url));
    const tools = await c.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'ask', 'grow']));
    expect(c.era).toBe(era);
    expect(textOf(await c.callTool('echo', { text: 'over http' }, CALL))).toContain('over http');
    expect(log.starts()).toHaveLength(1);
  });
});

describe('pass-through of the envelope', () => {
  const flavours: [string, string, string[]][] = [
    ['v1', 'v1-stdio', []],
    ["v2 on legacy: 'serve'", 'v2-stdio', ['--legacy', 'serve']],
    ["v2 on legacy: 'reject'", 'v2-stdio', ['--legacy', 'reject']],
  ];
  it.each(flavours)('trace context reaches %s, with and without progress', async (_label, fixture, args) => {
    const c = connection(eraSpec('trace', fixture, args));
    const plain = await c.callTool('echo', { text: 'traced' }, { ...CALL, meta: { ...TRACE_META } });
    expect(plain.structuredContent).toEqual({ text: 'traced', meta: TRACE_META });
    const bounded = await c.callTool('echo', { text: 'traced' }, { ...CALL, meta: { ...TRACE_META }, onprogress: () => {} });
    expect(bounded.structuredContent).toEqual({ text: 'traced', meta: TRACE_META });
  });

  it('trace context reaches a 2026 server over HTTP', async () => {
    const server = await httpFixture('v2-http', ['--legacy', 'reject'], {});
    const c = connection(httpSpec('remote', server.url));
    const result = await c.callTool('echo', { text: 'traced' }, { ...CALL, meta: { ...TRACE_META } });
    expect(result.structuredContent).toEqual({ text: 'traced', meta: TRACE_META });
  });

  it('returns input_required as the result, and the retry with inputResponses and requestState completes', async () => {
    const c = connection(eraSpec('mrtr', 'v2-mrtr', []));
    const asked = await c.callTool('deploy', {}, CALL);
    if (!isInputRequiredResult(asked)) throw new Error(`expected input_required, got ${JSON.stringify(asked)}`);
    expect(asked.inputRequests?.['confirm']).toMatchObject({ method: 'elicitation/create', params: { message: 'Deploy?' } });
    expect(asked.requestState).toMatch(/^v1\./);
    // The downstream's serverInfo is not the gateway's to hand on.
    expect(asked).not.toHaveProperty('_meta');

    const answers = { confirm: { action: 'accept', content: { confirm: true } } };
    const done = await c.callTool('deploy', {}, { ...CALL, inputResponses: answers, requestState: asked.requestState! });
    expect(textOf(done)).toBe('deployed (state asked)');
    expect(done).not.toHaveProperty('_meta');

    // With progress too (the bounded call path).
    expect(isInputRequiredResult(await c.callTool('deploy', {}, { ...CALL, onprogress: () => {} }))).toBe(true);

    const tampered = await rejection(c.callTool('deploy', {}, { ...CALL, inputResponses: answers, requestState: `${asked.requestState!}x` }));
    // About the caller's own request: passed on as the server's JSON-RPC error, not made a GatewayError.
    expect(tampered).toMatchObject({ code: -32602, message: 'Invalid or expired requestState', data: { reason: 'invalid_request_state' } });
  });

  it('returns input_required from resources/read when asked to, and the retry completes', async () => {
    const c = connection(eraSpec('read', 'v2-mrtr', []));
    const schema = z.looseObject({ contents: z.array(z.looseObject({ text: z.string().optional() })) });
    const asked = await c.request({ method: 'resources/read', params: { uri: 'file:///secret' } }, schema, { allowInputRequired: true });
    expect(isInputRequiredResult(asked)).toBe(true);
    const answers = { confirm: { action: 'accept', content: { confirm: true } } };
    const read = await c.request({ method: 'resources/read', params: { uri: 'file:///secret', inputResponses: answers } }, schema);
    expect(read.contents[0]?.text).toBe('secret');
    // Without the option, an input_required answer is a failure, not a result.
    expectGatewayError(await rejection(c.request({ method: 'resources/read', params: { uri: 'file:///secret' } }, schema)), 'SERVER_UNAVAILABLE');
  });

  it('sends a 2026 server the calling client’s capabilities instead of the gateway’s', async () => {
    const c = connection(eraSpec('caps', 'v2-mrtr', []));
    const own = JSON.parse(textOf(await c.callTool('whoami', {}, CALL))) as { capabilities: Record<string, unknown> };
    expect(own.capabilities).toHaveProperty('elicitation');
    const meta = { [CLIENT_CAPABILITIES_META_KEY]: { sampling: {} }, ...TRACE_META };
    const theirs = JSON.parse(textOf(await c.callTool('whoami', {}, { ...CALL, meta }))) as unknown;
    expect(theirs).toEqual({ capabilities: { sampling: {} }, trace: TRACE_META });
    // A caller that cannot elicit: the server refuses to ask it, and says so to the caller (-32021).
    const refused = await rejection(c.callTool('deploy', {}, { ...CALL, meta: { [CLIENT_CAPABILITIES_META_KEY]: {} } }));
    expect(refused).toMatchObject({ code: -32021 });
  });

  it('returns request results without the server’s serverInfo and cache hints', async () => {
    const c = connection(eraSpec('hints', 'v2-stdio', []));
    await c.connect();
    expect(c.era).toBe('modern');
    const page = await c.request({ method: 'tools/list', params: {} }, z.looseObject({ tools: z.array(z.unknown()) }), { meta: { ...TRACE_META } });
    expect(page.tools.length).toBeGreaterThan(0);
    expect(Object.keys(page)).toEqual(['tools']);
  });

  it('a 2025 server’s elicitation during a call still goes to the server-request handler', async () => {
    const asked: unknown[] = [];
    const c = connection(eraSpec('elicit', 'v1-stdio', []), {
      onServerRequest: async (_server, request) => {
        asked.push(request.method);
        return { action: 'accept', content: { answer: 'blue' } };
      },
    });
    expect(textOf(await c.callTool('ask', {}, CALL))).toBe('you said blue');
    expect(asked).toEqual(['elicitation/create']);
    expect(c.era).toBe('legacy');
  });
});

describe('notifications from a 2026 server, on its subscriptions/listen stream', () => {
  function watched(spec: ServerSpec): { c: DownstreamConnection; changes: () => number; notes: { method: string; params?: unknown }[] } {
    let changes = 0;
    const notes: { method: string; params?: unknown }[] = [];
    const c = connection(spec, { onToolsChanged: () => void changes++, onNotification: (_server, n) => void notes.push(n) });
    return { c, changes: () => changes, notes };
  }

  it.each([
    ['v1 over stdio (unsolicited)', 'v1-stdio', [], 'legacy'],
    ['v2 over stdio', 'v2-stdio', ['--legacy', 'reject'], 'modern'],
  ] as const)('a tool list change reaches onToolsChanged: %s', async (_label, fixture, args, era) => {
    const { c, changes } = watched(eraSpec('grow', fixture, [...args]));
    const before = await c.listTools();
    expect(c.era).toBe(era);
    expect(textOf(await c.callTool('grow', {}, CALL))).toMatch(/^added grown_\d+$/);
    await waitFor(() => changes() === 1);
    expect((await c.listTools()).length).toBe(before.length + 1);
  });

  it('over HTTP, and the stream is opened again when the server comes back', async () => {
    const first = await httpFixture('v2-http', ['--legacy', 'reject'], {});
    const { c, changes } = watched(httpSpec('remote', first.url));
    await c.connect();
    expect(c.era).toBe('modern');
    await c.callTool('grow', {}, CALL);
    await waitFor(() => changes() === 1);

    await first.close();
    const port = new URL(first.url).port;
    await httpFixture('v2-http', ['--legacy', 'reject', '--port', port], {});
    // The stream ended with the old server; the change is seen once the new stream is open.
    await waitFor(
      async () => {
        // Calls fail until the new server is up.
        await c.callTool('grow', {}, CALL).catch(() => {});
        return changes() >= 2;
      },
      { timeoutMs: 15_000, intervalMs: 300 },
    );
  });

  it('resource subscriptions are the stream’s filter, kept across a restart', async () => {
    const { c, notes } = watched(eraSpec('res', 'v2-mrtr', []));
    await c.subscribeResource('file:///a');
    expect(c.era).toBe('modern');
    await c.callTool('touch', { uri: 'file:///b' }, CALL);
    await c.callTool('touch', { uri: 'file:///a' }, CALL);
    await waitFor(() => notes.length > 0);
    // Only the subscribed URI, and as a 2025 server would send it: no subscription id.
    expect(notes).toEqual([{ method: 'notifications/resources/updated', params: { uri: 'file:///a' } }]);

    process.kill(c.pid!, 'SIGKILL');
    await waitFor(() => c.state === 'failed');
    await c.connect();
    await c.callTool('touch', { uri: 'file:///a' }, CALL);
    await waitFor(() => notes.length === 2);

    await c.unsubscribeResource('file:///a');
    await c.subscribeResource('file:///b');
    await c.callTool('touch', { uri: 'file:///a' }, CALL);
    await c.callTool('touch', { uri: 'file:///b' }, CALL);
    await waitFor(() => notes.length === 3);
    expect(notes[2]).toEqual({ method: 'notifications/resources/updated', params: { uri: 'file:///b' } });
  });

  it('refuses a resource subscription a 2026 server does not offer', async () => {
    const c = connection(eraSpec('nores', 'v2-stdio', []));
    await c.connect();
    expectGatewayError(await rejection(c.subscribeResource('file:///a')), 'SERVER_UNAVAILABLE');
  });
});
