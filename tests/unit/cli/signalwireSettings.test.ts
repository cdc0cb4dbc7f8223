import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveServeSettings, SettingsError } from '../../../src/cli/settings.js';
import { ConfigError } from '../../../src/config/configError.js';
import { cleanupTmpDirs, makeTmpDir, writeJson } from '../../helpers/tmp.js';

// --config: SignalWire's config.json as a settings layer below flags and environment variables.

afterAll(() => cleanupTmpDirs());

function configFile(doc: unknown): { dir: string; path: string } {
  const dir = makeTmpDir('amg-swset-');
  const path = join(dir, 'config.json');
  writeJson(path, doc);
  return { dir, path };
}

const FILE = {
  server: { host: '${MCP_HOST|0.0.0.0}', port: '${MCP_PORT|8100}', auth_user: 'admin', auth_password: '${MCP_AUTH_PASSWORD|changeme}' },
  services: { todo: { command: ['node', 'todo.mjs'] } },
  session: { default_timeout: 120, max_sessions_per_service: '2', sandbox_dir: './sandbox' },
  rate_limiting: { default_limits: ['200 per day', '50 per hour'], call_limit: '10 per minute', storage_uri: 'memory://' },
  logging: { level: 'WARNING', file: 'gateway.log' },
};

describe('resolveServeSettings with --config', () => {
  it('implies HTTP and takes config.json below the defaults', () => {
    const { dir, path } = configFile(FILE);
    const s = resolveServeSettings({ config: path }, { HOME: '/home/u' }, dir);
    expect(s.transport).toBe('http');
    expect(s.http).toMatchObject({ host: '0.0.0.0', port: 8100, basic: { user: 'admin', password: 'changeme' } });
    expect(s.http?.rateLimits.limits).toEqual({
      default: [
        { limit: 200, windowSeconds: 86_400, text: '200 per day' },
        { limit: 50, windowSeconds: 3600, text: '50 per hour' },
      ],
      call: [{ limit: 10, windowSeconds: 60, text: '10 per minute' }],
    });
    expect(s.session).toMatchObject({ defaultTimeoutS: 120, maxSessionsPerService: 2, cleanupIntervalS: 60, sandboxDir: join(dir, 'sandbox') });
    expect(s.logLevel).toBe('warn');
    expect(s.logFile).toBe(join(dir, 'gateway.log'));
    expect(s.signalWire?.path).toBe(path);
    expect(s.signalWire?.servers.servers.map((x) => x.name)).toEqual(['todo']);
  });

  it('gives the one shared identity of a drop-in the whole session total unless a cap is set', () => {
    const { dir, path } = configFile({ ...FILE, session: { ...FILE.session, max_total_sessions: 40 } });
    expect(resolveServeSettings({ config: path }, {}, dir).session.maxSessionsPerIdentity).toBe(40);
    expect(resolveServeSettings({ config: path, 'max-sessions-per-identity': 5 }, {}, dir).session.maxSessionsPerIdentity).toBe(5);
    expect(resolveServeSettings({ transport: 'http' }, {}, dir).session.maxSessionsPerIdentity).toBeUndefined();
  });

  it('flags beat environment variables, which beat config.json', () => {
    const { dir, path } = configFile(FILE);
    const env = { GATEWAY_CONFIG: path, GATEWAY_HTTP_PORT: '9002', GATEWAY_HTTP_HOST: '127.0.0.2', GATEWAY_RATE_LIMIT_CALL: '99 per minute' };
    const s = resolveServeSettings({ port: 9003, 'log-level': 'debug' }, env, dir);
    expect(s.http?.port).toBe(9003);
    expect(s.http?.host).toBe('127.0.0.2');
    expect(s.http?.rateLimits.limits.call?.[0]?.limit).toBe(99);
    expect(s.logLevel).toBe('debug');
  });

  it('${VAR|default} in config.json reads the environment given', () => {
    const { dir, path } = configFile(FILE);
    const s = resolveServeSettings({ config: path }, { MCP_PORT: '8200', MCP_AUTH_PASSWORD: '12345' }, dir);
    expect(s.http?.port).toBe(8200);
    expect(s.http?.basic?.password).toBe('12345');
  });

  it("a bad value is reported by the flag's own parser, naming the file and the JSON path", () => {
    const { dir, path } = configFile({ ...FILE, server: { port: 70_000 }, rate_limiting: { call_limit: '10 per fortnight' } });
    expect(() => resolveServeSettings({ config: path }, {}, dir)).toThrow(`${path}: server.port: expected a whole number from 0 to 65535, got '70000'`);
    const other = configFile({ ...FILE, rate_limiting: { call_limit: '10 per fortnight' } });
    expect(() => resolveServeSettings({ config: other.path }, {}, other.dir)).toThrow(`${other.path}: rate_limiting.call_limit: "10 per fortnight" is not`);
    const list = configFile({ ...FILE, rate_limiting: { default_limits: ['1 per day', 'lots'] } });
    expect(() => resolveServeSettings({ config: list.path }, {}, list.dir)).toThrow(`${list.path}: rate_limiting.default_limits[1]: "lots" is not`);
  });

  it('an invalid or missing file is a ConfigError listing every issue with its path', () => {
    const { dir, path } = configFile({ services: { s: { command: 'node' } }, server: { port: 'x' } });
    expect(() => resolveServeSettings({ config: path }, {}, dir)).toThrow(ConfigError);
    expect(() => resolveServeSettings({ config: path }, {}, dir)).toThrow(/server\.port: must be a number[\s\S]*services\.s\.command: must be a non-empty list/);
    expect(() => resolveServeSettings({ config: join(dir, 'nope.json') }, {}, dir)).toThrow(`Configuration file not found: ${join(dir, 'nope.json')}`);
    writeFileSync(path, '{"server": ');
    expect(() => resolveServeSettings({ config: path }, {}, dir)).toThrow(/invalid JSON: .* at line 1/);
  });

  it('refuses stdio, and a second source of servers', () => {
    const { dir, path } = configFile(FILE);
    expect(() => resolveServeSettings({ config: path, transport: 'stdio' }, {}, dir)).toThrow(SettingsError);
    expect(() => resolveServeSettings({ config: path, transport: 'stdio' }, {}, dir)).toThrow('--transport: stdio does not go with --config');
    expect(() => resolveServeSettings({ config: path, 'mcp-config': '.mcp.json' }, {}, dir)).toThrow('--config and --mcp-config both name the servers');
    expect(() => resolveServeSettings({}, { GATEWAY_CONFIG: path, GATEWAY_MCP_CONFIG: 'x' }, dir)).toThrow(
      'GATEWAY_CONFIG and GATEWAY_MCP_CONFIG both name the servers',
    );
  });

  it('--config without a path is refused (it would otherwise fall back to stdio)', () => {
    expect(() => resolveServeSettings({ config: '' }, {}, '/tmp')).toThrow('--config needs the path of a SignalWire config.json');
  });

  it('an empty auth_token (SignalWire\'s "${MCP_AUTH_TOKEN|}") means no token', () => {
    const { dir, path } = configFile({ ...FILE, server: { auth_token: '${MCP_AUTH_TOKEN|}' } });
    expect(resolveServeSettings({ config: path }, {}, dir).http?.token).toBeUndefined();
    expect(resolveServeSettings({ config: path }, { MCP_AUTH_TOKEN: 'tok' }, dir).http?.token).toBe('tok');
  });

  it('without --config nothing changes: stdio, no SignalWire source', () => {
    const s = resolveServeSettings({}, {}, '/tmp');
    expect(s.transport).toBe('stdio');
    expect(s.signalWire).toBeUndefined();
  });
});
