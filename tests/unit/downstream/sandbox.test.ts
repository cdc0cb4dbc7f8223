import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSandbox, defaultSandbox } from '../../../src/config/sandbox.js';
import type { ServerSpec } from '../../../src/config/types.js';
import { prepareLaunch, restrictedEnv } from '../../../src/downstream/sandbox.js';

const ROOT = join(tmpdir(), `amg-sandbox-unit-${process.pid}`);
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

const PARENT = {
  PATH: '/usr/bin:/bin',
  HOME: '/home/gw',
  LANG: 'en_US.UTF-8',
  USER: 'gw',
  NODE_PATH: '/np',
  SHELL: '/bin/bash',
  GATEWAY_AUTH_TOKEN: 'secret',
  GATEWAY_RATE_LIMIT_STORAGE: 'redis://:pw@host',
  LD_PRELOAD: '/evil.so',
  LD_LIBRARY_PATH: '/evil',
  DYLD_INSERT_LIBRARIES: '/evil.dylib',
};

function spec(sandbox: ServerSpec['sandbox'], extra: Partial<ServerSpec> = {}): ServerSpec {
  return {
    name: 'srv',
    transport: 'stdio',
    command: 'node',
    args: ['server.js'],
    env: { OWN: 'yes', LD_PRELOAD: '/also-evil.so' },
    headers: {},
    enabled: true,
    isolation: 'session',
    sandbox,
    ...extra,
  };
}

describe('restrictedEnv', () => {
  it.each([
    ['the full list', PARENT, ['HOME', 'LANG', 'NODE_PATH', 'PATH', 'TMPDIR', 'USER']],
    ['defaults for what the gateway lacks', {}, ['HOME', 'LANG', 'PATH', 'TMPDIR', 'USER']],
    [
      'PYTHONPATH and JAVA_HOME when set',
      { PYTHONPATH: '/py', JAVA_HOME: '/jdk', OTHER: 'x' },
      ['HOME', 'JAVA_HOME', 'LANG', 'PATH', 'PYTHONPATH', 'TMPDIR', 'USER'],
    ],
  ])('%s', (_name, parent, keys) => {
    const env = restrictedEnv(parent, {}, '/sb/x');
    expect(Object.keys(env).sort()).toEqual(keys);
    expect(env['HOME']).toBe('/sb/x');
    expect(env['TMPDIR']).toBe('/sb/x');
  });

  it('adds the server env, which cannot bring in a loader variable', () => {
    expect(restrictedEnv({}, { A: '1', LD_PRELOAD: 'x', ld_library_path: 'y' }, '/f')).toMatchObject({ A: '1' });
    expect(restrictedEnv({}, { LD_PRELOAD: 'x', ld_library_path: 'y' }, '/f')).not.toHaveProperty('LD_PRELOAD');
    expect(restrictedEnv({}, { ld_library_path: 'y' }, '/f')).not.toHaveProperty('ld_library_path');
    expect(restrictedEnv({}, {}, '/f')).toEqual({ PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/f', TMPDIR: '/f', LANG: 'C.UTF-8', USER: 'nobody' });
  });
});

describe('prepareLaunch', () => {
  it('without a sandbox: the command as configured, the gateway env minus secrets and loader variables', () => {
    const launch = prepareLaunch(spec(defaultSandbox(false), { cwd: '/work' }), { parentEnv: PARENT, sandboxRoot: ROOT });
    expect(launch.command).toBe('node');
    expect(launch.args).toEqual(['server.js']);
    expect(launch.cwd).toBe('/work');
    expect(launch.folder).toBeUndefined();
    expect(launch.env).toMatchObject({ SHELL: '/bin/bash', OWN: 'yes', HOME: '/home/gw' });
    for (const name of ['GATEWAY_AUTH_TOKEN', 'GATEWAY_RATE_LIMIT_STORAGE', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES']) {
      expect(launch.env, name).not.toHaveProperty(name);
    }
  });

  it('with a sandbox: prlimit in front, the limits in bytes, a fresh private folder as HOME, TMPDIR and cwd', () => {
    const sandbox = buildSandbox({ enabled: true, limits: { cpu_seconds: 7, memory_mb: 100, processes: 3, file_size_mb: 2 } }, false);
    const launch = prepareLaunch(spec(sandbox), { parentEnv: PARENT, sandboxRoot: ROOT });
    expect(launch.command).toMatch(/\/prlimit$/);
    const nproc = launch.args.find((a) => a.startsWith('--nproc='));
    expect(launch.args).toEqual(['--cpu=7', `--data=${100 * 1024 * 1024}`, nproc, `--fsize=${2 * 1024 * 1024}`, '--', 'node', 'server.js']);
    // 16 tasks per process (Node.js alone runs about 11 threads), on top of the user's own when not root.
    expect(Number(nproc?.slice('--nproc='.length))).toBeGreaterThanOrEqual(3 * 16);
    expect(launch.folder?.startsWith(`${ROOT}/srv-`)).toBe(true);
    expect(statSync(launch.folder!).mode & 0o777).toBe(0o700);
    expect(launch.cwd).toBe(launch.folder);
    expect(Object.keys(launch.env).sort()).toEqual(['HOME', 'LANG', 'NODE_PATH', 'OWN', 'PATH', 'TMPDIR', 'USER']);
    const second = prepareLaunch(spec(sandbox), { parentEnv: PARENT, sandboxRoot: ROOT });
    expect(second.folder).not.toBe(launch.folder);
  });

  it('resource_limits false, restricted_env false, working_dir: no prlimit, the gateway env with HOME and TMPDIR moved', () => {
    const sandbox = buildSandbox({ enabled: true, resource_limits: false, restricted_env: false, working_dir: '/data' }, false);
    const launch = prepareLaunch(spec(sandbox), { parentEnv: PARENT, sandboxRoot: ROOT });
    expect(launch.command).toBe('node');
    expect(launch.cwd).toBe('/data');
    expect(existsSync(launch.folder!)).toBe(true);
    expect(launch.env).toMatchObject({ SHELL: '/bin/bash', HOME: launch.folder, TMPDIR: launch.folder });
    expect(launch.env).not.toHaveProperty('GATEWAY_AUTH_TOKEN');
    expect(launch.env).not.toHaveProperty('LD_PRELOAD');
  });

  it('a sandbox folder that cannot be made is SERVER_UNAVAILABLE naming the folder', () => {
    mkdirSync(ROOT, { recursive: true });
    const file = join(ROOT, 'a-file');
    writeFileSync(file, '');
    const root = join(file, 'below');
    expect(() => prepareLaunch(spec(buildSandbox({ enabled: true, resource_limits: false }, false)), { parentEnv: PARENT, sandboxRoot: root })).toThrow(
      `Server 'srv': cannot create its sandbox folder under '${root}': ENOTDIR`,
    );
  });
});
