// Transparent forwarding through the built gateway over real stdio (issue 3, "Downstream pool"):
// progress relayed under the caller's own token and resetting the timeout, the caller's
// cancellation and the gateway's timeout both reaching the downstream as notifications/cancelled,
// and server-to-client requests (elicitation, sampling, roots) passed to the calling client, or
// refused with a clear error when that client did not declare the capability.
// Downstream servers: our echo fixture and @modelcontextprotocol/server-everything.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type CallToolResult,
  type CreateMessageRequest,
  type ElicitRequest,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { callTool, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { GATEWAY_MAIN, SERVER_EVERYTHING, fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { spawnRaw, type RawStdioPeer } from '../helpers/rawStdio.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';
import { join } from 'node:path';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { textOf, errorOf } from '../helpers/results.js';

// Every process this file starts (gateways, their downstreams, grandchildren) inherits this
// marker, so afterAll can prove none is left behind.
const MARKER = `gw-forwarding-${process.pid}-${Date.now()}`;
const ENV = { GW_E2E_MARKER: MARKER };
const AGENT = 'tester';

const MCP_SERVERS = {
  echo: { command: process.execPath, args: [fixture('echo')] },
  everything: { command: process.execPath, args: [SERVER_EVERYTHING, 'stdio'] },
};
const RULES = { agents: { [AGENT]: { allow: { servers: ['*'] } } } };

function exec(
  gw: GatewayHandle,
  server: string,
  tool: string,
  args: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
  options?: Parameters<typeof callTool>[3],
): Promise<CallToolResult> {
  return callTool(gw.client, 'execute_tool', { agent_id: AGENT, server, tool, args, ...extra }, options);
}

async function slowStats(gw: GatewayHandle): Promise<{ cancelled: number; started: number; completed: number }> {
  const r = await exec(gw, 'echo', 'cancelled_count');
  expect(r.isError).not.toBe(true);
  return r.structuredContent as { cancelled: number; started: number; completed: number };
}

/** Waits until server-everything has registered its capability-dependent tools (they come after init). */
async function waitForEverythingTools(gw: GatewayHandle, names: string[]): Promise<void> {
  await waitFor(
    async () => {
      const r = await callTool(gw.client, 'get_server_tools', { agent_id: AGENT, server: 'everything', names: names.join(',') });
      const tools = (r.structuredContent as { tools?: Array<{ name: string }> } | undefined)?.tools ?? [];
      return names.every((n) => tools.some((t) => t.name === n));
    },
    { timeoutMs: 20_000, intervalMs: 200, message: `server-everything never offered ${names.join(', ')}` },
  );
}

const openGateways: GatewayHandle[] = [];
const rawPeers: RawStdioPeer[] = [];

// What the capable client was asked, for assertions on what the gateway forwarded.
const elicitations: ElicitRequest['params'][] = [];
const samplings: CreateMessageRequest['params'][] = [];
let rootsAsked = 0;

let capable: GatewayHandle;
let incapable: GatewayHandle;

beforeAll(async () => {
  [capable, incapable] = await Promise.all([
    startGateway({
      mcpServers: MCP_SERVERS,
      rules: RULES,
      env: ENV,
      clientCapabilities: { elicitation: { form: {} }, sampling: {}, roots: { listChanged: true } },
    }),
    startGateway({ mcpServers: MCP_SERVERS, rules: RULES, env: ENV, clientCapabilities: {} }),
  ]);
  openGateways.push(capable, incapable);

  capable.client.setRequestHandler(ElicitRequestSchema, async (req) => {
    elicitations.push(req.params);
    const schema = (req.params as { requestedSchema?: { properties?: Record<string, unknown> } }).requestedSchema;
    // echo's `elicit` asks for {answer}; server-everything's form asks for {name, ...}.
    if (schema?.properties && 'answer' in schema.properties) return { action: 'accept', content: { answer: 'forty-two' } };
    return { action: 'accept', content: { name: 'Ada Lovelace', check: true, integer: 7 } };
  });
  capable.client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    samplings.push(req.params);
    return { model: 'test-model-1', role: 'assistant', content: { type: 'text', text: 'sampled by the test client' } };
  });
  capable.client.setRequestHandler(ListRootsRequestSchema, async () => {
    rootsAsked++;
    return { roots: [{ uri: 'file:///tmp/gateway-test-root', name: 'test-root' }] };
  });
});

guardAgainstLeaks(MARKER, {
  close: async () => {
    await Promise.allSettled(openGateways.map((g) => g.close()));
    for (const p of rawPeers) p.endStdin();
    await Promise.allSettled(rawPeers.map((p) => p.exit));
  },
  what: 'processes left behind by gateway-forwarding tests',
});

// ------------------------------------------------------------------------------------------
describe('progress relay', () => {
  it('echo `progress`: every step reaches the caller, in order, as increasing progress', async () => {
    const got: Progress[] = [];
    const r = await exec(capable, 'echo', 'progress', { steps: 5, delayMs: 60 }, {}, { onprogress: (p) => got.push(p) });
    expect(r.isError).not.toBe(true);
    expect(textOf(r)).toBe('done');
    expect(got.map((p) => p.progress)).toEqual([1, 2, 3, 4, 5]);
    expect(got.every((p) => p.total === 5)).toBe(true);
    expect(got.map((p) => p.message)).toEqual(['step 1/5', 'step 2/5', 'step 3/5', 'step 4/5', 'step 5/5']);
  });

  it('progress arrives under the caller’s own token (a string token, seen on the wire)', async () => {
    // The SDK client always uses its numeric request id as token; a bare peer can use any token
    // and see the raw notifications. The gateway's downstream client uses its own ids, so this
    // proves the token is mapped back rather than passed through.
    const dir = makeTmpDir('amg-fwd-raw-');
    const mcp = join(dir, '.mcp.json');
    const rules = join(dir, '.mcp-gateway-rules.json');
    writeJson(mcp, { mcpServers: { echo: MCP_SERVERS.echo } });
    writeJson(rules, RULES);
    const peer = spawnRaw(process.execPath, [GATEWAY_MAIN, '--mcp-config', mcp, '--rules', rules, '--audit-log', 'off'], {
      env: { ...(process.env as Record<string, string>), ...ENV },
      cwd: dir,
    });
    rawPeers.push(peer);
    await peer.initialize(20_000);
    const token = 'caller-token-ü-42';
    const res = await peer.request(
      'tools/call',
      {
        name: 'execute_tool',
        arguments: { agent_id: AGENT, server: 'echo', tool: 'progress', args: { steps: 3, delayMs: 60 } },
        _meta: { progressToken: token },
      },
      20_000,
    );
    expect(res.error).toBeUndefined();
    expect(JSON.stringify(res.result)).toContain('done');
    const progress = peer.messages.filter(
      (m): m is { method: string; params: { progressToken: unknown; progress: number; total?: number } } =>
        (m as { method?: string }).method === 'notifications/progress',
    );
    expect(progress.map((m) => m.params.progress)).toEqual([1, 2, 3]);
    expect(progress.every((m) => m.params.progressToken === token)).toBe(true);
    // Every notification came before the response.
    const responseIndex = peer.messages.findIndex((m) => (m as { id?: unknown }).id === res.id);
    const lastProgressIndex = peer.messages.lastIndexOf(progress[progress.length - 1]!);
    expect(lastProgressIndex).toBeLessThan(responseIndex);
    expect(peer.nonJsonLines).toEqual([]);
    peer.endStdin();
    expect(await peer.exit).toEqual({ code: 0, signal: null });
  });

  it('no progress token upstream: no progress notification reaches the caller', async () => {
    const dir = makeTmpDir('amg-fwd-raw-');
    const mcp = join(dir, '.mcp.json');
    const rules = join(dir, '.mcp-gateway-rules.json');
    writeJson(mcp, { mcpServers: { echo: MCP_SERVERS.echo } });
    writeJson(rules, RULES);
    const peer = spawnRaw(process.execPath, [GATEWAY_MAIN, '--mcp-config', mcp, '--rules', rules, '--audit-log', 'off'], {
      env: { ...(process.env as Record<string, string>), ...ENV },
      cwd: dir,
    });
    rawPeers.push(peer);
    await peer.initialize(20_000);
    const res = await peer.request(
      'tools/call',
      { name: 'execute_tool', arguments: { agent_id: AGENT, server: 'echo', tool: 'progress', args: { steps: 3, delayMs: 30 } } },
      20_000,
    );
    expect(JSON.stringify(res.result)).toContain('done');
    expect(peer.messages.some((m) => (m as { method?: string }).method === 'notifications/progress')).toBe(false);
    peer.endStdin();
    await peer.exit;
  });

  it('progress resets the timeout: 6 steps of 300 ms succeed with timeout_ms 1000 (total ~2.1 s)', async () => {
    const got: Progress[] = [];
    const started = performance.now();
    const r = await exec(capable, 'echo', 'progress', { steps: 6, delayMs: 300 }, { timeout_ms: 1000 }, { onprogress: (p) => got.push(p), timeout: 30_000 });
    const elapsed = performance.now() - started;
    expect(errorOf(r)).toBeUndefined();
    expect(r.isError).not.toBe(true);
    expect(textOf(r)).toBe('done');
    expect(elapsed).toBeGreaterThan(1000); // longer than the timeout: only the resets let it finish
    expect(got.map((p) => p.progress)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('control: the same call without progress times out at timeout_ms', async () => {
    // No upstream token -> the gateway asks for no progress downstream -> nothing resets the timer.
    const r = await exec(capable, 'echo', 'progress', { steps: 6, delayMs: 300 }, { timeout_ms: 1000 });
    expect(r.isError).toBe(true);
    expect(errorOf(r)?.code).toBe('TIMEOUT');
    expect(textOf(r)).toBe('Tool execution timed out after 1000ms');
  });

  it('server-everything trigger-long-running-operation: increasing progress under the caller’s token, resets the timeout', async () => {
    // Started first: the 1 s timeout covers starting the server too (call-deadline.test.ts).
    await waitForEverythingTools(capable, ['trigger-long-running-operation']);
    const got: Progress[] = [];
    const started = performance.now();
    // 2 s in 8 steps of 250 ms, with a 1 s timeout that only progress can keep alive.
    const r = await exec(
      capable,
      'everything',
      'trigger-long-running-operation',
      { duration: 2, steps: 8 },
      { timeout_ms: 1000 },
      { onprogress: (p) => got.push(p), timeout: 30_000 },
    );
    const elapsed = performance.now() - started;
    expect(errorOf(r)).toBeUndefined();
    expect(textOf(r)).toContain('Long running operation completed');
    expect(elapsed).toBeGreaterThan(1000);
    // server-everything answers right after its last notification, so the SDK may drop the
    // very last one as "unknown token" (reference §2.6); every other step must be there.
    const values = got.map((p) => p.progress);
    expect(values.length).toBeGreaterThanOrEqual(7);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(new Set(values).size).toBe(values.length);
    expect(values.slice(0, 7)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(got.every((p) => p.total === 8)).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------
describe('cancellation and timeout reach the downstream', () => {
  it('the caller aborts execute_tool: the downstream request is cancelled', async () => {
    const before = await slowStats(capable);
    const controller = new AbortController();
    const call = exec(capable, 'echo', 'slow', { ms: 60_000 }, {}, { signal: controller.signal, timeout: 120_000 });
    call.catch(() => {}); // asserted below
    // Abort only once the downstream is really running the call.
    await waitFor(async () => (await slowStats(capable)).started > before.started, {
      timeoutMs: 15_000,
      message: 'slow never started downstream',
    });
    controller.abort('test aborts');
    await expect(call).rejects.toThrow();
    await waitFor(async () => (await slowStats(capable)).cancelled === before.cancelled + 1, {
      timeoutMs: 10_000,
      message: 'downstream never saw notifications/cancelled after the caller aborted',
    });
    const after = await slowStats(capable);
    expect(after.completed).toBe(before.completed);
    // The gateway still works normally afterwards.
    expect(textOf(await exec(capable, 'echo', 'echo', { message: 'still here' }))).toBe('still here');
  });

  it('timeout_ms fires: TIMEOUT result, and the downstream gets notifications/cancelled', async () => {
    const before = await slowStats(capable);
    const started = performance.now();
    const r = await exec(capable, 'echo', 'slow', { ms: 60_000 }, { timeout_ms: 300 });
    const elapsed = performance.now() - started;
    expect(r.isError).toBe(true);
    expect(errorOf(r)).toMatchObject({ code: 'TIMEOUT', message: 'Tool execution timed out after 300ms' });
    expect(textOf(r)).toBe('Tool execution timed out after 300ms');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(10_000);
    await waitFor(async () => (await slowStats(capable)).cancelled === before.cancelled + 1, {
      timeoutMs: 10_000,
      message: 'downstream never saw notifications/cancelled after the timeout',
    });
  });

  it('concurrent calls: cancelling one leaves the others running to completion', async () => {
    const before = await slowStats(capable);
    const controller = new AbortController();
    const victim = exec(capable, 'echo', 'slow', { ms: 60_000 }, {}, { signal: controller.signal, timeout: 120_000 });
    victim.catch(() => {});
    const survivors = [exec(capable, 'echo', 'slow', { ms: 1500 }), exec(capable, 'echo', 'slow', { ms: 1500 })];
    await waitFor(async () => (await slowStats(capable)).started >= before.started + 3, { timeoutMs: 15_000 });
    controller.abort();
    await expect(victim).rejects.toThrow();
    const results = await Promise.all(survivors);
    expect(results.map(textOf)).toEqual(['slept 1500', 'slept 1500']);
    await waitFor(async () => (await slowStats(capable)).cancelled === before.cancelled + 1, { timeoutMs: 10_000 });
    expect((await slowStats(capable)).completed).toBe(before.completed + 2);
  });
});

// ------------------------------------------------------------------------------------------
describe('server-to-client requests go to the calling client', () => {
  it('elicitation: echo `elicit` is answered by the client and the answer comes back', async () => {
    const n = elicitations.length;
    const r = await exec(capable, 'echo', 'elicit');
    expect(r.isError).not.toBe(true);
    expect(textOf(r)).toBe('forty-two');
    expect(r.structuredContent).toEqual({ action: 'accept', content: { answer: 'forty-two' } });
    expect(elicitations.length).toBe(n + 1);
    expect(elicitations[n]).toMatchObject({ message: 'Need input' });
  });

  it('sampling: echo `sample` is answered by the client and the answer comes back', async () => {
    const n = samplings.length;
    const r = await exec(capable, 'echo', 'sample');
    expect(r.isError).not.toBe(true);
    expect(textOf(r)).toBe('sampled by the test client');
    expect(r.structuredContent).toEqual({ model: 'test-model-1', role: 'assistant', text: 'sampled by the test client' });
    expect(samplings.length).toBe(n + 1);
    expect(samplings[n]).toMatchObject({ maxTokens: 10, messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }] });
  });

  it('roots: echo `roots` gets the client’s roots', async () => {
    const n = rootsAsked;
    const r = await exec(capable, 'echo', 'roots');
    expect(r.isError).not.toBe(true);
    expect(JSON.parse(textOf(r))).toEqual([{ uri: 'file:///tmp/gateway-test-root', name: 'test-root' }]);
    expect(rootsAsked).toBeGreaterThan(n);
  });

  it('a client without elicitation gets a clear error result naming the capability (no hang)', async () => {
    const started = performance.now();
    const r = await exec(incapable, 'echo', 'elicit', {}, {}, { timeout: 15_000 });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/does not support elicitation/);
  });

  it('a client without sampling gets a clear error result naming the capability (no hang)', async () => {
    const r = await exec(incapable, 'echo', 'sample', {}, {}, { timeout: 15_000 });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/does not support sampling/);
  });

  it('a client without roots gets a clear error result naming the capability (no hang)', async () => {
    const r = await exec(incapable, 'echo', 'roots', {}, {}, { timeout: 15_000 });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/does not support roots/);
  });

  it('the refusals leave the gateway working', async () => {
    expect(textOf(await exec(incapable, 'echo', 'echo', { message: 'ok' }))).toBe('ok');
  });
});

// ------------------------------------------------------------------------------------------
describe('server-everything’s elicitation, sampling and roots tools', () => {
  it('registers them (the gateway declares the capabilities downstream)', async () => {
    await waitForEverythingTools(capable, ['trigger-elicitation-request', 'trigger-sampling-request', 'get-roots-list']);
  });

  it('trigger-elicitation-request: the client’s form answer comes back', async () => {
    const n = elicitations.length;
    const r = await exec(capable, 'everything', 'trigger-elicitation-request', {}, {}, { timeout: 30_000 });
    expect(r.isError).not.toBe(true);
    const text = textOf(r);
    expect(text).toContain('User provided the requested information');
    expect(text).toContain('Name: Ada Lovelace');
    expect(elicitations.length).toBe(n + 1);
    expect(elicitations[n]?.message).toMatch(/Please provide inputs/);
  });

  it('trigger-sampling-request: the client’s sampled message comes back', async () => {
    const n = samplings.length;
    const r = await exec(capable, 'everything', 'trigger-sampling-request', { prompt: 'say hi', maxTokens: 5 }, {}, { timeout: 30_000 });
    expect(r.isError).not.toBe(true);
    expect(textOf(r)).toContain('sampled by the test client');
    expect(textOf(r)).toContain('test-model-1');
    expect(samplings.length).toBe(n + 1);
    expect(samplings[n]).toMatchObject({ maxTokens: 5 });
    expect(JSON.stringify(samplings[n]?.messages)).toContain('say hi');
  });

  it('get-roots-list: shows the client’s roots', async () => {
    const r = await exec(capable, 'everything', 'get-roots-list', {}, {}, { timeout: 30_000 });
    expect(r.isError).not.toBe(true);
    expect(textOf(r)).toContain('file:///tmp/gateway-test-root');
  });

  it('a client without the capabilities gets error results naming them', async () => {
    await waitForEverythingTools(incapable, ['trigger-elicitation-request', 'trigger-sampling-request']);
    const e = await exec(incapable, 'everything', 'trigger-elicitation-request', {}, {}, { timeout: 15_000 });
    expect(e.isError).toBe(true);
    expect(textOf(e)).toMatch(/does not support elicitation/);
    const s = await exec(incapable, 'everything', 'trigger-sampling-request', { prompt: 'x' }, {}, { timeout: 15_000 });
    expect(s.isError).toBe(true);
    expect(textOf(s)).toMatch(/does not support sampling/);
  });
});
