// The environment of a stdio downstream server: buildChildEnv's rules, and what a real
// child process actually receives.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildChildEnv } from '../../src/downstream/childEnv.js';
import { closeTracked, connection, expectNoLeftovers, fixtureSpec, textOf } from '../helpers/downstream.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };

afterEach(closeTracked);
afterAll(expectNoLeftovers);

describe('buildChildEnv', () => {
  const parent = {
    PATH: '/usr/bin',
    HOME: '/home/u',
    NODE_OPTIONS: '--max-old-space-size=512',
    GATEWAY_AUTH_TOKEN: 'secret',
    GATEWAY_AUTH_TOKENS_FILE: '/etc/tokens',
    GATEWAY_RATE_LIMIT_STORAGE: 'redis://x',
    GATEWAY_LOG_LEVEL: 'debug',
    LD_PRELOAD: '/evil.so',
    LD_LIBRARY_PATH: '/evil',
    DYLD_INSERT_LIBRARIES: '/evil.dylib',
    UNSET: undefined,
  };

  it('passes the parent environment minus gateway secrets and loader variables', () => {
    expect(buildChildEnv(parent, {})).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/u',
      NODE_OPTIONS: '--max-old-space-size=512',
      GATEWAY_LOG_LEVEL: 'debug',
    });
  });

  it('lets the server env win, except for loader variables', () => {
    const env = buildChildEnv(parent, {
      PATH: '/opt/bin',
      API_KEY: 'k',
      LD_PRELOAD: '/again.so',
      LD_LIBRARY_PATH: '/again',
      DYLD_INSERT_LIBRARIES: '/again.dylib',
      ld_preload: '/lower.so',
      GATEWAY_AUTH_FOR_THIS_SERVER: 'explicit',
    });
    expect(env['PATH']).toBe('/opt/bin');
    expect(env['API_KEY']).toBe('k');
    expect(env['HOME']).toBe('/home/u');
    expect(env['GATEWAY_AUTH_FOR_THIS_SERVER']).toBe('explicit');
    for (const name of ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'DYLD_INSERT_LIBRARIES', 'ld_preload', 'GATEWAY_AUTH_TOKEN']) {
      expect(env).not.toHaveProperty(name);
    }
  });

  it('does not modify its inputs and drops undefined values', () => {
    const serverEnv = { A: '1' };
    const copy = { ...parent };
    const env = buildChildEnv(parent, serverEnv);
    expect(parent).toEqual(copy);
    expect(serverEnv).toEqual({ A: '1' });
    expect(env).not.toHaveProperty('UNSET');
  });
});

describe('a real child', () => {
  it('receives the parent env, its own env, and not the secrets', async () => {
    const c = connection(fixtureSpec('env', 'echo', { env: { FROM_CONFIG: 'yes', LD_PRELOAD: '' } }), {
      parentEnv: { ...process.env, FROM_PARENT: 'inherited', GATEWAY_AUTH_TOKEN: 'secret' },
    });
    const read = async (name: string): Promise<string> => textOf(await c.callTool('env', { name }, CALL));
    expect(await read('FROM_PARENT')).toBe('inherited');
    expect(await read('FROM_CONFIG')).toBe('yes');
    expect(await read('PATH')).toBe(process.env['PATH']);
    expect(await read('GATEWAY_AUTH_TOKEN')).toBe('<unset>');
    expect(await read('LD_PRELOAD')).toBe('<unset>');
  });

  it('starts in the configured cwd', async () => {
    const c = connection(fixtureSpec('cwd', 'echo', { cwd: '/tmp', env: {} }));
    const pid = Number(textOf(await c.callTool('pid', {}, CALL)));
    const { readlinkSync } = await import('node:fs');
    expect(readlinkSync(`/proc/${pid}/cwd`)).toBe('/tmp');
  });
});
