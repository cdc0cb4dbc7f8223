import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { locateConfigFile, resolveUserPath, type ConfigKind } from '../../../src/config/locate.js';
import { ConfigError } from '../../../src/config/configError.js';

const NAMES: Record<ConfigKind, string> = { mcp: '.mcp.json', rules: '.mcp-gateway-rules.json' };

let root: string;
let cwd: string;
let home: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'amg-locate-'));
  cwd = join(root, 'project');
  home = join(root, 'home');
  mkdirSync(cwd);
  mkdirSync(home);
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function touch(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '{}');
  return path;
}

function caught(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe.each<ConfigKind>(['mcp', 'rules'])('locateConfigFile(%s)', (kind) => {
  const name = NAMES[kind];
  const inCwd = () => join(cwd, name);
  const inHome = () => join(home, '.config', 'agent-mcp-gateway', name);
  const inConfigDir = () => join(cwd, 'config', name);

  it('picks the file in cwd first (reference D.1 #16.1)', () => {
    touch(inCwd());
    touch(inHome());
    touch(inConfigDir());
    expect(locateConfigFile(kind, { cwd, home })).toEqual({ path: inCwd(), source: 'cwd' });
  });

  it('then ~/.config/agent-mcp-gateway (reference D.1 #16.2)', () => {
    touch(inHome());
    touch(inConfigDir());
    expect(locateConfigFile(kind, { cwd, home })).toEqual({ path: inHome(), source: 'home' });
  });

  it('then ./config', () => {
    touch(inConfigDir());
    expect(locateConfigFile(kind, { cwd, home })).toEqual({ path: inConfigDir(), source: 'config-dir' });
  });

  it('skips a directory that has the file name', () => {
    mkdirSync(inCwd());
    touch(inConfigDir());
    expect(locateConfigFile(kind, { cwd, home }).source).toBe('config-dir');
  });

  it('names every place it tried when nothing exists', () => {
    const err = caught(() => locateConfigFile(kind, { cwd, home }));
    expect(err.message).toContain('Configuration file not found');
    for (const path of [inCwd(), inHome(), inConfigDir()]) expect(err.message).toContain(path);
    expect(err.message.indexOf(inCwd())).toBeLessThan(err.message.indexOf(inHome()));
    expect(err.message.indexOf(inHome())).toBeLessThan(err.message.indexOf(inConfigDir()));
    expect(err.message).toContain(kind === 'mcp' ? '--mcp-config' : '--rules');
    expect(err.message).toContain(kind === 'mcp' ? 'GATEWAY_MCP_CONFIG' : 'GATEWAY_RULES');
  });

  it('the env value beats every discovered file', () => {
    touch(inCwd());
    const chosen = touch(join(root, 'elsewhere.json'));
    expect(locateConfigFile(kind, { envValue: chosen, cwd, home })).toEqual({ path: chosen, source: 'env' });
  });

  it('the flag beats the env value', () => {
    const fromFlag = touch(join(root, 'flag.json'));
    const fromEnv = touch(join(root, 'env.json'));
    expect(locateConfigFile(kind, { flag: fromFlag, envValue: fromEnv, cwd, home })).toEqual({ path: fromFlag, source: 'flag' });
  });

  it('an explicit path that is missing is an error, with no fallthrough (reference D.1 #16.3)', () => {
    touch(inCwd());
    const envErr = caught(() => locateConfigFile(kind, { envValue: '/nope.json', cwd, home }));
    expect(envErr.message).toContain('Configuration file not found: /nope.json');
    expect(envErr.message).toContain(kind === 'mcp' ? 'GATEWAY_MCP_CONFIG' : 'GATEWAY_RULES');
    expect(envErr.file).toBe('/nope.json');

    const flagErr = caught(() => locateConfigFile(kind, { flag: '/nope.json', envValue: inCwd(), cwd, home }));
    expect(flagErr.message).toContain('Configuration file not found: /nope.json');
    expect(flagErr.message).toContain(kind === 'mcp' ? '--mcp-config' : '--rules');
  });

  it('an explicit path that is a directory is an error', () => {
    expect(caught(() => locateConfigFile(kind, { flag: cwd, cwd, home })).message).toContain('is not a file');
  });

  it('an empty env value counts as unset; an empty flag is an error', () => {
    touch(inCwd());
    expect(locateConfigFile(kind, { envValue: '', cwd, home }).source).toBe('cwd');
    expect(caught(() => locateConfigFile(kind, { flag: '', cwd, home })).message).toContain('empty path');
  });

  it('expands ~ and resolves relative paths against cwd (reference D.1 #16.4)', () => {
    const inHomeDir = touch(join(home, 'x.json'));
    expect(locateConfigFile(kind, { envValue: '~/x.json', cwd, home }).path).toBe(inHomeDir);
    const relative = touch(join(cwd, 'sub', 'y.json'));
    expect(locateConfigFile(kind, { flag: 'sub/y.json', cwd, home }).path).toBe(relative);
    expect(locateConfigFile(kind, { flag: './sub/../sub/y.json', cwd, home }).path).toBe(relative);
  });
});

describe('resolveUserPath', () => {
  const opts = { cwd: '/work/p', home: '/home/u' };
  it.each([
    ['~', '/home/u'],
    ['~/a/b.json', '/home/u/a/b.json'],
    ['/abs/c.json', '/abs/c.json'],
    ['/abs/../d.json', '/d.json'],
    ['rel.json', '/work/p/rel.json'],
    ['../up.json', '/work/up.json'],
    // "~user" is not expanded: the loader has no user database.
    ['~other/x', '/work/p/~other/x'],
  ])('%s -> %s', (input, expected) => {
    expect(resolveUserPath(input, opts)).toBe(expected);
  });
});
