import { describe, expect, it } from 'vitest';
import { resolveServeSettings, SettingsError } from '../../../src/cli/settings.js';

describe('resolveServeSettings: HTTP-only options', () => {
  it.each([
    [{ port: 9000 }, '--port'],
    [{ 'auth-token': 'secret' }, '--auth-token'],
    [{ 'allow-unauthenticated': true }, '--allow-unauthenticated'],
    [{ 'rate-limit-call': '10 per minute' }, '--rate-limit-call'],
  ])('refuses %o on the command line in stdio mode', (flags, name) => {
    expect(() => resolveServeSettings(flags, {}, '/tmp')).toThrow(SettingsError);
    expect(() => resolveServeSettings(flags, {}, '/tmp')).toThrow(`${name} only applies with --transport http`);
  });

  it('ignores HTTP variables in the environment in stdio mode', () => {
    const settings = resolveServeSettings({}, { GATEWAY_AUTH_TOKEN: 'secret', GATEWAY_HTTP_PORT: '9000' }, '/tmp');
    expect(settings.transport).toBe('stdio');
    expect(settings.http).toBeUndefined();
  });

  it('reads them with --transport http, flag over env', () => {
    const settings = resolveServeSettings({ transport: 'http', port: 9001 }, { GATEWAY_HTTP_PORT: '9000', GATEWAY_AUTH_TOKEN: 't0k' }, '/tmp');
    expect(settings.http?.port).toBe(9001);
    expect(settings.http?.token).toBe('t0k');
  });
});

describe('resolveServeSettings: native mode', () => {
  it('defaults to meta mode, "__" and a budget that fits an entry named gateway', () => {
    const settings = resolveServeSettings({}, {}, '/tmp');
    expect(settings.mode).toBe('meta');
    expect(settings.naming).toEqual({ separator: '__', maxLength: 50 });
  });

  it('reads --mode, --name-separator and --client-prefix-length, flag over env', () => {
    const settings = resolveServeSettings(
      { mode: 'native', 'client-prefix-length': 20 },
      { GATEWAY_MODE: 'both', GATEWAY_NAME_SEPARATOR: '-', GATEWAY_CLIENT_PREFIX_LENGTH: '30' },
      '/tmp',
    );
    expect(settings.mode).toBe('native');
    expect(settings.naming).toEqual({ separator: '-', maxLength: 44 });
  });

  it.each([
    [{ mode: 'direct' }, {}, "--mode: 'direct' is not one of meta, native, both"],
    [{}, { GATEWAY_MODE: 'all' }, "GATEWAY_MODE: 'all' is not one of meta, native, both"],
    [{ 'name-separator': '.' }, {}, '--name-separator: the name separator must be 1 to 4 characters of A-Z, a-z, 0-9, "_" and "-", got "."'],
    [{}, { GATEWAY_NAME_SEPARATOR: '_____' }, 'GATEWAY_NAME_SEPARATOR: the name separator must be'],
    [{ 'client-prefix-length': 41 }, {}, '--client-prefix-length: expected a whole number from 0 to 40'],
    [{ 'client-prefix-length': -1 }, {}, '--client-prefix-length: expected a whole number from 0 to 40'],
  ])('refuses %o %o', (flags, env, message) => {
    expect(() => resolveServeSettings(flags, env, '/tmp')).toThrow(SettingsError);
    expect(() => resolveServeSettings(flags, env, '/tmp')).toThrow(message);
  });
});

describe('resolveServeSettings: session settings', () => {
  it("defaults to SignalWire's values and a sandbox folder in the cache", () => {
    expect(resolveServeSettings({}, { HOME: '/home/u' }, '/tmp').session).toEqual({
      defaultTimeoutS: 300,
      cleanupIntervalS: 60,
      maxSessionsPerService: 100,
      maxTotalSessions: 500,
      sandboxDir: '/home/u/.cache/agent-mcp-gateway/sandbox',
    });
  });

  it('reads flags over environment variables, in both modes; a relative sandbox folder is taken from the working directory', () => {
    const session = resolveServeSettings(
      { 'session-default-timeout': 1.5, 'max-total-sessions': 7, 'sandbox-dir': 'sb' },
      { GATEWAY_SESSION_DEFAULT_TIMEOUT: '9', GATEWAY_SESSION_CLEANUP_INTERVAL: '0.2', GATEWAY_MAX_SESSIONS_PER_SERVICE: '3' },
      '/work',
    ).session;
    expect(session).toEqual({ defaultTimeoutS: 1.5, cleanupIntervalS: 0.2, maxSessionsPerService: 3, maxTotalSessions: 7, sandboxDir: '/work/sb' });
  });

  it.each([
    [{ 'session-default-timeout': 0 }, '--session-default-timeout: expected a number of seconds above 0 and at most 86400'],
    [{ 'session-cleanup-interval': 'soon' }, '--session-cleanup-interval: expected a number of seconds above 0 and at most 86400'],
    [{ 'max-sessions-per-service': 1.5 }, '--max-sessions-per-service: expected a positive integer'],
    [{ 'max-total-sessions': -1 }, '--max-total-sessions: expected a positive integer'],
  ])('refuses %o', (flags, message) => {
    expect(() => resolveServeSettings(flags, {}, '/tmp')).toThrow(message);
  });
});

describe('resolveServeSettings: message size limits on the stdio pipes', () => {
  it('defaults to 10 MiB for a request line and 64 MiB for a downstream line; flag over env', () => {
    expect(resolveServeSettings({}, {}, '/tmp')).toMatchObject({ maxMessageBytes: 10 * 1024 * 1024, maxResultBytes: 64 * 1024 * 1024 });
    const env = { GATEWAY_MAX_MESSAGE_BYTES: '2048', GATEWAY_MAX_RESULT_BYTES: '4096' };
    expect(resolveServeSettings({}, env, '/tmp')).toMatchObject({ maxMessageBytes: 2048, maxResultBytes: 4096 });
    expect(resolveServeSettings({ 'max-result-bytes': 8192 }, env, '/tmp')).toMatchObject({ maxMessageBytes: 2048, maxResultBytes: 8192 });
  });

  it.each([
    [{ 'max-message-bytes': 100 }, {}, '--max-message-bytes: expected a whole number from 1024 to 536870912'],
    [{}, { GATEWAY_MAX_RESULT_BYTES: '1e10' }, 'GATEWAY_MAX_RESULT_BYTES: expected a whole number from 1024 to 536870912'],
  ])('refuses %o %o', (flags, env, message) => {
    expect(() => resolveServeSettings(flags, env, '/tmp')).toThrow(message);
  });
});

describe('resolveServeSettings: the agent binding', () => {
  it.each([
    [{ agent: '' }, {}, '--agent is set but empty'],
    [{ agent: ' \t' }, {}, '--agent is set but blank'],
    [{}, { GATEWAY_AGENT: '' }, 'GATEWAY_AGENT is set but empty'],
    [{}, { GATEWAY_AGENT: '   ' }, 'GATEWAY_AGENT is set but blank'],
    [{ agent: '' }, { GATEWAY_AGENT: 'admin' }, '--agent is set but empty'],
    [{ agent: ['a', 'b'] }, {}, '--agent is given more than once'],
  ])('refuses %o %o', (flags, env, message) => {
    expect(() => resolveServeSettings(flags, env, '/tmp')).toThrow(SettingsError);
    expect(() => resolveServeSettings(flags, env, '/tmp')).toThrow(message);
  });

  it('flag over env; unset is unbound', () => {
    expect(resolveServeSettings({ agent: 'a' }, { GATEWAY_AGENT: 'b' }, '/tmp').agent).toBe('a');
    expect(resolveServeSettings({}, { GATEWAY_AGENT: 'b' }, '/tmp').agent).toBe('b');
    expect(resolveServeSettings({}, {}, '/tmp').agent).toBeUndefined();
  });
});

describe('resolveServeSettings: tool search', () => {
  it('indexes at start and offers search_tools in native mode only when asked: flag or variable', () => {
    expect(resolveServeSettings({}, {}, '/tmp')).toMatchObject({ searchIndexAtStart: false, nativeSearch: false });
    expect(resolveServeSettings({ 'search-index-at-start': true, 'native-search': true }, {}, '/tmp')).toMatchObject({
      searchIndexAtStart: true,
      nativeSearch: true,
    });
    const fromEnv = resolveServeSettings({}, { GATEWAY_SEARCH_INDEX_AT_START: 'yes', GATEWAY_NATIVE_SEARCH: '1' }, '/tmp');
    expect(fromEnv).toMatchObject({ searchIndexAtStart: true, nativeSearch: true });
    expect(resolveServeSettings({}, { GATEWAY_SEARCH_INDEX_AT_START: 'no' }, '/tmp').searchIndexAtStart).toBe(false);
  });
});
