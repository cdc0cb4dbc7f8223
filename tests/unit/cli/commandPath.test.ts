// Where a stdio server's command and script would be found (validate's warnings, issue 14
// item 4, and the self-reference check, item 9).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { launchWarnings, resolveCommand, scriptArgument } from '../../../src/cli/commandPath.js';
import { buildSandbox } from '../../../src/config/sandbox.js';
import type { ServerSpec } from '../../../src/config/types.js';

const root = mkdtempSync(join(tmpdir(), 'amg-cmdpath-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function spec(command: string, args: string[], extra: Partial<ServerSpec> = {}): ServerSpec {
  return {
    name: 's',
    transport: 'stdio',
    command,
    args,
    env: {},
    headers: {},
    enabled: true,
    isolation: 'shared',
    sandbox: buildSandbox(undefined, false),
    ...extra,
  };
}

describe('scriptArgument', () => {
  it.each([
    ['node', ['server.js'], 0],
    ['/usr/bin/node', ['--enable-source-maps', 'dist/index.js', 'stdio'], 1],
    ['python3', ['-u', 'srv.py'], 1],
    ['deno', ['run', '-A', 'main.ts'], 2],
    ['node', ['-e', 'console.log(1)'], undefined],
    ['python3', ['-m', 'mcp_server'], undefined],
    ['npx', ['-y', '@scope/pkg'], undefined],
    ['node', ['--inspect'], undefined],
  ] as const)('%s %j -> %s', (command, args, expected) => {
    expect(scriptArgument(command, args)).toBe(expected);
  });
});

describe('resolveCommand and launchWarnings', () => {
  const bin = join(root, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'tool'), '#!/bin/sh\n');
  chmodSync(join(bin, 'tool'), 0o755);
  writeFileSync(join(bin, 'plain'), 'not executable');
  writeFileSync(join(root, 'server.js'), '');

  it('finds a command on PATH or by its path, executable files only', () => {
    expect(resolveCommand('tool', root, bin)).toBe(join(bin, 'tool'));
    expect(resolveCommand('plain', root, bin)).toBeUndefined();
    expect(resolveCommand('./bin/tool', root, '')).toBe(join(bin, 'tool'));
    expect(resolveCommand('tool', root, undefined)).toBeUndefined();
  });

  it('warns about a missing command and a missing script, with JSON paths; never about http servers or sandbox folders', () => {
    const env = { PATH: bin };
    expect(launchWarnings([spec('tool', ['server.js'])], { cwd: root, env })).toEqual([]);
    const warnings = launchWarnings(
      [
        spec('nope', []),
        { ...spec('tool', []), name: 'script', command: `${bin}/../bin/tool`, args: [] },
        { ...spec('node', ['missing.js']), name: 'missing', env: { PATH: process.env['PATH'] ?? '' } },
        { ...spec('node', ['inside.js']), name: 'boxed', env: { PATH: process.env['PATH'] ?? '' }, sandbox: { ...buildSandbox({ enabled: true }, false) } },
        {
          name: 'web',
          transport: 'http',
          url: 'http://127.0.0.1:1/mcp',
          args: [],
          env: {},
          headers: {},
          enabled: true,
          isolation: 'shared',
          sandbox: buildSandbox(undefined, false),
        },
      ],
      { cwd: root, env },
    );
    expect(warnings.map((w) => [w.severity, w.path])).toEqual([
      ['warning', 'mcpServers.s.command'],
      ['warning', 'mcpServers.missing.args[0]'],
    ]);
    expect(warnings[0]!.message).toBe('command "nope" was not found on PATH; the server will not start here');
    expect(warnings[1]!.message).toBe(`script missing.js (in ${root}) does not exist; the server will not start here`);
  });
});
