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
