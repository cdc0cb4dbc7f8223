// An entry that would start this gateway on the file it serves is left out (issue 14 item 9):
// `node .../dist/main.js` or the installed bin (a link to it), with the same servers file by
// flag, by GATEWAY_MCP_CONFIG or by the lookup from the folder it would start in.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withoutSelf } from '../../src/cli/selfReference.js';
import { buildSandbox } from '../../src/config/sandbox.js';
import type { ServerSpec } from '../../src/config/types.js';
import { REPO_ROOT } from '../helpers/paths.js';

const MAIN = join(REPO_ROOT, 'dist', 'main.js');
const root = mkdtempSync(join(tmpdir(), 'amg-self-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const project = join(root, 'project');
mkdirSync(project);
const served = join(project, '.mcp.json');
writeFileSync(served, '{"mcpServers": {}}');
const other = join(root, 'other.json');
writeFileSync(other, '{"mcpServers": {}}');
const bin = join(root, 'bin');
mkdirSync(bin);
// What npm install and npm link make of the bin: a link to dist/main.js, which they make executable.
symlinkSync(MAIN, join(bin, 'agent-mcp-gateway'));
chmodSync(MAIN, 0o755);

const ctx = { cwd: project, home: join(root, 'home'), env: { PATH: `${bin}:${process.env['PATH'] ?? ''}` }, mcpConfig: served };

function spec(name: string, command: string, args: string[], extra: Partial<ServerSpec> = {}): ServerSpec {
  return { name, transport: 'stdio', command, args, env: {}, headers: {}, enabled: true, isolation: 'shared', sandbox: buildSandbox(undefined, false), ...extra };
}

describe('withoutSelf', () => {
  it('leaves out what would serve the same file, keeps the rest, and warns for each one left out', () => {
    const { specs, warnings } = withoutSelf(
      [
        spec('by-lookup', 'node', [MAIN, '--rules', 'r.json']),
        spec('by-flag', 'node', ['--enable-source-maps', MAIN, '--mcp-config', served]),
        spec('by-bin', 'agent-mcp-gateway', []),
        spec('by-env', 'node', [MAIN], { env: { GATEWAY_MCP_CONFIG: served }, cwd: root }),
        spec('other-file', 'node', [MAIN, '--mcp-config', other]),
        spec('other-folder', 'node', [MAIN], { cwd: root }),
        spec('signalwire', 'node', [MAIN, '--config', 'config.json']),
        spec('validate', 'agent-mcp-gateway', ['validate']),
        spec('unrelated', 'node', [join(root, 'server.js')]),
      ],
      ctx,
    );
    expect(specs.map((s) => s.name)).toEqual(['other-file', 'other-folder', 'signalwire', 'validate', 'unrelated']);
    expect(warnings.map((w) => [w.severity, w.path])).toEqual([
      ['warning', 'mcpServers.by-lookup'],
      ['warning', 'mcpServers.by-flag'],
      ['warning', 'mcpServers.by-bin'],
      ['warning', 'mcpServers.by-env'],
    ]);
    expect(warnings[0]!.message).toContain(`would start this gateway again on the same file (${served})`);
  });
});
