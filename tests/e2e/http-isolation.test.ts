// Per-session and per-agent server instances (issue 6), over the REST API of the built
// gateway with real downstream processes: the todo fixture keeps its list in its process,
// so a shared process would show one session's todos to another.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_MARKER_VAR, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { isAlive, processesWithEnv, waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

const SERVER_VAR = 'AMG_ISOLATION_SERVER';

/** A stdio server whose processes carry the gateway's test marker and their server name. */
function server(name: string, file: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    command: process.execPath,
    args: [fixture(file)],
    env: { [HTTP_MARKER_VAR]: `\${${HTTP_MARKER_VAR}}`, [SERVER_VAR]: name },
    ...extra,
  };
}

/** The gateway with alice as the fallback agent (calls without agent_id act as alice). */
function start(opts: Parameters<typeof startHttpGateway>[0]): Promise<HttpGw> {
  return startHttpGateway({ ...opts, env: { GATEWAY_DEFAULT_AGENT: 'alice', ...opts.env } });
}

const RULES = {
  agents: { alice: { allow: { servers: ['*'] } }, bob: { allow: { servers: ['*'] } } },
  defaults: { deny_on_missing_agent: false },
};

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

function client(gw: () => HttpGw, headers: Record<string, string> = {}) {
  const req = async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${gw().url}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
  const call = (service: string, tool: string, sessionId: string, extra: Record<string, unknown> = {}) =>
    req('POST', `/services/${service}/call`, { tool, session_id: sessionId, ...extra });
  /** Live processes of one configured server. */
  const pidsOf = (name: string): number[] =>
    processesWithEnv(HTTP_MARKER_VAR, gw().marker)
      .filter((p) => readEnviron(p.pid).includes(`${SERVER_VAR}=${name}`))
      .map((p) => p.pid)
      .sort((a, b) => a - b);
  return { req, call, pidsOf };
}

function readEnviron(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

describe('isolation "session" over REST', () => {
  let gw: HttpGw;
  const { req, call, pidsOf } = client(() => gw);
  beforeAll(async () => {
    gw = await start({
      mcpServers: {
        todo: server('todo', 'todo', { isolation: 'session' }),
        slow: server('slow', 'slow-start', {
          isolation: 'session',
          env: { SLOW_START_MS: '3000', [HTTP_MARKER_VAR]: `\${${HTTP_MARKER_VAR}}`, [SERVER_VAR]: 'slow' },
        }),
        echo: server('echo', 'echo'),
      },
      rules: RULES,
      args: ['--session-cleanup-interval', '0.2'],
    });
  });
  afterAll(async () => {
    if (gw) {
      await gw.stop();
      gw.kill();
    }
  });

  it("keeps a session's todos across its calls and shows them to no other session", async () => {
    expect((await call('todo', 'add_todo', 'call-A', { arguments: { text: 'milk' } })).body['result']).toBe('Added todo #1: milk (priority: medium)');
    expect((await call('todo', 'add_todo', 'call-A', { arguments: { text: 'eggs', priority: 'high' } })).body['result']).toBe(
      'Added todo #2: eggs (priority: high)',
    );
    expect((await call('todo', 'list_todos', 'call-B')).body['result']).toBe('No all todos found');
    expect((await call('todo', 'add_todo', 'call-B', { arguments: { text: 'bread' } })).body['result']).toBe('Added todo #1: bread (priority: medium)');
    expect((await call('todo', 'list_todos', 'call-A')).body['result']).toBe('Todo List (all):\n○ #1 [medium] milk\n○ #2 [high] eggs');
    const a = Number((await call('todo', 'pid', 'call-A')).body['result']);
    const b = Number((await call('todo', 'pid', 'call-B')).body['result']);
    expect(a).not.toBe(b);
    expect(pidsOf('todo')).toEqual(expect.arrayContaining([a, b]));
  });

  it('GET /sessions shows service, agent, times, timeout, metadata and pid', async () => {
    await call('todo', 'add_todo', 'call-S', { arguments: { text: 'x' }, agent_id: 'bob', timeout: 120, metadata: { caller: '+1555' } });
    const pid = Number((await call('todo', 'pid', 'call-S')).body['result']);
    const s = ((await req('GET', '/sessions')).body as Record<string, Record<string, unknown>>)['call-S']!;
    expect(s).toMatchObject({ service_name: 'todo', service: 'todo', agent: 'bob', timeout: 120, metadata: { caller: '+1555' }, pid });
    expect(s['time_remaining']).toBeGreaterThan(0);
    expect(s['time_remaining']).toBeLessThanOrEqual(120);
    expect(Date.parse(String(s['created_at']))).not.toBeNaN();
    expect(Date.parse(String(s['last_accessed']))).not.toBeNaN();
  });

  it('DELETE /sessions/:id closes the instance: its process is gone when the answer comes', async () => {
    const pid = Number((await call('todo', 'pid', 'call-D')).body['result']);
    expect(isAlive(pid)).toBe(true);
    expect((await req('DELETE', '/sessions/call-D')).status).toBe(200);
    expect(isAlive(pid)).toBe(false);
    expect(pidsOf('todo')).not.toContain(pid);
    // The next call with that id starts afresh.
    expect((await call('todo', 'list_todos', 'call-D')).body['result']).toBe('No all todos found');
  });

  it('an idle instance is closed after its timeout; the next call starts a fresh one', async () => {
    await call('todo', 'add_todo', 'call-I', { arguments: { text: 'forget me' }, timeout: 1 });
    const pid = Number((await call('todo', 'pid', 'call-I', { timeout: 1 })).body['result']);
    await waitFor(() => !isAlive(pid), { timeoutMs: 20_000, message: 'idle instance never closed' });
    expect((await call('todo', 'list_todos', 'call-I')).body['result']).toBe('No all todos found');
  });

  it('a session is bound to its service: another service with the same id is 409', async () => {
    await call('todo', 'list_todos', 'call-X');
    const other = await call('echo', 'echo', 'call-X', { arguments: { message: 'hi' } });
    expect(other.status).toBe(409);
    expect(other.body).toEqual({ error: "Session call-X is for service 'todo', not 'echo'", code: 'SESSION_CONFLICT' });
  });

  it('two concurrent first calls of one session create one instance', async () => {
    const before = pidsOf('todo');
    const answers = await Promise.all([1, 2, 3].map(() => call('todo', 'pid', 'call-C')));
    const pids = new Set(answers.map((a) => a.body['result']));
    expect(pids.size).toBe(1);
    const started = pidsOf('todo').filter((p) => !before.includes(p));
    expect(started).toEqual([Number([...pids][0])]);
  });

  it('a dead instance is reported once (its state was lost), then the session starts fresh', async () => {
    await call('todo', 'add_todo', 'call-K', { arguments: { text: 'doomed' } });
    const pid = Number((await call('todo', 'pid', 'call-K')).body['result']);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid), { message: 'todo did not die' });
    // Found dead either by the sweep or by this call: the answer is the same.
    const lost = await call('todo', 'list_todos', 'call-K');
    expect(lost.status).toBe(503);
    expect(lost.body['code']).toBe('SERVER_UNAVAILABLE');
    expect(String(lost.body['error'])).toMatch(/session "call-K" is gone and its state was lost/);
    const fresh = await call('todo', 'list_todos', 'call-K');
    expect(fresh.status).toBe(200);
    expect(fresh.body['result']).toBe('No all todos found');
    expect(Number((await call('todo', 'pid', 'call-K')).body['result'])).not.toBe(pid);
  });

  it('starting an instance of one server does not hold up calls to another', async () => {
    let slowDone = false;
    const slow = call('slow', 'ping_me', 'call-slow').then((a) => {
      slowDone = true;
      return a;
    });
    await waitFor(() => pidsOf('slow').length === 1, { message: 'slow server never started' });
    expect((await call('todo', 'list_todos', 'call-fast')).status).toBe(200);
    expect(slowDone).toBe(false);
    expect((await slow).body['result']).toBe('pong');
  });
});

describe('isolation "session" on /mcp: the MCP session is the session', () => {
  let gw: HttpGw;
  const { pidsOf } = client(() => gw);
  beforeAll(async () => {
    gw = await start({ mcpServers: { todo: server('todo', 'todo', { isolation: 'session' }) }, rules: RULES });
  });
  afterAll(async () => {
    if (gw) {
      await gw.stop();
      gw.kill();
    }
  });
  const connect = async (): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> => {
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`));
    const mcp = new Client({ name: 'isolation-test', version: '1.0.0' });
    await mcp.connect(transport);
    return { client: mcp, transport };
  };
  const todo = async (c: Client, tool: string, args: Record<string, unknown> = {}): Promise<string> => {
    const r: CallToolResult = await c.request(
      { method: 'tools/call', params: { name: 'execute_tool', arguments: { server: 'todo', tool, args } } },
      CallToolResultSchema,
    );
    const first = r.content[0];
    return first?.type === 'text' ? first.text : '';
  };

  it('each MCP session has its own instance; ending the session ends its process', async () => {
    const one = await connect();
    const two = await connect();
    expect(await todo(one.client, 'add_todo', { text: 'one' })).toBe('Added todo #1: one (priority: medium)');
    expect(await todo(two.client, 'list_todos')).toBe('No all todos found');
    expect(await todo(one.client, 'list_todos')).toBe('Todo List (all):\n○ #1 [medium] one');
    const pid = Number(await todo(one.client, 'pid'));
    expect(pidsOf('todo')).toHaveLength(2);
    await one.transport.terminateSession();
    await one.client.close();
    await waitFor(() => !isAlive(pid), { message: 'the instance of the closed MCP session is still running' });
    expect(pidsOf('todo')).toHaveLength(1);
    await two.client.close();
  });
});

describe('limits', () => {
  let gw: HttpGw;
  const { call, pidsOf } = client(() => gw);
  beforeAll(async () => {
    gw = await start({
      mcpServers: { todo: server('todo', 'todo', { isolation: 'session' }), todo2: server('todo2', 'todo', { isolation: 'session' }) },
      rules: RULES,
      // One identity here: its own cap (a quarter of the total by default) is raised past the total, so the gateway's limits answer.
      args: ['--max-sessions-per-service', '2', '--max-total-sessions', '3', '--max-sessions-per-identity', '4'],
    });
  });
  afterAll(async () => {
    if (gw) {
      await gw.stop();
      gw.kill();
    }
  });

  it('max_sessions_per_service and max_total_sessions answer 503 and start no process', async () => {
    expect((await call('todo', 'list_todos', 's1')).status).toBe(200);
    expect((await call('todo', 'list_todos', 's2')).status).toBe(200);
    const perService = await call('todo', 'list_todos', 's3');
    expect(perService.status).toBe(503);
    expect(perService.body['code']).toBe('TOO_MANY_SESSIONS');
    expect(String(perService.body['error'])).toContain('max_sessions_per_service');
    expect(pidsOf('todo')).toHaveLength(2);

    expect((await call('todo2', 'list_todos', 's4')).status).toBe(200);
    const total = await call('todo2', 'list_todos', 's5');
    expect(total.status).toBe(503);
    expect(String(total.body['error'])).toContain('max_total_sessions');
    expect(pidsOf('todo2')).toHaveLength(1);
    // Existing sessions still work at the limit.
    expect((await call('todo', 'list_todos', 's1')).status).toBe(200);
  });
});

describe('isolation "agent"', () => {
  let gw: HttpGw;
  const { call } = client(() => gw);
  beforeAll(async () => {
    gw = await start({ mcpServers: { todo: server('todo', 'todo', { isolation: 'agent' }) }, rules: RULES });
  });
  afterAll(async () => {
    if (gw) {
      await gw.stop();
      gw.kill();
    }
  });

  it("one instance per agent: an agent's sessions share it, another agent never sees it", async () => {
    await call('todo', 'add_todo', 'a-1', { arguments: { text: 'alice thing' }, agent_id: 'alice' });
    expect((await call('todo', 'list_todos', 'a-2', { agent_id: 'alice' })).body['result']).toBe('Todo List (all):\n○ #1 [medium] alice thing');
    expect((await call('todo', 'list_todos', 'b-1', { agent_id: 'bob' })).body['result']).toBe('No all todos found');
  });
});

describe('sandbox', () => {
  let gw: HttpGw;
  let sandboxDir: string;
  const { req, call, pidsOf } = client(() => gw, { Authorization: 'Bearer gateway-secret-token' });
  const probe = async (service: string, session: string) => {
    const a = await call(service, 'probe', session);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    return a.body['structuredContent'] as {
      pid: number;
      cwd: string;
      home: string;
      homeExists: boolean;
      env: Record<string, string>;
      limits: Record<string, { soft: string; hard: string }>;
    };
  };
  beforeAll(async () => {
    sandboxDir = makeTmpDir('amg-sandbox-');
    const marker = { [HTTP_MARKER_VAR]: `\${${HTTP_MARKER_VAR}}` };
    gw = await start({
      mcpServers: {
        strict: server('strict', 'sandbox-probe', {
          isolation: 'session',
          env: { ...marker, [SERVER_VAR]: 'strict', OWN_SETTING: 'kept', LD_PRELOAD: '/nonexistent/evil.so' },
          sandbox: { enabled: true, limits: { cpu_seconds: 120, memory_mb: 768, processes: 50, file_size_mb: 5 } },
        }),
        loose: server('loose', 'sandbox-probe', {
          isolation: 'session',
          sandbox: { enabled: true, restricted_env: false, resource_limits: false },
        }),
        plain: server('plain', 'sandbox-probe', { isolation: 'session' }),
        // A Node.js server under SignalWire's default limits (512 MiB): it must start and answer.
        todo: server('todo', 'todo', { isolation: 'session', sandbox: { enabled: true } }),
      },
      rules: RULES,
      args: ['--sandbox-dir', sandboxDir],
      env: {
        GATEWAY_AUTH_TOKEN: 'gateway-secret-token',
        GATEWAY_RATE_LIMIT_STORAGE: 'memory',
        FROM_GATEWAY_ENV: 'visible-when-not-restricted',
        LD_LIBRARY_PATH: '/nonexistent/lib',
        DYLD_INSERT_LIBRARIES: '/nonexistent/dyld.dylib',
        NODE_PATH: '/opt/node-path',
      },
    });
  });
  afterAll(async () => {
    if (gw) {
      await gw.stop();
      gw.kill();
    }
  });
  it('applies the limits at spawn: /proc/<pid>/limits of the child shows them; no address-space limit', async () => {
    const p = await probe('strict', 'lim-1');
    expect(p.limits['Max cpu time']).toEqual({ soft: '120', hard: '120' });
    expect(p.limits['Max data size']).toEqual({ soft: String(768 * 1024 * 1024), hard: String(768 * 1024 * 1024) });
    expect(p.limits['Max file size']).toEqual({ soft: String(5 * 1024 * 1024), hard: String(5 * 1024 * 1024) });
    // 16 tasks per process (threads count); a non-root user gets its current count on top.
    expect(Number(p.limits['Max processes']?.soft)).toBeGreaterThanOrEqual(50 * 16);
    expect(p.limits['Max address space']).toEqual({ soft: 'unlimited', hard: 'unlimited' });
    // The same, read by the test from the outside.
    const outside = readFileSync(`/proc/${p.pid}/limits`, 'utf8');
    expect(outside).toMatch(new RegExp(`Max data size\\s+${768 * 1024 * 1024}\\s+${768 * 1024 * 1024}`));
  });

  it('the memory limit is in force: an allocation within it works, one beyond it fails', async () => {
    const small = await call('strict', 'allocate', 'mem-1', { arguments: { mb: 64 } });
    expect(small.body['result']).toBe('allocated 64 MiB');
    const big = await call('strict', 'allocate', 'mem-1', { arguments: { mb: 1024 } });
    // RLIMIT_DATA refuses the mapping; Node.js reports it and the server lives on.
    expect(big.body).toMatchObject({ result: 'RangeError: Array buffer allocation failed', isError: true });
    expect((await call('strict', 'allocate', 'mem-1', { arguments: { mb: 8 } })).body['result']).toBe('allocated 8 MiB');
  });

  it("restricted_env: exactly PATH, HOME, TMPDIR, LANG, USER, NODE_PATH and the server's env; HOME is its own folder", async () => {
    const p = await probe('strict', 'env-1');
    expect(Object.keys(p.env).sort()).toEqual(['HOME', 'LANG', 'NODE_PATH', 'OWN_SETTING', 'PATH', 'TMPDIR', 'USER', HTTP_MARKER_VAR, SERVER_VAR].sort());
    expect(p.env['OWN_SETTING']).toBe('kept');
    expect(p.env['NODE_PATH']).toBe('/opt/node-path');
    expect(p.env['HOME']).toBe(p.env['TMPDIR']);
    expect(p.home.startsWith(`${sandboxDir}/`)).toBe(true);
    expect(p.homeExists).toBe(true);
    expect(p.cwd).toBe(p.home);
  });

  it('each instance has its own folder, removed when the instance closes and not before', async () => {
    const a = await probe('strict', 'dir-A');
    const b = await probe('strict', 'dir-B');
    expect(a.home).not.toBe(b.home);
    expect((await req('DELETE', '/sessions/dir-A')).status).toBe(200);
    const again = await probe('strict', 'dir-B');
    expect(again.homeExists).toBe(true);
    expect(existsSync(a.home)).toBe(false);
    expect(existsSync(b.home)).toBe(true);
  });

  it("never passes the gateway's credentials or loader variables, whatever the mode", async () => {
    const strict = await probe('strict', 'sec-1');
    const loose = await probe('loose', 'sec-2');
    const plain = await probe('plain', 'sec-3');
    for (const [mode, env] of [
      ['strict', strict.env],
      ['loose', loose.env],
      ['plain', plain.env],
    ] as const) {
      for (const name of ['GATEWAY_AUTH_TOKEN', 'GATEWAY_RATE_LIMIT_STORAGE', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES']) {
        expect(env[name], `${mode}: ${name}`).toBeUndefined();
      }
    }
    // Not restricted: the gateway's other variables pass, HOME and TMPDIR are still the sandbox folder.
    expect(loose.env['FROM_GATEWAY_ENV']).toBe('visible-when-not-restricted');
    expect(loose.env['HOME']?.startsWith(`${sandboxDir}/`)).toBe(true);
    expect(loose.env['TMPDIR']).toBe(loose.env['HOME']);
    expect(loose.limits['Max data size']).toEqual({ soft: 'unlimited', hard: 'unlimited' });
    // No sandbox: the server runs as configured.
    expect(plain.env['FROM_GATEWAY_ENV']).toBe('visible-when-not-restricted');
    expect(plain.home.startsWith(sandboxDir)).toBe(false);
  });

  it('a Node.js server starts and works under the default memory limit', async () => {
    const added = await call('todo', 'add_todo', 'node-1', { arguments: { text: 'works' } });
    expect(added.status).toBe(200);
    expect(added.body['result']).toBe('Added todo #1: works (priority: medium)');
    const [pid] = pidsOf('todo');
    expect(readFileSync(`/proc/${pid}/limits`, 'utf8')).toMatch(new RegExp(`Max data size\\s+${512 * 1024 * 1024}\\s`));
  });

  it('leaves no process and no sandbox folder behind after shutdown', async () => {
    const pids = processesWithEnv(HTTP_MARKER_VAR, gw.marker).map((p) => p.pid);
    expect(pids.length).toBeGreaterThan(0);
    expect(await gw.stop()).toBe(0);
    await waitFor(() => pids.every((pid) => !isAlive(pid)), { message: 'processes left after shutdown' });
    expect(readdirSync(sandboxDir)).toEqual([]);
  });
});

afterAll(() => cleanupTmpDirs());
