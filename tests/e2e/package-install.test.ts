// Installed as a package (issue 14 items 4 and 5): `npm pack`, an install of the tarball
// into a fresh prefix (its dependencies come from the npm registry), then what a new user
// types: `agent-mcp-gateway init`, `validate`, a tool call through the MCP Inspector CLI
// (Node 22, fetched by npx) and `mcp-gateway --help`. Network-bound, hence the long bounds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool } from '../helpers/gateway.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = makeTmpDir('amg-pkg-');
const prefix = join(root, 'prefix');
const home = join(root, 'home');
const bin = (name: string) => join(prefix, 'node_modules', '.bin', name);
const configDir = join(home, '.config', 'agent-mcp-gateway');

/** The user's environment with HOME moved, and npm's cache left where it was (no second download). */
function env(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) out[k] = v;
  return { ...out, HOME: home, npm_config_cache: process.env['npm_config_cache'] ?? join(homedir(), '.npm'), npm_config_update_notifier: 'false' };
}

function run(command: string, args: string[], timeout = 240_000, cwd = root): { status: number | null; out: string; stdout: string } {
  const r = spawnSync(command, args, { cwd, env: env(), encoding: 'utf8', timeout });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
}

beforeAll(() => {
  mkdirSync(home);
  // The tarball of the tree as built by `npm test` (no prepack: rebuilding dist/ here would
  // pull it from under the other test files).
  const pack = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', root], 120_000, REPO_ROOT);
  expect(pack.status, pack.out).toBe(0);
  const tarball = join(root, pack.stdout.trim().split('\n').pop()!);
  const install = run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', tarball]);
  expect(install.status, install.out).toBe(0);
}, 300_000);

afterAll(() => cleanupTmpDirs());

describe('installed from a packed tarball', () => {
  it('init writes files whose servers exist here (the shipped demo, the reference servers through npx), and validate finds nothing to warn about', () => {
    const init = run(bin('agent-mcp-gateway'), ['init']);
    expect(init.status, init.out).toBe(0);
    const servers = (JSON.parse(readFileSync(join(configDir, '.mcp.json'), 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> })
      .mcpServers;
    for (const [name, server] of Object.entries(servers)) {
      if (server.command === 'npx') {
        expect(server.args[0], name).toBe('-y');
        expect(server.args[1], name).toMatch(/^@modelcontextprotocol\/server-/);
        continue;
      }
      for (const arg of server.args.filter((a) => a.includes('/'))) {
        expect(isAbsolute(arg), `${name}: ${arg}`).toBe(true);
        expect(existsSync(arg), `${name}: ${arg}`).toBe(true);
      }
    }
    expect(servers['notes']?.args[0]).toBe(join(prefix, 'node_modules', 'agent-mcp-gateway', 'dist', 'src', 'demo', 'notesServer.js'));

    const validate = run(bin('agent-mcp-gateway'), ['validate']);
    expect(validate.status, validate.out).toBe(0);
    expect(validate.stdout).toContain(`servers: ${join(configDir, '.mcp.json')}: valid\n`);
    expect(validate.stdout).not.toMatch(/warn/i);
  });

  it('a tool call through the MCP Inspector CLI reaches the demo server', () => {
    const call = run('npx', [
      '-y',
      '-p',
      'node@22',
      '-p',
      '@modelcontextprotocol/inspector',
      '-c',
      `mcp-inspector --cli ${bin('agent-mcp-gateway')} --method tools/call --tool-name execute_tool --tool-arg agent_id=writer --tool-arg server=notes --tool-arg tool=add_note --tool-arg 'args={"text":"from the package"}'`,
    ]);
    expect(call.status, call.out).toBe(0);
    expect(call.stdout).toContain('saved note 1');
  }, 300_000);

  it('a reference server written by init starts through npx', async () => {
    const transport = new StdioClientTransport({ command: bin('agent-mcp-gateway'), args: ['--audit-log', 'off'], cwd: root, env: env(), stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const client = new Client({ name: 'package-test', version: '1.0.0' });
    await client.connect(transport, { timeout: 30_000 });
    try {
      const echoed = await callTool(
        client,
        'execute_tool',
        { agent_id: 'researcher', server: 'everything', tool: 'echo', args: { message: 'installed' } },
        { timeout: 240_000 },
      );
      expect(echoed.isError, `${JSON.stringify(echoed)}\n${stderr}`).toBeFalsy();
      expect(JSON.stringify(echoed.content)).toContain('installed');
    } finally {
      await client.close();
    }
  }, 300_000);

  it('mcp-gateway --help describes its own command line', () => {
    const help = run(bin('mcp-gateway'), ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('-c, --config PATH');
  });
});
