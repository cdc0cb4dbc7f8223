// Rules on arguments (issue 17 §2) through the built gateway with a real server
// (@modelcontextprotocol/server-filesystem over a temp folder): writes allowed under the folder,
// `**/.env` denied, and the spellings that must not step round it (`..`, `//`, `%2e%2e`, `%2F`)
// refused before anything reaches the server, or forwarded in the normal form they were
// decided in. Then `explain --args` and `validate` on the command line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, readJsonl, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { GATEWAY_MAIN, SERVER_FILESYSTEM } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { textOf } from '../helpers/results.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';

const MARKER = `argument-rules-${process.pid}-${Date.now()}`;
const ENV: Record<string, string> = { GATEWAY_DEFAULT_AGENT: '', GATEWAY_DEBUG: '', GATEWAY_LOG_LEVEL: '', GW_E2E_MARKER: MARKER };

const gateways: GatewayHandle[] = [];
guardAgainstLeaks(MARKER, { close: () => Promise.allSettled(gateways.map((g) => g.close())), timeoutMs: 15_000 });

// realpath: the server compares resolved paths, and /tmp may be a link.
const ROOT = realpathSync(makeTmpDir('amg-args-'));
const FILES = join(ROOT, 'files');
mkdirSync(join(FILES, 'sub'), { recursive: true });
writeFileSync(join(FILES, '.env'), 'SECRET=1\n');
writeFileSync(join(FILES, 'notes.txt'), 'notes\n');

const DENY_ENV = 'agents.dev.arguments.fs.write_file./path.deny[0]';
const RULES = {
  agents: {
    dev: {
      allow: { servers: ['fs'] },
      arguments: {
        fs: {
          write_file: { '/path': { type: 'path', allow: [`${FILES}/**`], deny: ['**/.env'], required: true } },
          '*': { '/paths/*': { type: 'path', deny: ['**/.env'] } },
        },
      },
    },
  },
};
const SERVERS = { fs: { command: process.execPath, args: [SERVER_FILESYSTEM, ROOT] } };

interface ErrorBody {
  code: string;
  message: string;
  rule?: string;
}

function failed(r: CallToolResult): ErrorBody {
  expect(r.isError, JSON.stringify(r).slice(0, 500)).toBe(true);
  return (r.structuredContent as { error: ErrorBody }).error;
}

describe('through the gateway, to server-filesystem', () => {
  let gw: GatewayHandle;
  let native: GatewayHandle;
  const execute = (tool: string, args: Record<string, unknown>) => callTool(gw.client, 'execute_tool', { agent_id: 'dev', server: 'fs', tool, args });
  const write = (path: string, content: string) => execute('write_file', { path, content });

  beforeAll(async () => {
    gw = await startGateway({ mcpServers: SERVERS, rules: RULES, env: ENV });
    gateways.push(gw);
    native = await startGateway({ mcpServers: SERVERS, rules: RULES, env: ENV, args: ['--mode', 'native', '--agent', 'dev'] });
    gateways.push(native);
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(gateways.map((g) => g.close()));
  });

  it('allows a write under the folder, and forwards the normal form of a spelling with "..", "." or "//"', async () => {
    const plain = await write(`${FILES}/a.txt`, 'a');
    expect(plain.isError, textOf(plain)).toBeFalsy();
    expect(readFileSync(join(FILES, 'a.txt'), 'utf8')).toBe('a');
    const spelt = await write(`${FILES}/sub/..//./b.txt/`, 'b');
    expect(spelt.isError, textOf(spelt)).toBeFalsy();
    expect(readFileSync(join(FILES, 'b.txt'), 'utf8')).toBe('b');
    // The server was told the normal form: it names that path in its answer.
    expect(textOf(spelt)).toContain(`${FILES}/b.txt`);
    expect(textOf(spelt)).not.toContain('..');
  });

  it.each<[string, string, string]>([
    ['a denied file', '/.env', DENY_ENV],
    ['a denied file reached through ".."', '/sub/../.env', DENY_ENV],
    ['a denied file spelt with "//" and "."', '//./.env', DENY_ENV],
    ['a path that climbs out of the folder', '/../outside.txt', 'agents.dev.arguments.fs.write_file./path.allow'],
    ['a percent-encoded ".."', '/sub/%2e%2e/.env', 'agents.dev.arguments.fs.write_file./path.type'],
    ['a percent-encoded "/"', '/sub%2F..%2F.env', 'agents.dev.arguments.fs.write_file./path.type'],
  ])('refuses %s before the server sees it', async (_what, suffix, rule) => {
    const before = readFileSync(join(FILES, '.env'), 'utf8');
    const error = failed(await write(`${FILES}${suffix}`, 'OVERWRITTEN'));
    expect(error.code).toBe('DENIED_BY_POLICY');
    expect(error.rule).toBe(rule);
    expect(error.message).toContain('argument /path');
    expect(error.message).not.toContain(FILES);
    expect(readFileSync(join(FILES, '.env'), 'utf8')).toBe(before);
    expect(existsSync(join(ROOT, 'outside.txt'))).toBe(false);
  });

  it('a relative path or a missing one is refused when a path condition applies', async () => {
    expect(failed(await write('files/a.txt', 'x')).rule).toBe('agents.dev.arguments.fs.write_file./path.type');
    expect(failed(await execute('write_file', { content: 'x' })).rule).toBe('agents.dev.arguments.fs.write_file./path.required');
  });

  it('read_multiple_files: every element of /paths is checked, under the "*" tool pattern', async () => {
    const ok = await execute('read_multiple_files', { paths: [`${FILES}/notes.txt`] });
    expect(ok.isError, textOf(ok)).toBeFalsy();
    expect(textOf(ok)).toContain('notes');
    const error = failed(await execute('read_multiple_files', { paths: [`${FILES}/notes.txt`, `${FILES}/sub/../.env`] }));
    expect(error).toMatchObject({ code: 'DENIED_BY_POLICY', rule: 'agents.dev.arguments.fs["*"]./paths/*.deny[0]' });
    expect(error.message).toContain('argument /paths/1 matches a denied pattern');
  });

  it('native tool calls take the same check', async () => {
    const error = failed(await callTool(native.client, 'fs__write_file', { path: `${FILES}/sub/../.env`, content: 'x' }));
    expect(error).toMatchObject({ code: 'DENIED_BY_POLICY', rule: DENY_ENV });
    const ok = await callTool(native.client, 'fs__write_file', { path: `${FILES}//c.txt`, content: 'c' });
    expect(ok.isError, textOf(ok)).toBeFalsy();
    expect(readFileSync(join(FILES, 'c.txt'), 'utf8')).toBe('c');
  });

  it('the audit line names the deciding condition, never the value', async () => {
    await waitFor(() => readJsonl(gw.auditPath).some((r) => r['rule'] === DENY_ENV), { message: 'no audit line with the argument rule' });
    const line = readJsonl(gw.auditPath).find((r) => r['rule'] === DENY_ENV)!;
    expect(line).toMatchObject({ decision: 'DENY', code: 'DENIED_BY_POLICY', server: 'fs', tool: 'write_file' });
    expect(readFileSync(gw.auditPath, 'utf8')).not.toContain('OVERWRITTEN');
  });
});

// ------------------------------------------------------------------------------------------
function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [GATEWAY_MAIN, ...args], {
    env: { ...process.env, ...ENV, HOME: ROOT },
    cwd: ROOT,
    encoding: 'utf8',
    input: '',
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('explain --args and validate', () => {
  const dir = makeTmpDir('amg-args-cli-');
  const mcp = join(dir, 'mcp.json');
  const rules = join(dir, 'rules.json');
  writeJson(mcp, { mcpServers: { fs: SERVERS.fs, web: { command: 'node', args: ['x.js'] } } });
  writeJson(rules, {
    agents: {
      dev: {
        allow: { servers: ['fs', 'web'] },
        deny: { tools: { fs: ['move_file'] } },
        arguments: {
          fs: { write_file: RULES.agents.dev.arguments.fs.write_file, move_file: { '/source': { type: 'path', deny: ['/etc/**'] } } },
          web: { fetch: { '/url': { type: 'url', allow: ['https://api.example.com/**'] } } },
          fss: { read_file: { '/path': { type: 'path', deny: ['/etc/**'] } } },
        },
      },
    },
  });
  const explain = (tool: string, args: string) =>
    cli(['explain', '--mcp-config', mcp, '--rules', rules, '--agent', 'dev', '--server', tool.split('/')[0]!, '--tool', tool.split('/')[1]!, '--args', args]);

  it('explain --args prints every argument decision with its rule, the normalized value, then the outcome', () => {
    const denied = explain('fs/write_file', JSON.stringify({ path: `${FILES}/sub/../.env`, content: 'x' }));
    expect(denied.code).toBe(0);
    expect(denied.stdout).toContain('tool fs/write_file: ALLOW (rule: implicit)');
    expect(denied.stdout).toContain(`argument /path: ALLOW (rule: agents.dev.arguments.fs.write_file./path.type) normalized as a path (value: ${FILES}/.env)`);
    expect(denied.stdout).toContain(`argument /path: DENY (rule: ${DENY_ENV}) matches a denied pattern (value: ${FILES}/.env)`);
    expect(denied.stdout).toContain(`arguments: DENY (rule: ${DENY_ENV}): argument /path matches a denied pattern`);

    const allowed = explain('web/fetch', JSON.stringify({ url: 'HTTPS://API.example.com/v1/%7ex/../y' }));
    expect(allowed.stdout).toContain(
      'argument /url: ALLOW (rule: agents.dev.arguments.web.fetch./url.allow[0]) matches an allowed pattern (value: https://api.example.com/v1/y)',
    );
    expect(allowed.stdout).toContain('arguments: ALLOW, forwarded as {"url":"https://api.example.com/v1/y"}');

    expect(explain('fs/read_file', '{"path":"/etc/x"}').stdout).toContain('arguments: ALLOW (no argument rule applies), forwarded as given');
  });

  it('explain --args refuses what is not a JSON object, or comes without --tool', () => {
    const bad = explain('fs/write_file', '{path:');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--args is not valid JSON/);
    expect(explain('fs/write_file', '[1]').stderr).toContain('--args must be a JSON object');
    const noTool = cli(['explain', '--mcp-config', mcp, '--rules', rules, '--agent', 'dev', '--server', 'fs', '--args', '{}']);
    expect(noTool.code).toBe(1);
    expect(noTool.stderr).toContain('--args needs --tool');
  });

  it('validate: argument rules against the servers (with a suggestion) and the tool rules', () => {
    const r = cli(['validate', '--mcp-config', mcp, '--rules', rules]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('agents.dev.arguments.fss: references undefined server "fss" (did you mean "fs"?)');
    expect(r.stdout).toContain('agents.dev.arguments.fs.move_file: has no effect: agent "dev" may not call tool "move_file" (rule: agents.dev.deny.tools.fs[0])');
  });

  it('validate: a path pattern on the default "string" type is a warning naming the type to add', () => {
    const untyped = join(dir, 'untyped.json');
    writeJson(untyped, { agents: { dev: { allow: { servers: ['fs'] }, arguments: { fs: { read_file: { '/path': { deny: ['/etc/**'] } } } } } } });
    const r = cli(['validate', '--mcp-config', mcp, '--rules', untyped]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('agents.dev.arguments.fs.read_file./path.deny[0]: pattern "/etc/**" looks like a path but is matched as plain text');
    expect(r.stdout).toContain('add "type": "path"');
  });

  it('validate: errors with their paths and suggested fixes', () => {
    const broken = join(dir, 'broken.json');
    writeJson(broken, {
      agents: { dev: { allow: { servers: ['fs'] }, arguments: { fs: { write_file: { path: { type: 'path', deny: ['.env', '/a/../b'], alow: [] } } } } } },
    });
    const r = cli(['validate', '--mcp-config', mcp, '--rules', broken]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('agents.dev.arguments.fs.write_file.path: invalid JSON Pointer: a JSON Pointer starts with "/" (did you mean "/path"?)');
    expect(r.stdout).toContain(
      'agents.dev.arguments.fs.write_file.path.deny[0]: path pattern ".env" is relative, but paths are matched absolute (did you mean "/.env" or "**/.env"?)',
    );
    expect(r.stdout).toContain('(did you mean "/b"?)');
    expect(r.stdout).toContain('agents.dev.arguments.fs.write_file.path.alow: unknown key "alow" (did you mean "allow"?)');
  });
});
