// Drop-in for SignalWire users (issue 6): their config.json, with `${VAR|default}`, starts the
// built gateway through both command lines (`agent-mcp-gateway --config` and `mcp-gateway
// -c`), and the curl sequence of their test_gateway.sh, rewritten with fetch, passes: health,
// services, tools, calls with a session_id (Basic and Bearer), sessions, delete. The calls
// are shaped as SignalWire's mcp_gateway skill sends them (metadata.agent_id = its agent name).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, basic, HTTP_MARKER_VAR, killLaunchedGateways, launchExpectingFailure, launchGateway, type LaunchedGateway } from '../helpers/httpGateway.js';
import { fixture, GATEWAY_MAIN, REPO_ROOT } from '../helpers/paths.js';
import { isAlive, processesWithEnv, waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir, writeJson } from '../helpers/tmp.js';

const MCP_GATEWAY_BIN = join(REPO_ROOT, 'dist', 'bin', 'mcp-gateway.js');
const EXAMPLE = join(REPO_ROOT, 'examples', 'signalwire', 'config.json');
const PASSWORD = 's3cret-from-env';
const TOKEN = 'tok-123';
const B = basic('admin', PASSWORD);
const T = `Bearer ${TOKEN}`;

/** A config.json as SignalWire users write it: every setting through `${VAR|default}`. */
function signalWireConfig(): object {
  return {
    server: {
      host: '${MCP_HOST|127.0.0.1}',
      port: '${MCP_PORT|0}',
      auth_user: '${MCP_AUTH_USER|admin}',
      auth_password: '${MCP_AUTH_PASSWORD}',
      auth_token: '${MCP_AUTH_TOKEN|}',
    },
    services: {
      todo: { command: ['node', fixture('todo')], description: 'Simple todo list for testing', enabled: true },
      greeter: { command: ['node', fixture('greeter')], description: '${GREETER_DESCRIPTION|Greets}', enabled: 'true' },
      off: { command: ['python3', 'x.py'], description: 'disabled', enabled: false },
    },
    session: {
      default_timeout: '${MCP_SESSION_TIMEOUT|300}',
      max_sessions_per_service: '${MCP_MAX_SESSIONS|100}',
      cleanup_interval: '${MCP_CLEANUP_INTERVAL|60}',
      sandbox_dir: './sandbox',
    },
    rate_limiting: {
      default_limits: ['1000 per hour'],
      tools_limit: '1000 per minute',
      call_limit: '1000 per minute',
      session_delete_limit: '1000 per minute',
      storage_uri: 'memory://',
    },
    logging: { level: '${MCP_LOG_LEVEL|INFO}', file: 'gateway.log' },
  };
}

type Started = LaunchedGateway & { readonly dir: string };

/** Runs `node <entry> ...args` in `cwd` until it logs its URL. HOME is a fresh folder, so no rules file of the machine's user is found. */
async function start(entry: string, args: string[], cwd: string, env: Record<string, string>): Promise<Started> {
  const gw = await launchGateway(entry, args, { cwd, env: { HOME: makeTmpDir('amg-sw-home-'), ...env } });
  return { ...gw, dir: cwd };
}

/** Runs the gateway expecting it to refuse to start: its exit code and stderr. */
function refused(entry: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return launchExpectingFailure(() => launchGateway(entry, args, { cwd, env: { HOME: makeTmpDir('amg-sw-home-'), ...env } }));
}

const ENV = { MCP_AUTH_PASSWORD: PASSWORD, MCP_AUTH_TOKEN: TOKEN };

function configDir(doc: object = signalWireConfig()): string {
  const dir = makeTmpDir('amg-sw-');
  writeJson(join(dir, 'config.json'), doc);
  return dir;
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

/** POST /services/:service/call as the skill sends it: Basic auth, session_id = call id, metadata with its agent name. */
async function call(base: string, service: string, body: Record<string, unknown>, auth = B): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/services/${service}/call`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { agent_id: 'greeter-agent', call_id: body['session_id'] }, ...body }),
  });
  return { status: res.status, body: await json(res) };
}

afterAll(async () => {
  killLaunchedGateways();
  cleanupTmpDirs();
});

/** test_gateway.sh's sequence, against one running gateway. */
function curlFlow(title: string, launch: () => Promise<Started>): void {
  describe(title, () => {
    let gw: Started;
    beforeAll(async () => {
      gw = await launch();
    });
    afterAll(async () => {
      expect(await gw.stop()).toBe(0);
      await waitFor(() => processesWithEnv(HTTP_MARKER_VAR, gw.marker).length === 0, { message: 'every child gone after SIGTERM' });
    });

    it('GET /health needs no credential', async () => {
      const res = await fetch(`${gw.url}/health`);
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ status: 'healthy' });
    });

    it('GET /services lists the enabled services (Basic from ${MCP_AUTH_PASSWORD}, Bearer from ${MCP_AUTH_TOKEN|})', async () => {
      for (const auth of [B, T]) {
        const res = await fetch(`${gw.url}/services`, { headers: { authorization: auth } });
        expect(res.status).toBe(200);
        const body = await json(res);
        expect(Object.keys(body).sort()).toEqual(['greeter', 'todo']);
        expect(body['todo']).toMatchObject({ description: 'Simple todo list for testing', enabled: true });
      }
      expect((await fetch(`${gw.url}/services`)).status).toBe(401);
      expect((await fetch(`${gw.url}/services`, { headers: { authorization: basic('admin', 'changeme') } })).status).toBe(401);
    });

    it('GET /services/todo/tools', async () => {
      const res = await fetch(`${gw.url}/services/todo/tools`, { headers: { authorization: B } });
      expect(res.status).toBe(200);
      const body = await json(res);
      expect(body['service']).toBe('todo');
      const tools = body['tools'] as { name: string; inputSchema: { required?: string[] } }[];
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['add_todo', 'list_todos', 'complete_todo']));
      expect(tools.find((t) => t.name === 'add_todo')?.inputSchema.required).toEqual(['text']);
    });

    it('POST /services/todo/call with a session_id keeps state across the calls of one session (Basic, then Bearer)', async () => {
      const added = await call(gw.url, 'todo', { tool: 'add_todo', arguments: { text: 'Test item' }, session_id: 'test-123', timeout: 300 });
      expect(added).toMatchObject({
        status: 200,
        body: { session_id: 'test-123', service: 'todo', tool: 'add_todo', result: 'Added todo #1: Test item (priority: medium)' },
      });
      const listed = await call(gw.url, 'todo', { tool: 'list_todos', session_id: 'test-123' }, T);
      expect(listed).toMatchObject({ status: 200, body: { result: 'Todo List (all):\n○ #1 [medium] Test item' } });
      const done = await call(gw.url, 'todo', { tool: 'complete_todo', arguments: { id: 1 }, session_id: 'test-123' });
      expect(done.body['result']).toBe('Completed todo #1: Test item');
      const missing = await call(gw.url, 'todo', { tool: 'complete_todo', arguments: { id: 99 }, session_id: 'test-123' });
      expect(missing).toMatchObject({ status: 200, body: { result: 'Todo #99 not found', isError: true } });
    });

    it('another session_id (another phone call) does not see those todos', async () => {
      const other = await call(gw.url, 'todo', { tool: 'list_todos', session_id: 'call-456' });
      expect(other).toMatchObject({ status: 200, body: { result: 'No all todos found' } });
      const again = await call(gw.url, 'todo', { tool: 'list_todos', session_id: 'test-123' });
      expect(again.body['result']).toBe('Todo List (all):\n✓ #1 [medium] Test item');
    });

    it('POST /services/greeter/call', async () => {
      const greeted = await call(gw.url, 'greeter', { tool: 'greet', arguments: { name: 'World' }, session_id: 'test-123-greet' });
      expect(greeted).toMatchObject({ status: 200, body: { result: 'Hello, World!' } });
    });

    it('GET /sessions, then DELETE /sessions/:id closes the session and its process', async () => {
      const res = await fetch(`${gw.url}/sessions`, { headers: { authorization: B } });
      expect(res.status).toBe(200);
      const sessions = await json(res);
      expect(sessions['test-123']).toMatchObject({ service_name: 'todo', timeout: 300, metadata: { agent_id: 'greeter-agent', call_id: 'test-123' } });
      const pid = (sessions['test-123'] as { pid?: unknown }).pid;
      expect(typeof pid).toBe('number');

      const del = await fetch(`${gw.url}/sessions/test-123`, { method: 'DELETE', headers: { authorization: B } });
      expect(del.status).toBe(200);
      expect(await json(del)).toEqual({ message: 'Session test-123 closed' });
      await waitFor(() => !isAlive(pid as number), { message: `the todo process ${String(pid)} of the deleted session to exit` });
      const after = await json(await fetch(`${gw.url}/sessions`, { headers: { authorization: B } }));
      expect(after['test-123']).toBeUndefined();
      expect(after['call-456']).toBeDefined();
      const again = await fetch(`${gw.url}/sessions/test-123`, { method: 'DELETE', headers: { authorization: B } });
      expect(again.status).toBe(404);

      const fresh = await call(gw.url, 'todo', { tool: 'list_todos', session_id: 'test-123' });
      expect(fresh.body['result']).toBe('No all todos found');
    });
  });
}

curlFlow('agent-mcp-gateway --config config.json', () => {
  const dir = configDir();
  return start(GATEWAY_MAIN, ['--config', 'config.json', '--audit-log', join(dir, 'audit.jsonl')], dir, ENV);
});

curlFlow('mcp-gateway -c config.json', () => {
  const dir = configDir();
  return start(MCP_GATEWAY_BIN, ['-c', join(dir, 'config.json'), '--audit-log', 'off'], dir, ENV);
});

describe('SignalWire config.json: start-up', () => {
  it("mcp-gateway without -c reads ./config.json, as SignalWire's does; logging.file gets the log lines", async () => {
    const dir = configDir();
    const gw = await start(MCP_GATEWAY_BIN, ['--audit-log', 'off'], dir, ENV);
    const res = await fetch(`${gw.url}/services`, { headers: { authorization: B } });
    expect(Object.keys(await json(res)).sort()).toEqual(['greeter', 'todo']);
    expect(gw.stderr()).toContain(`"signalwire_config":"${join(dir, 'config.json')}"`);
    expect(await gw.stop()).toBe(0);
    expect(readFileSync(join(dir, 'gateway.log'), 'utf8')).toContain('agent-mcp-gateway ready on');
  });

  it('the shipped example starts from the repository root and serves both fixtures', async () => {
    const sandbox = makeTmpDir('amg-sw-sandbox-');
    const gw = await start(MCP_GATEWAY_BIN, ['-c', EXAMPLE, '--audit-log', 'off'], REPO_ROOT, { MCP_PORT: '0', MCP_SANDBOX_DIR: sandbox });
    const auth = basic('admin', 'changeme');
    expect(Object.keys(await json(await fetch(`${gw.url}/services`, { headers: { authorization: auth } }))).sort()).toEqual(['greeter', 'todo']);
    expect((await call(gw.url, 'todo', { tool: 'add_todo', arguments: { text: 'milk', priority: 'high' }, session_id: 'c1' }, auth)).body['result']).toBe(
      'Added todo #1: milk (priority: high)',
    );
    expect((await call(gw.url, 'greeter', { tool: 'greet', arguments: { name: 'Ada' }, session_id: 'c1-g' }, auth)).body['result']).toBe('Hello, Ada!');
    expect(await gw.stop()).toBe(0);
  });

  it("SignalWire's tight limits apply per route, with 429, but never to /health (the container health check)", async () => {
    const doc = signalWireConfig() as { rate_limiting: Record<string, unknown> };
    doc.rate_limiting = { default_limits: ['2 per hour'], call_limit: '1 per minute' };
    const gw = await start(GATEWAY_MAIN, ['--config', 'config.json', '--audit-log', 'off'], configDir(doc), ENV);
    for (let i = 0; i < 6; i++) expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    expect((await fetch(`${gw.url}/services`, { headers: { authorization: B } })).status).toBe(200);
    expect((await fetch(`${gw.url}/services`, { headers: { authorization: B } })).status).toBe(200);
    expect((await fetch(`${gw.url}/services`, { headers: { authorization: B } })).status).toBe(429);
    expect((await call(gw.url, 'greeter', { tool: 'greet', session_id: 'l1' })).status).toBe(200);
    expect((await call(gw.url, 'greeter', { tool: 'greet', session_id: 'l1' })).status).toBe(429);
    expect(await gw.stop()).toBe(0);
  });

  it('without a rules file every call acts as the sole agent; the audit line keeps the agent name the skill sent', async () => {
    const dir = configDir();
    const audit = join(dir, 'audit.jsonl');
    const gw = await start(GATEWAY_MAIN, ['--config', 'config.json', '--audit-log', audit], dir, ENV);
    expect((await call(gw.url, 'greeter', { tool: 'greet', session_id: 'a1' })).status).toBe(200);
    expect(await gw.stop()).toBe(0);
    const lines = readFileSync(audit, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l['tool'] === 'greet')).toMatchObject({
      agent: 'signalwire',
      identity_source: 'sole',
      requested_agent: 'greeter-agent',
      session_id: 'a1',
      decision: 'ALLOW',
    });
  });

  it('the variables config.json takes credentials from never reach a server, sandboxed or not', async () => {
    const doc = signalWireConfig() as { services: Record<string, unknown> };
    doc.services = {
      open: { command: ['node', fixture('printenv')], sandbox: { enabled: false } },
      halfopen: { command: ['node', fixture('printenv')], sandbox: { restricted_env: false } },
    };
    const gw = await start(GATEWAY_MAIN, ['--config', 'config.json', '--audit-log', 'off'], configDir(doc), { ...ENV, UNRELATED_SETTING: 'visible' });
    for (const service of ['open', 'halfopen']) {
      const res = await call(gw.url, service, { tool: 'env', session_id: `e-${service}` });
      expect(res.status).toBe(200);
      const env = JSON.parse(String(res.body['result'])) as Record<string, string>;
      expect(env['UNRELATED_SETTING'], service).toBe('visible');
      expect(env['MCP_AUTH_PASSWORD'], service).toBeUndefined();
      expect(env['MCP_AUTH_TOKEN'], service).toBeUndefined();
      expect(JSON.stringify(env)).not.toContain(PASSWORD);
    }
    expect(await gw.stop()).toBe(0);
  });

  it('editing config.json reloads its services; a broken edit keeps the last good ones', async () => {
    const dir = configDir();
    const gw = await start(GATEWAY_MAIN, ['--config', 'config.json', '--audit-log', 'off', '--reload-debounce-ms', '100'], dir, ENV);
    const names = async (): Promise<string[]> => Object.keys(await json(await fetch(`${gw.url}/services`, { headers: { authorization: B } }))).sort();
    const doc = signalWireConfig() as { services: Record<string, unknown> };
    doc.services = { ...doc.services, hello: { command: ['node', fixture('greeter')] } };
    writeJson(join(dir, 'config.json'), doc);
    await waitFor(async () => (await names()).includes('hello'), { message: 'the added service to be listed' });
    expect((await call(gw.url, 'hello', { tool: 'greet', session_id: 'h1' })).body['result']).toBe('Hello, World!');
    writeJson(join(dir, 'config.json'), { services: { hello: { command: 'not a list' } } });
    await waitFor(() => gw.stderr().includes('reload of'), { message: 'the failed reload to be logged' });
    expect(await names()).toEqual(['greeter', 'hello', 'todo']);
    expect(await gw.stop()).toBe(0);
  });

  it('flags and environment variables beat config.json', async () => {
    const dir = configDir();
    const gw = await start(GATEWAY_MAIN, ['--config', 'config.json', '--audit-log', 'off', '--auth-password', 'from-flag'], dir, {
      ...ENV,
      GATEWAY_AUTH_TOKEN: 'env-token',
    });
    expect((await fetch(`${gw.url}/services`, { headers: { authorization: basic('admin', 'from-flag') } })).status).toBe(200);
    expect((await fetch(`${gw.url}/services`, { headers: { authorization: B } })).status).toBe(401);
    expect((await fetch(`${gw.url}/services`, { headers: { authorization: 'Bearer env-token' } })).status).toBe(200);
    expect((await fetch(`${gw.url}/services`, { headers: { authorization: T } })).status).toBe(401);
    expect(await gw.stop()).toBe(0);
  });

  it("a rules file, when there is one, applies as usual (the skill's agent name must then be in it)", async () => {
    const dir = configDir();
    writeJson(join(dir, '.mcp-gateway-rules.json'), { agents: { 'greeter-agent': { allow: { servers: ['greeter'] } } } });
    const gw = await start(GATEWAY_MAIN, ['--config', 'config.json', '--audit-log', 'off'], dir, ENV);
    expect((await call(gw.url, 'greeter', { tool: 'greet', session_id: 'r1' })).body['result']).toBe('Hello, World!');
    expect(await call(gw.url, 'todo', { tool: 'list_todos', session_id: 'r2' })).toMatchObject({ status: 403, body: { code: 'DENIED_BY_POLICY' } });
    expect(Object.keys(await json(await fetch(`${gw.url}/services?agent_id=greeter-agent`, { headers: { authorization: B } })))).toEqual(['greeter']);
    expect(await gw.stop()).toBe(0);
  });

  it('an invalid config.json stops the start with every error and its JSON path', async () => {
    const dir = configDir({ server: { port: 'eighty' }, services: { todo: { command: 'node todo.mjs' } } });
    const { code, stderr } = await refused(MCP_GATEWAY_BIN, ['-c', 'config.json'], dir);
    expect(code).toBe(1);
    expect(stderr).toContain('server.port: must be a number');
    expect(stderr).toContain('services.todo.command: must be a non-empty list of strings');
  });

  it('validate --config (and mcp-gateway validate -c) checks the file as serving would, without serving', async () => {
    const good = configDir();
    const ok = spawnSync(process.execPath, [MCP_GATEWAY_BIN, 'validate'], { cwd: good, env: { ...baseEnv(), HOME: makeTmpDir('amg-sw-home-') }, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`signalwire config: ${join(good, 'config.json')}: valid, 2 warning(s)`);
    expect(ok.stdout).toContain('server.auth_password: environment variable "MCP_AUTH_PASSWORD" is not set');
    expect(ok.stdout).toContain('rules: none found: every service is allowed');
    const bad = configDir({ ...signalWireConfig(), server: { port: 70_000 } });
    const r = spawnSync(process.execPath, [GATEWAY_MAIN, 'validate', '--config', 'config.json'], {
      cwd: bad,
      env: { ...baseEnv(), HOME: makeTmpDir('amg-sw-home-') },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('server.port: expected a whole number from 0 to 65535');
  });

  it('a setting out of range is named by file and path; a missing file by its path', async () => {
    const dir = configDir({ ...signalWireConfig(), server: { port: 70_000 } });
    const bad = await refused(GATEWAY_MAIN, ['--config', 'config.json'], dir, ENV);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${join(dir, 'config.json')}: server.port: expected a whole number from 0 to 65535`);
    mkdirSync(join(dir, 'empty'));
    const missing = await refused(MCP_GATEWAY_BIN, [], join(dir, 'empty'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`Configuration file not found: ${join(dir, 'empty', 'config.json')}`);
  });
});
