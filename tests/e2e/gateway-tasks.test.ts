// The tasks extension (io.modelcontextprotocol/tasks, 2026-07-28) through the built gateway:
// two copies of the v2-tasks fixture as servers `alpha` and `beta`, both handing out `task-1`.
// A 2026 client speaking raw JSON-RPC (a v2 Client refuses `resultType: "task"`, see
// era-tasks-fixture.test.ts) gets namespaced task ids, polls tasks/get to the inlined result,
// answers a parked task with tasks/update and cancels one; an id it was not given is -32602
// whatever its shape; a client without the extension gets plain results. Over /mcp, another
// agent (its own token) cannot see, update or cancel the first agent's task.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraFixture } from '../fixtures/era/eraHarness.js';
import { readJsonl } from '../helpers/gateway.js';
import { baseEnv, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { GATEWAY_MAIN } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { spawnRaw, type JsonRpcResponse, type RawStdioPeer } from '../helpers/rawStdio.js';
import { cleanupTmpDirs, makeTmpDir, writeJson } from '../helpers/tmp.js';

const MARKER = `gw-tasks-${process.pid}-${Date.now()}`;
const ENV: Record<string, string> = { ...baseEnv(), GW_E2E_MARKER: MARKER };
const TASKS = 'io.modelcontextprotocol/tasks';
const MODERN = '2026-07-28';
const TIMEOUT_MS = 30_000;
const TASK_SERVER = { command: process.execPath, args: [eraFixture('v2-tasks.mjs')] };
const SERVERS = { alpha: TASK_SERVER, beta: TASK_SERVER };
const RULES = { agents: { a: { allow: { servers: ['*'] } } } };

type Answer = JsonRpcResponse;

/** The 2026 envelope of a request; `tasks` declares the extension. */
function envelope(tasks: boolean): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: 'tasks-test', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': tasks ? { extensions: { [TASKS]: {} } } : {},
  };
}

/** One way of sending a 2026 request to the gateway (stdio or /mcp). */
type Send = (method: string, params: Record<string, unknown>, tasks?: boolean, isolationKey?: string) => Promise<Answer>;

async function untilStatus(send: Send, taskId: string, status: string): Promise<Record<string, unknown>> {
  let last: Answer | undefined;
  await waitFor(
    async () => {
      last = await send('tasks/get', { taskId });
      return last.result?.['status'] === status;
    },
    { timeoutMs: TIMEOUT_MS, intervalMs: 50, message: `task ${taskId} never reached ${status}: ${JSON.stringify(last)}` },
  );
  return last!.result!;
}

const peers: RawStdioPeer[] = [];
const gateways: HttpGw[] = [];
async function closeAll(): Promise<void> {
  for (const peer of peers.splice(0)) {
    peer.endStdin();
    await peer.exit;
  }
  for (const gw of gateways.splice(0)) {
    await gw.stop();
    gw.kill();
  }
}
afterAll(async () => {
  await closeAll();
  cleanupTmpDirs();
});
guardAgainstLeaks(MARKER, { close: closeAll, what: 'gateway or v2-tasks servers left behind' });

function startStdio(extraArgs: string[], servers: object = SERVERS): { send: Send; auditPath: string } {
  const dir = makeTmpDir('amg-tasks-');
  const mcp = join(dir, '.mcp.json');
  const rules = join(dir, '.mcp-gateway-rules.json');
  const auditPath = join(dir, 'audit.jsonl');
  writeJson(mcp, { mcpServers: servers });
  writeJson(rules, RULES);
  const peer = spawnRaw(process.execPath, [GATEWAY_MAIN, '--mcp-config', mcp, '--rules', rules, '--audit-log', auditPath, ...extraArgs], { env: ENV, cwd: dir });
  peers.push(peer);
  const send: Send = (method, params, tasks = true) => peer.request(method, { ...params, _meta: envelope(tasks) }, TIMEOUT_MS);
  return { send, auditPath };
}

describe('stdio, meta mode: tasks through execute_tool', () => {
  let send: Send;
  let auditPath: string;
  const call = (server: string, args: Record<string, unknown>, tasks = true) =>
    send('tools/call', { name: 'execute_tool', arguments: { agent_id: 'a', server, tool: 'slow_job', args } }, tasks);

  beforeAll(() => {
    ({ send, auditPath } = startStdio([]));
  });

  it('advertises the tasks extension to a 2026 client', async () => {
    const discover = await send('server/discover', {});
    expect(discover.result?.['capabilities']).toMatchObject({ extensions: { [TASKS]: {} } });
  });

  it('namespaces the task-1 of two servers apart and inlines the result once done', async () => {
    const a = await call('alpha', { ms: 200 });
    const b = await call('beta', { ms: 600_000 });
    expect(a.result).toMatchObject({ resultType: 'task', status: 'working', ttlMs: 600_000, pollIntervalMs: 50 });
    const alphaId = a.result?.['taskId'] as string;
    const betaId = b.result?.['taskId'] as string;
    expect(alphaId).toMatch(/^alpha\/\d+\.task-1$/);
    expect(betaId).toMatch(/^beta\/\d+\.task-1$/);

    const done = await untilStatus(send, alphaId, 'completed');
    expect(done['taskId']).toBe(alphaId);
    expect(done['result']).toEqual({ content: [{ type: 'text', text: 'slept 200ms' }] });
    expect((await send('tasks/get', { taskId: betaId })).result?.['status']).toBe('working');

    const ack = await send('tasks/cancel', { taskId: betaId });
    expect(ack.error).toBeUndefined();
    expect((await send('tasks/get', { taskId: betaId })).result?.['status']).toBe('cancelled');
  });

  it('takes tasks/update answers to the task that asked', async () => {
    const created = await call('alpha', { ms: 0, ask: true });
    const taskId = created.result?.['taskId'] as string;
    expect(created.result?.['status']).toBe('input_required');
    const parked = await send('tasks/get', { taskId });
    expect(parked.result?.['inputRequests']).toMatchObject({ confirm: { method: 'elicitation/create' } });

    const ack = await send('tasks/update', { taskId, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } });
    expect(ack.error).toBeUndefined();
    const done = await untilStatus(send, taskId, 'completed');
    expect(done['result']).toEqual({ content: [{ type: 'text', text: 'slept 0ms, confirm=true' }] });
  });

  it('answers every id it did not hand out with the same -32602', async () => {
    const created = await call('alpha', { ms: 600_000 });
    const real = created.result?.['taskId'] as string;
    const downstreamId = real.slice(real.indexOf('.') + 1);
    for (const taskId of ['alpha/999.task-1', downstreamId, `beta/${real.slice('alpha/'.length)}`, 'nope', 42, 'x'.repeat(5000)]) {
      for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
        const answer = await send(method, { taskId, inputResponses: {} });
        expect(answer.error, `${method} ${String(taskId).slice(0, 40)}`).toEqual({ code: -32602, message: 'Unknown taskId' });
      }
    }
    await send('tasks/cancel', { taskId: real });
  });

  it('gives a client without the extension a plain result, and -32021 for tasks/*', async () => {
    const plain = await call('alpha', { ms: 10 }, false);
    expect(plain.result).toMatchObject({ content: [{ type: 'text', text: 'slept 10ms' }] });
    expect(plain.result?.['resultType']).toBe('complete');
    const refused = await send('tasks/get', { taskId: 'alpha/1.task-1' }, false);
    expect(refused.error?.code).toBe(-32021);
    expect(refused.error?.data).toEqual({ requiredCapabilities: { extensions: { [TASKS]: {} } } });
  });

  it('audits tasks/* with server and tool, never the answers', async () => {
    await waitFor(() => readJsonl(auditPath).some((l) => l['operation'] === 'tasks/update'), { timeoutMs: TIMEOUT_MS });
    const lines = readJsonl(auditPath).filter((l) => String(l['operation']).startsWith('tasks/'));
    expect(new Set(lines.map((l) => l['operation']))).toEqual(new Set(['tasks/get', 'tasks/update', 'tasks/cancel']));
    for (const line of lines) expect(line).toMatchObject({ agent: 'a', tool: 'slow_job', decision: 'ALLOW' });
    expect(JSON.stringify(lines)).not.toContain('accept');
  });
});

describe('stdio, what has no task', () => {
  it('a 2025 client is never offered one, even declaring the extension; tasks/result and tasks/list do not exist in 2026', async () => {
    const dir = makeTmpDir('amg-tasks-');
    writeJson(join(dir, 'mcp.json'), { mcpServers: SERVERS });
    writeJson(join(dir, 'rules.json'), RULES);
    const legacy = spawnRaw(process.execPath, [GATEWAY_MAIN, '--mcp-config', join(dir, 'mcp.json'), '--rules', join(dir, 'rules.json'), '--audit-log', 'off'], {
      env: ENV,
      cwd: dir,
    });
    peers.push(legacy);
    const init = await legacy.request('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: { extensions: { [TASKS]: {} } },
      clientInfo: { name: 'tasks-test-2025', version: '1.0.0' },
    });
    expect(init.error).toBeUndefined();
    legacy.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const plain = await legacy.request(
      'tools/call',
      { name: 'execute_tool', arguments: { agent_id: 'a', server: 'alpha', tool: 'slow_job', args: { ms: 10 } } },
      TIMEOUT_MS,
    );
    expect(plain.result).toMatchObject({ content: [{ type: 'text', text: 'slept 10ms' }] });
    expect(plain.result).not.toHaveProperty('taskId');

    const { send } = startStdio([]);
    for (const method of ['tasks/result', 'tasks/list']) expect((await send(method, { taskId: 'alpha/1.task-1' })).error?.code, method).toBe(-32601);
  });
});

describe('stdio, a restarted server', () => {
  it('takes its tasks with it: the old id is -32602, not the new process task-1', async () => {
    const startLog = join(makeTmpDir('amg-tasks-log-'), 'starts.log');
    const { send } = startStdio([], { alpha: { ...TASK_SERVER, env: { ERA_START_LOG: startLog } } });
    const call = () => send('tools/call', { name: 'execute_tool', arguments: { agent_id: 'a', server: 'alpha', tool: 'slow_job', args: { ms: 600_000 } } });
    const before = (await call()).result?.['taskId'] as string;
    expect(before).toMatch(/^alpha\/\d+\.task-1$/);
    const pid = Number(readFileSync(startLog, 'utf8').trim().split(/\s+/).pop());
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await send('tasks/get', { taskId: before })).error?.code === -32602, { timeoutMs: TIMEOUT_MS });

    // The call starts the server again, whose first task is task-1 again, under another name.
    let after: string | undefined;
    await waitFor(
      async () => {
        after = (await call()).result?.['taskId'] as string | undefined;
        return after !== undefined;
      },
      { timeoutMs: TIMEOUT_MS, intervalMs: 200 },
    );
    expect(after).toMatch(/^alpha\/\d+\.task-1$/);
    expect(after).not.toBe(before);
    expect((await send('tasks/get', { taskId: after! })).result?.['status']).toBe('working');
    expect((await send('tasks/get', { taskId: before })).error).toEqual({ code: -32602, message: 'Unknown taskId' });
    await send('tasks/cancel', { taskId: after! });
  });
});

describe('stdio, native mode', () => {
  it('hands out and serves tasks of a native tool', async () => {
    const { send } = startStdio(['--mode', 'native', '--agent', 'a']);
    const created = await send('tools/call', { name: 'beta__slow_job', arguments: { ms: 50 } });
    const taskId = created.result?.['taskId'] as string;
    expect(taskId).toMatch(/^beta\/\d+\.task-1$/);
    const done = await untilStatus(send, taskId, 'completed');
    expect(done['result']).toEqual({ content: [{ type: 'text', text: 'slept 50ms' }] });
  });
});

describe('/mcp: a task belongs to the agent that created it', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const ALICE = 'alice-tasks-token';
  const BOB = 'bob-tasks-token';
  let gw: HttpGw;

  /** A 2026 POST with the routing headers the SDK checks against the body. */
  const post =
    (token: string): Send =>
    async (method, params, tasks = true, isolationKey?: string) => {
      const name = method === 'tools/call' ? params['name'] : method.startsWith('tasks/') ? params['taskId'] : undefined;
      const response = await fetch(`${gw.url}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
          'mcp-protocol-version': MODERN,
          'mcp-method': method,
          ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method,
          params: { ...params, _meta: { ...envelope(tasks), ...(isolationKey !== undefined ? { 'io.agent-mcp-gateway/isolationKey': isolationKey } : {}) } },
        }),
      });
      const text = await response.text();
      const json = text.startsWith('{')
        ? text
        : text
            .split('\n')
            .find((l) => l.startsWith('data: '))!
            .slice('data: '.length);
      return JSON.parse(json) as Answer;
    };

  beforeAll(async () => {
    gw = await startHttpGateway({
      mcpServers: { ...SERVERS, solo: { ...TASK_SERVER, isolation: 'session' } },
      rules: {
        agents: { alice: { allow: { servers: ['*'] } }, bob: { allow: { servers: ['*'] } } },
        credentials: { [sha256(ALICE)]: 'alice', [sha256(BOB)]: 'bob' },
      },
      args: ['--mode', 'native'],
      env: { GW_E2E_MARKER: MARKER },
    });
    gateways.push(gw);
  });

  it('another agent gets -32602 for it, its owner gets the task', async () => {
    const alice = post(ALICE);
    const bob = post(BOB);
    const created = await alice('tools/call', { name: 'alpha__slow_job', arguments: { ms: 0, ask: true } });
    const taskId = created.result?.['taskId'] as string;
    expect(taskId).toMatch(/^alpha\/\d+\.task-1$/);

    for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
      const answer = await bob(method, { taskId, inputResponses: { confirm: { action: 'accept', content: { confirm: false } } } });
      expect(answer.error, method).toEqual({ code: -32602, message: 'Unknown taskId' });
    }
    expect((await alice('tasks/get', { taskId })).result?.['status']).toBe('input_required');
    expect((await alice('tasks/update', { taskId, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } })).error).toBeUndefined();
    const done = await untilStatus(alice, taskId, 'completed');
    expect(done['result']).toEqual({ content: [{ type: 'text', text: 'slept 0ms, confirm=true' }] });
  });
  it('a task of a session-isolated server is reached only with the isolation key it was created under', async () => {
    const alice = post(ALICE);
    const solo = { name: 'solo__slow_job', arguments: { ms: 600_000 } };
    const created = await alice('tools/call', solo, true, 'k1');
    expect(created.result?.['taskId'], JSON.stringify(created)).toBeDefined();
    const taskId = created.result?.['taskId'] as string;
    expect(taskId).toMatch(/^solo\/\d+\.task-1$/);
    // Key k2 has an instance of its own, with a task-1 of its own under another name.
    const other = await alice('tools/call', solo, true, 'k2');
    expect(other.result?.['taskId']).toMatch(/^solo\/\d+\.task-1$/);
    expect(other.result?.['taskId']).not.toBe(taskId);

    expect((await alice('tasks/get', { taskId }, true, 'k2')).error).toEqual({ code: -32602, message: 'Unknown taskId' });
    expect((await alice('tasks/get', { taskId }, true, 'k1')).result?.['status']).toBe('working');
    expect((await alice('tasks/cancel', { taskId }, true, 'k1')).error).toBeUndefined();
    expect((await alice('tasks/cancel', { taskId: other.result?.['taskId'] }, true, 'k2')).error).toBeUndefined();
  });
});
