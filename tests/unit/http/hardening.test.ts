// Pure pieces of the HTTP hardening (issue 13 items 8-10): the Host policy, the JSON depth
// bound, and the settings of the new flags.
import { describe, expect, it } from 'vitest';
import { resolveServeSettings, SettingsError } from '../../../src/cli/settings.js';
import { defaultPerIdentityCap } from '../../../src/config/sessionSettings.js';
import { parseJsonText } from '../../../src/http/body.js';
import { MAX_MESSAGE_DEPTH, nestsDeeperThan } from '../../../src/jsonDepth.js';
import { HostPolicy, hostNameOf, normalizeHostName } from '../../../src/http/host.js';
import { HTTP_LIMIT_DEFAULTS } from '../../../src/http/limits.js';

describe('Host header', () => {
  it.each([
    ['localhost', 'localhost'],
    ['LocalHost:8080', 'localhost'],
    ['127.0.0.1:1', '127.0.0.1'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    ['gw.example.com:443', 'gw.example.com'],
    ['localhost:', undefined],
    ['localhost:port', undefined],
    ['localhost:123456', undefined],
    ['::1', undefined],
    ['user@localhost', undefined],
    ['localhost evil', undefined],
    ['', undefined],
    ['[not-v6]:80', undefined],
  ])('hostNameOf(%j) is %j', (header, name) => {
    expect(hostNameOf(header)).toBe(name);
  });

  it.each([
    ['GW.Example.com', 'gw.example.com'],
    ['::1', '[::1]'],
    ['[fd00::1]', '[fd00::1]'],
    ['10.0.0.5', '10.0.0.5'],
    ['http://gw.example.com', undefined],
    ['gw.example.com:8080', undefined],
    ['*', undefined],
    ['-bad.example', undefined],
  ])('normalizeHostName(%j) is %j', (entry, name) => {
    expect(normalizeHostName(entry)).toBe(name);
  });

  it('a loopback bind serves loopback names, its own address and the listed ones; nothing else', () => {
    const p = new HostPolicy(['gw.example.com'], { host: '127.0.0.2', loopback: true });
    for (const ok of ['localhost:1', '127.0.0.1:8080', '[::1]:8080', '127.0.0.2:9', 'gw.example.com']) expect(p.allows(ok), ok).toBe(true);
    for (const no of [undefined, 'evil.example', 'localhost.evil.example', '127.0.0.3', 'gw.example.com.evil']) expect(p.allows(no), String(no)).toBe(false);
  });

  it('answers the same for a Host value seen before; a refused value stays refused', () => {
    const p = new HostPolicy(undefined, { host: '127.0.0.1', loopback: true });
    for (let i = 0; i < 3; i++) {
      expect(p.allows('127.0.0.1:8080')).toBe(true);
      expect(p.allows('evil.example:8080')).toBe(false);
    }
    // Past the remembered values, each is still checked.
    for (let port = 1; port < 200; port++) expect(p.allows(`localhost:${port}`)).toBe(true);
    expect(p.allows('localhost.evil.example')).toBe(false);
  });

  it('another bind serves every Host unless names are listed', () => {
    expect(new HostPolicy(undefined, { host: '0.0.0.0', loopback: false }).allows('anything.example')).toBe(true);
    const listed = new HostPolicy(['gw.example.com'], { host: '0.0.0.0', loopback: false });
    expect(listed.allows('gw.example.com:8080')).toBe(true);
    expect(listed.allows('127.0.0.1:8080')).toBe(true);
    expect(listed.allows('other.example')).toBe(false);
  });
});

describe('JSON depth', () => {
  const nest = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

  it.each([
    [0, false],
    [1, false],
    [MAX_MESSAGE_DEPTH, false],
    [MAX_MESSAGE_DEPTH + 1, true],
    [100_000, true],
  ])('an array nested %i deep is too deep: %s', (depth, deep) => {
    expect(nestsDeeperThan(depth === 0 ? 'scalar' : nest(depth), MAX_MESSAGE_DEPTH)).toBe(deep);
  });

  it('counts objects and arrays alike, on any branch', () => {
    expect(nestsDeeperThan({ a: 1, b: [{ c: [2] }] }, 4)).toBe(false);
    expect(nestsDeeperThan({ a: 1, b: [{ c: [2] }] }, 3)).toBe(true);
  });

  it('parseJsonText: the reason of a refusal', () => {
    expect(parseJsonText('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonText('  ')).toMatchObject({ ok: false, reason: 'syntax' });
    expect(parseJsonText('{')).toMatchObject({ ok: false, reason: 'syntax' });
    expect(parseJsonText(JSON.stringify(nest(MAX_MESSAGE_DEPTH + 1)))).toMatchObject({ ok: false, reason: 'depth' });
  });
});

describe('settings of the hardening flags', () => {
  const http = (flags: Record<string, unknown>, env: Record<string, string> = {}) => resolveServeSettings({ transport: 'http', ...flags }, env, '/tmp');

  it('defaults', () => {
    const s = http({});
    expect(s.http?.connectionLimits).toEqual(HTTP_LIMIT_DEFAULTS);
    expect(s.http?.maxMcpSessions).toBe(1000);
    expect(s.http?.maxMcpSessionsPerIdentity).toBeUndefined();
    expect(s.http?.mcpSessionIdleTimeoutMs).toBe(3_600_000);
    expect(s.http?.allowedHosts).toBeUndefined();
    expect(s.session.maxSessionsPerIdentity).toBeUndefined();
    expect(defaultPerIdentityCap(1000)).toBe(250);
    expect(defaultPerIdentityCap(500)).toBe(125);
    expect(defaultPerIdentityCap(3)).toBe(1);
  });

  it('flag over env, hosts normalized', () => {
    const s = http(
      { 'allowed-hosts': 'GW.example.com, ::1', 'max-connections': 10, 'max-sessions-per-identity': 7 },
      { GATEWAY_ALLOWED_HOSTS: 'other.example', GATEWAY_MAX_CONNECTIONS: '99', GATEWAY_REQUEST_TIMEOUT_MS: '40000', GATEWAY_MAX_MCP_SESSIONS_PER_IDENTITY: '3' },
    );
    expect(s.http?.allowedHosts).toEqual(['gw.example.com', '[::1]']);
    expect(s.http?.connectionLimits.maxConnections).toBe(10);
    expect(s.http?.connectionLimits.requestTimeoutMs).toBe(40_000);
    expect(s.http?.maxMcpSessionsPerIdentity).toBe(3);
    expect(s.session.maxSessionsPerIdentity).toBe(7);
  });

  it.each([
    [{ 'allowed-hosts': 'https://gw.example.com' }, '--allowed-hosts'],
    [{ 'max-connections': 0 }, '--max-connections'],
    [{ 'request-timeout-ms': 50 }, '--request-timeout-ms'],
    [{ 'headers-timeout-ms': 5000, 'request-timeout-ms': 1000 }, '--headers-timeout-ms'],
    [{ 'max-mcp-sessions-per-identity': 0 }, '--max-mcp-sessions-per-identity'],
    [{ 'max-sessions-per-identity': -1 }, '--max-sessions-per-identity'],
  ])('refuses %o naming the flag', (flags, name) => {
    expect(() => http(flags)).toThrow(SettingsError);
    expect(() => http(flags)).toThrow(name);
  });

  it('the new flags only apply with --transport http', () => {
    expect(() => resolveServeSettings({ 'max-sessions-per-identity': 3 }, {}, '/tmp')).toThrow('--max-sessions-per-identity only applies with --transport http');
    expect(() => resolveServeSettings({ 'allowed-hosts': 'x.example' }, {}, '/tmp')).toThrow('--allowed-hosts only applies with --transport http');
  });
});
