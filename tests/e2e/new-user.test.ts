// A new user's first run (issue 14, items 1 and 3 to 9): the README's test command on a
// machine without redis-server, `npm start` as a stdio server, `mcp-gateway --help`, an
// unset variable in one server entry, start failures in the log, the shipped example from
// another folder, `validate` on servers that cannot start here, and a gateway whose own
// entry is in the file it reads.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { callTool, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { fixture, GATEWAY_MAIN, REPO_ROOT } from '../helpers/paths.js';
import { findOnPath } from '../helpers/programs.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir, writeJson } from '../helpers/tmp.js';

const EXAMPLE_MCP = join(REPO_ROOT, '.mcp.json.example');
const EXAMPLE_RULES = join(REPO_ROOT, '.mcp-gateway-rules.json.example');
const ALLOW_ALL = { agents: { a: { allow: { servers: ['*'] } } } };
const handles: GatewayHandle[] = [];
const clients: Client[] = [];

afterAll(async () => {
  await Promise.allSettled([...handles.map((h) => h.close()), ...clients.map((c) => c.close())]);
  cleanupTmpDirs();
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) out[k] = v;
  return { ...out, ...extra };
}

function structured(result: { structuredContent?: unknown }): Record<string, unknown> {
  return result.structuredContent as Record<string, unknown>;
}

/** A gateway started as a client would start it: this command line, in this folder, nothing written for it. */
async function connect(command: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command, args, cwd, env: env(extraEnv), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'new-user-test', version: '1.0.0' });
  clients.push(client);
  try {
    await client.connect(transport, { timeout: 30_000 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- stderr ---\n${stderr}`, { cause: err });
  }
  return { client, stderr: () => stderr };
}

describe('item 1: the test command on a machine without redis-server', () => {
  // A PATH with node and nothing else: redis-server is not on it.
  const bin = makeTmpDir('amg-nored-');
  symlinkSync(process.execPath, join(bin, 'node'));
  const vitest = (extra: Record<string, string>) =>
    spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '-c', 'config/vitest.config.ts', 'tests/integration/http-rate-limit.test.ts'],
      {
        cwd: REPO_ROOT,
        env: { ...env(extra), PATH: bin },
        encoding: 'utf8',
        timeout: 120_000,
      },
    );

  it('skips the Redis tests with a notice naming redis-server and how to install it, and passes', () => {
    const r = vitest({});
    const out = r.stdout + r.stderr;
    expect(r.status, out).toBe(0);
    expect(out).toContain('NOTICE: skipped the Redis rate-limit tests');
    expect(out).toContain('apt-get install -y redis-server');
    expect(out).toMatch(/skipped/);
  });

  it('where CI requires it (GATEWAY_TEST_REQUIRE), a missing redis-server fails instead of skipping', () => {
    const r = vitest({ GATEWAY_TEST_REQUIRE: 'redis-server' });
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('redis-server');
  });
});

describe('item 3: the documented stdio starts put only JSON-RPC on stdout', () => {
  it("`npm start --silent` (the README's quick start): the first byte on stdout starts a JSON-RPC message", async () => {
    const npm = findOnPath('npm');
    expect(npm).toBeDefined();
    // `npm start` builds first: in a copy, so the dist/ other test files run stays untouched.
    const copy = makeTmpDir('amg-start-');
    for (const entry of ['package.json', 'tsconfig.json', 'config', 'src', 'bin', 'main.ts', '.mcp.json.example', '.mcp-gateway-rules.json.example']) {
      cpSync(join(REPO_ROOT, entry), join(copy, entry), { recursive: true });
    }
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'));
    const child = spawn(npm!, ['start', '--silent'], { cwd: copy, env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stdin.write(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }) + '\n',
    );
    try {
      await waitFor(() => stdout.includes('\n'), { timeoutMs: 200_000, message: 'no answer to initialize from npm start' });
      const first = stdout.split('\n')[0]!;
      expect(stdout.startsWith('{'), stdout.slice(0, 200)).toBe(true);
      expect(JSON.parse(first)).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'agent-mcp-gateway' } } });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    }
  }, 240_000);
});

describe('item 5: mcp-gateway --help', () => {
  it('describes its own command line, -c included, and points at agent-mcp-gateway for the rest', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'bin', 'mcp-gateway.js'), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^mcp-gateway \[-c config\.json\]/);
    expect(r.stdout).toContain('-c, --config PATH');
    expect(r.stdout).toContain('./config.json');
    expect(r.stdout).not.toContain('agent-mcp-gateway [command]');
  });
});

describe('item 6: one server entry with an unset variable', () => {
  it('is one failed server with its message (list_servers, get_gateway_status, the log, a call); the others serve', async () => {
    const unset = `AMG_NEW_USER_UNSET_${process.pid}`;
    const gw = await startGateway({
      mcpServers: {
        github: { command: 'node', args: [fixture('echo')], env: { GITHUB_TOKEN: `\${${unset}}` }, description: 'GitHub' },
        echo: { command: 'node', args: [fixture('echo')] },
      },
      rules: ALLOW_ALL,
      args: ['--debug'],
    });
    handles.push(gw);
    const why = `mcpServers.github.env.GITHUB_TOKEN: Environment variable "${unset}" referenced in configuration but not set`;

    const listed = structured(await callTool(gw.client, 'list_servers', { agent_id: 'a', include_metadata: true })) as { servers: Record<string, unknown>[] };
    const github = listed.servers.find((s) => s['name'] === 'github');
    expect(github).toMatchObject({ description: 'GitHub', status: 'failed' });
    expect(github?.['error']).toContain(why);

    const call = await callTool(gw.client, 'execute_tool', { agent_id: 'a', server: 'github', tool: 'echo', args: { message: 'x' } });
    expect(call.isError).toBe(true);
    const error = (structured(call)['error'] ?? {}) as { code?: string; message?: string };
    expect(error.code).toBe('SERVER_UNAVAILABLE');
    expect(error.message).toContain(why);

    const status = structured(await callTool(gw.client, 'get_gateway_status', { agent_id: 'a' })) as {
      servers: { name: string; state: string; last_error: string | null }[];
    };
    const row = status.servers.find((s) => s.name === 'github');
    expect(row?.state).toBe('failed');
    expect(row?.last_error).toContain(why);
    expect(gw.stderr()).toContain(`mcpServers.github.env.GITHUB_TOKEN`);
    expect(gw.stderr()).toContain(unset);

    const echoed = await callTool(gw.client, 'execute_tool', { agent_id: 'a', server: 'echo', tool: 'echo', args: { message: 'still here' } });
    expect(echoed.isError).toBeFalsy();
  });
});

describe('item 7: start failures in the log', () => {
  const failedLines = (stderr: string) => stderr.split('\n').filter((l) => l.includes('downstream server failed to start'));

  it('lazy mode: a server that fails to start is logged once, at warn, with its stderr tail', async () => {
    const gw = await startGateway({ mcpServers: { broken: { command: 'node', args: [fixture('never-starts')] } }, rules: ALLOW_ALL });
    handles.push(gw);
    const call = await callTool(gw.client, 'execute_tool', { agent_id: 'a', server: 'broken', tool: 'x' });
    expect(call.isError).toBe(true);
    await waitFor(() => failedLines(gw.stderr()).length > 0, { timeoutMs: 10_000, message: 'no start failure in the log' });
    const lines = failedLines(gw.stderr());
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: number; server: string; error: string };
    expect(line.level).toBe(40);
    expect(line.server).toBe('broken');
    expect(line.error).toContain('fatal: cannot start (fixture)');
  });

  it('eager mode: a gateway shut down while its servers start logs no start failure', async () => {
    const gw = await startGateway({
      mcpServers: { slow1: { command: 'node', args: [fixture('slow-start')] }, slow2: { command: 'node', args: [fixture('slow-start')] } },
      rules: ALLOW_ALL,
      // debug: the servers' own stderr lines show when they have started.
      args: ['--init-strategy', 'eager', '--log-level', 'debug'],
    });
    await waitFor(() => (gw.stderr().match(/slow-start: pid/g) ?? []).length >= 2, { timeoutMs: 15_000, message: 'slow servers not started' });
    await gw.close();
    expect(gw.stderr()).toContain('shutting down');
    expect(failedLines(gw.stderr())).toEqual([]);
  });
});

describe('item 8: the shipped example from another folder', () => {
  it("the README's Claude Code command line works from any working directory", async () => {
    const elsewhere = makeTmpDir('amg-elsewhere-');
    // The pins of first use would go beside the example rules, into the repository: they go here instead.
    const { client } = await connect(process.execPath, [GATEWAY_MAIN, '--mcp-config', EXAMPLE_MCP, '--rules', EXAMPLE_RULES, '--audit-log', 'off'], elsewhere, {
      GATEWAY_LOCK_FILE: join(elsewhere, '.mcp-gateway-lock.json'),
    });
    const listed = await callTool(client, 'execute_tool', { agent_id: 'writer', server: 'notes', tool: 'list_notes', args: {} });
    expect(listed.isError, JSON.stringify(listed)).toBeFalsy();
    const echoed = await callTool(client, 'execute_tool', { agent_id: 'researcher', server: 'everything', tool: 'echo', args: { message: 'from elsewhere' } });
    expect(echoed.isError, JSON.stringify(echoed)).toBeFalsy();
  });
});

describe('item 4: validate on servers that cannot start here', () => {
  it('warns (exit 0) about a command not on PATH and a script that does not exist, with their JSON paths', () => {
    const dir = makeTmpDir('amg-validate-');
    writeJson(join(dir, 'servers.json'), {
      mcpServers: {
        missing_script: { command: 'node', args: ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'stdio'] },
        missing_command: { command: 'amg-no-such-command' },
        fine: { command: 'node', args: [fixture('echo')] },
      },
    });
    writeJson(join(dir, 'rules.json'), ALLOW_ALL);
    const r = spawnSync(process.execPath, [GATEWAY_MAIN, 'validate', '--mcp-config', 'servers.json', '--rules', 'rules.json'], {
      cwd: dir,
      env: env(),
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('valid, 2 warning(s)');
    expect(r.stdout).toMatch(
      /warning mcpServers\.missing_script\.args\[0\]: script node_modules\/@modelcontextprotocol\/server-everything\/dist\/index\.js \(in .*\) does not exist/,
    );
    expect(r.stdout).toMatch(/warning mcpServers\.missing_command\.command: command "amg-no-such-command" was not found on PATH/);
    expect(r.stdout).not.toContain('mcpServers.fine');
  });
});

describe('item 9: the gateway in the file it reads', () => {
  it('leaves out, with a warning, entries that would start this gateway on the same file (by flag or by lookup)', async () => {
    const dir = makeTmpDir('amg-self-');
    const project = join(dir, 'project');
    mkdirSync(project);
    // What `claude mcp add -s project gateway -- node .../dist/main.js --rules ...` writes.
    writeJson(join(project, '.mcp.json'), {
      mcpServers: {
        gateway: { command: 'node', args: [GATEWAY_MAIN, '--rules', join(project, '.mcp-gateway-rules.json')] },
        'gateway-flag': { command: process.execPath, args: [GATEWAY_MAIN, '--mcp-config', '${MCP_CONFIG_DIR}/.mcp.json'] },
        'gateway-other-file': { command: 'node', args: [GATEWAY_MAIN, '--mcp-config', join(dir, 'other.json')] },
        echo: { command: 'node', args: [fixture('echo')] },
      },
    });
    writeJson(join(project, '.mcp-gateway-rules.json'), ALLOW_ALL);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ mcpServers: {} }));
    const { client, stderr } = await connect(process.execPath, [GATEWAY_MAIN, '--init-strategy', 'eager', '--audit-log', 'off'], project);
    const listed = structured(await callTool(client, 'list_servers', { agent_id: 'a' })) as { servers: { name: string }[] };
    expect(listed.servers.map((s) => s.name)).toEqual(['gateway-other-file', 'echo']);
    expect(stderr()).toContain('server \\"gateway\\" would start this gateway again on the same file');
    expect(stderr()).toContain('server \\"gateway-flag\\" would start this gateway again on the same file');
  });
});
