import { describe, expect, it } from 'vitest';
import { parseSignalWireConfig, signalWireRules, SIGNALWIRE_AGENT } from '../../../src/config/signalwireConfig.js';
import { DEFAULT_SANDBOX_LIMITS } from '../../../src/config/sandbox.js';
import type { ConfigIssue } from '../../../src/config/types.js';

const CWD = '/srv/gw';

function parse(doc: unknown, env: Record<string, string | undefined> = {}) {
  return parseSignalWireConfig(typeof doc === 'string' ? doc : JSON.stringify(doc), env, CWD);
}

function lines(issues: readonly ConfigIssue[], severity: 'error' | 'warning'): string[] {
  return issues.filter((i) => i.severity === severity).map((i) => `${i.path}: ${i.message}`);
}

/** A config whose only service is `todo` with the given extra keys. */
function todo(extra: Record<string, unknown> = {}) {
  return { services: { todo: { command: ['node', 'todo.mjs'], ...extra } } };
}

describe("parseSignalWireConfig: SignalWire's sample file", () => {
  const SAMPLE = {
    server: {
      host: '${MCP_HOST|0.0.0.0}',
      port: '${MCP_PORT|8100}',
      auth_user: '${MCP_AUTH_USER|admin}',
      auth_password: '${MCP_AUTH_PASSWORD|changeme}',
      auth_token: '${MCP_AUTH_TOKEN|}',
    },
    services: {
      todo: {
        command: ['python3', './test/todo_mcp.py'],
        description: 'Simple todo list for testing',
        enabled: true,
        sandbox: { enabled: true, resource_limits: true, restricted_env: true },
      },
      off: { command: ['python3', 'x.py'], description: 'disabled', enabled: false },
    },
    session: {
      default_timeout: '${MCP_SESSION_TIMEOUT|300}',
      max_sessions_per_service: '${MCP_MAX_SESSIONS|100}',
      cleanup_interval: '${MCP_CLEANUP_INTERVAL|60}',
      sandbox_dir: './sandbox',
    },
    rate_limiting: {
      default_limits: ['200 per day', '50 per hour'],
      tools_limit: '30 per minute',
      call_limit: '10 per minute',
      session_delete_limit: '20 per minute',
      storage_uri: 'memory://',
    },
    logging: { level: '${MCP_LOG_LEVEL|INFO}', file: '${MCP_LOG_FILE|gateway.log}' },
  };

  it('maps every section, defaults substituted and coerced where a number belongs', () => {
    const { config, issues } = parse(SAMPLE);
    expect(issues).toEqual([]);
    expect(config?.settings).toEqual({
      host: { value: '0.0.0.0', path: 'server.host' },
      port: { value: 8100, path: 'server.port' },
      'auth-user': { value: 'admin', path: 'server.auth_user' },
      'auth-password': { value: 'changeme', path: 'server.auth_password' },
      'session-default-timeout': { value: 300, path: 'session.default_timeout' },
      'max-sessions-per-service': { value: 100, path: 'session.max_sessions_per_service' },
      'session-cleanup-interval': { value: 60, path: 'session.cleanup_interval' },
      'sandbox-dir': { value: './sandbox', path: 'session.sandbox_dir' },
      'rate-limit-default': { value: ['200 per day', '50 per hour'], path: 'rate_limiting.default_limits' },
      'rate-limit-tools': { value: '30 per minute', path: 'rate_limiting.tools_limit' },
      'rate-limit-call': { value: '10 per minute', path: 'rate_limiting.call_limit' },
      'rate-limit-session-delete': { value: '20 per minute', path: 'rate_limiting.session_delete_limit' },
      'rate-limit-storage': { value: 'memory://', path: 'rate_limiting.storage_uri' },
      'log-level': { value: 'info', path: 'logging.level' },
      'log-file': { value: 'gateway.log', path: 'logging.file' },
    });
  });

  it('turns enabled services into stdio servers isolated per session, sandboxed by default, started in the working directory', () => {
    const { config } = parse(SAMPLE);
    expect(config?.servers.servers).toEqual([
      {
        name: 'todo',
        transport: 'stdio',
        command: 'python3',
        args: ['./test/todo_mcp.py'],
        env: {},
        headers: {},
        description: 'Simple todo list for testing',
        enabled: true,
        isolation: 'session',
        sandbox: { enabled: true, resourceLimits: true, restrictedEnv: true, workingDir: CWD, limits: DEFAULT_SANDBOX_LIMITS },
      },
    ]);
    expect(DEFAULT_SANDBOX_LIMITS).toEqual({ cpuSeconds: 300, memoryMb: 512, processes: 10, fileSizeMb: 10 });
  });

  it("names the variables the gateway's credentials come from, so no server inherits them", () => {
    expect(parse(SAMPLE).config?.secretVariables).toEqual(['MCP_AUTH_USER', 'MCP_AUTH_PASSWORD', 'MCP_AUTH_TOKEN']);
    const doc = { server: { auth_token: 'Bearer-${A}-${B:-x}', auth_password: 'literal' }, rate_limiting: { storage_uri: 'redis://:${REDIS_PW}@h:6379' } };
    expect(parse(doc).config?.secretVariables).toEqual(['A', 'B', 'REDIS_PW']);
  });

  it('takes the environment over the defaults', () => {
    const env = { MCP_PORT: '9001', MCP_AUTH_PASSWORD: '12345', MCP_AUTH_TOKEN: 'tok', MCP_LOG_LEVEL: 'warning' };
    const settings = parse(SAMPLE, env).config?.settings;
    expect(settings?.port?.value).toBe(9001);
    // A numeric secret stays a string (SignalWire turns it into an int and every Basic login fails).
    expect(settings?.['auth-password']?.value).toBe('12345');
    expect(settings?.['auth-token']?.value).toBe('tok');
    expect(settings?.['log-level']?.value).toBe('warn');
  });
});

describe('parseSignalWireConfig: substitution', () => {
  it.each([
    ['${UNSET|8080}', {}, '8080'],
    ['${UNSET|}', {}, ''],
    ['prefix-${UNSET|mid}-suffix', {}, 'prefix-mid-suffix'],
    ['${UNSET|a|b}', {}, 'a|b'],
    ['${SET|x}', { SET: 'value' }, 'value'],
    ['${SET}', { SET: '' }, ''],
    ['${A}-${B|two}', { A: 'one' }, 'one-two'],
    ['${A}', { A: '${B}' }, '${B}'],
    ['-1', {}, '-1'],
    ['${UNSET:-claude}', {}, 'claude'],
  ])('%s with %o gives %j', (template, env, expected) => {
    const { config, issues } = parse(todo({ description: template }), env);
    expect(lines(issues, 'error')).toEqual([]);
    expect(config?.servers.servers[0]?.description ?? '').toBe(expected);
  });

  it('an unset variable without a default becomes "" with a warning naming the path', () => {
    const { config, issues } = parse({ ...todo(), server: { auth_token: '${MCP_AUTH_TOKEN}' } });
    expect(config?.settings['auth-token']).toBeUndefined();
    expect(lines(issues, 'warning')).toEqual([
      'server.auth_token: environment variable "MCP_AUTH_TOKEN" is not set and has no default: it counts as "" (write ${MCP_AUTH_TOKEN|default} to give one)',
    ]);
  });

  it('substitutes inside command arrays, keeping every item a string', () => {
    const { config } = parse({ services: { s: { command: ['node', '${DIR|/opt}/s.mjs', '${PORT|8080}', 'true'] } } });
    expect(config?.servers.servers[0]).toMatchObject({ command: 'node', args: ['/opt/s.mjs', '8080', 'true'] });
  });
});

describe('parseSignalWireConfig: coercion where a number or a boolean belongs', () => {
  it.each([
    [{ server: { port: '8080' } }, 'port', 8080],
    [{ server: { port: 8081 } }, 'port', 8081],
    [{ server: { port: '007' } }, 'port', 7],
    [{ session: { default_timeout: '1.5' } }, 'session-default-timeout', 1.5],
    [{ server: { auth_user: 'true', auth_password: '12345' } }, 'auth-user', 'true'],
    [{ server: { auth_user: 'u', auth_password: '12345' } }, 'auth-password', '12345'],
  ] as const)('%o -> %s = %j', (doc, key, value) => {
    const { config, issues } = parse({ ...todo(), ...doc });
    expect(lines(issues, 'error')).toEqual([]);
    expect(config?.settings[key]?.value).toBe(value);
  });

  it.each([
    [{ enabled: 'FALSE' }, false],
    [{ enabled: 'true' }, true],
    [{ resource_limits: 'False' }, false],
    [{ restricted_env: false }, false],
  ])('sandbox %o', (sandbox, value) => {
    const spec = parse(todo({ sandbox })).config?.servers.servers[0]?.sandbox;
    const key = Object.keys(sandbox)[0] === 'enabled' ? 'enabled' : Object.keys(sandbox)[0] === 'resource_limits' ? 'resourceLimits' : 'restrictedEnv';
    expect(spec?.[key]).toBe(value);
  });

  it('limits accept numeric strings', () => {
    const spec = parse(todo({ sandbox: { limits: { cpu_seconds: '60', memory_mb: 2048 } } })).config?.servers.servers[0]?.sandbox;
    expect(spec?.limits).toEqual({ cpuSeconds: 60, memoryMb: 2048, processes: 10, fileSizeMb: 10 });
  });

  it('enabled: "false" on a service leaves it out, as SignalWire does', () => {
    expect(parse(todo({ enabled: 'false' })).config?.servers.servers).toEqual([]);
  });
});

describe('parseSignalWireConfig: errors name the JSON path', () => {
  it.each([
    ['{"server": {', ['(top level): invalid JSON: ']],
    ['[1]', ['(top level): a SignalWire config.json must be a JSON object, got an array']],
  ])('%s', (text, expected) => {
    const errors = lines(parse(text).issues, 'error').map((l) => l.replace(/^: /, '(top level): '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(expected[0]);
  });

  it.each([
    [{ server: { port: 'eighty' } }, 'server.port: must be a number, got a string that is not one'],
    [{ server: { port: '-1' } }, 'server.port: must be a number, got a string that is not one'],
    [{ server: { auth_password: 12345, auth_user: 'a' } }, 'server.auth_password: must be a string, got an integer'],
    [{ server: [] }, 'server: must be an object, got an array'],
    [{ rate_limiting: { default_limits: [1] } }, 'rate_limiting.default_limits: must be a list of strings like "200 per day", got an array'],
    [{ session: { max_total_sessions: true } }, 'session.max_total_sessions: must be a number, got true'],
    [{ logging: { level: 'LOUD' } }, 'logging.level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL'],
    [{ logging: { level: 'WARNIGN' } }, 'logging.level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (did you mean "WARNING"?)'],
    [{ services: [] }, 'services: must be an object, got an array'],
    [{ services: { s: 'node x' } }, 'services.s: must be an object, got a string'],
    [{ services: { s: {} } }, 'services.s.command: required key "command" is missing (the program and its arguments, e.g. ["node", "server.mjs"])'],
    [{ services: { s: { command: 'node x.mjs' } } }, 'services.s.command: must be a non-empty list of strings, got a string'],
    [{ services: { s: { command: [] } } }, 'services.s.command: must be a non-empty list of strings, got an array'],
    [{ services: { s: { command: ['node', 8080] } } }, 'services.s.command[1]: must be a string, got an integer'],
    [{ services: { s: { command: [''] } } }, 'services.s.command[0]: the program must not be empty'],
    [{ services: { 'bad name': { command: ['x'] } } }, 'services["bad name"]: service name "bad name" is invalid: use 1 to 64 letters, digits, "_", "-" or "."'],
    [{ services: { s: { command: ['x'], enabled: 'yes' } } }, 'services.s.enabled: must be true or false, got a string that is not one'],
    [{ services: { s: { command: ['x'], description: 5 } } }, 'services.s.description: must be a string, got an integer'],
    [{ services: { s: { command: ['x'], sandbox: true } } }, 'services.s.sandbox: must be an object, got true'],
    [{ services: { s: { command: ['x'], sandbox: { enabled: 'on' } } } }, 'services.s.sandbox.enabled: must be a boolean (true or false), got a string'],
    [{ services: { s: { command: ['x'], sandbox: { limits: { memory_mb: 0 } } } } }, 'services.s.sandbox.limits.memory_mb: must be at least 1 (MiB)'],
    [{ services: { s: { command: ['x'], sandbox: { limits: { processes: '1.5' } } } } }, 'services.s.sandbox.limits.processes: '],
    [{ services: { s: { command: ['x'], sandbox: {}, sandbox_config: {} } } }, 'services.s.sandbox_config: give "sandbox" or "sandbox_config", not both'],
  ])('%j', (doc, expected) => {
    const { config, issues } = parse(doc);
    expect(config).toBeUndefined();
    const errors = lines(issues, 'error');
    expect(
      errors.some((e) => e.startsWith(expected)),
      errors.join('\n'),
    ).toBe(true);
  });

  it('reports every error at once and never shows a value', () => {
    const { issues } = parse({ server: { port: 'sk-secret-value', auth_token: 5 }, services: { s: { command: [1] } } });
    expect(lines(issues, 'error')).toHaveLength(3);
    expect(JSON.stringify(issues)).not.toContain('sk-secret-value');
  });
});

describe('parseSignalWireConfig: what SignalWire ignores is a warning here', () => {
  it('unknown keys get a suggestion; known unused ones say why', () => {
    const { config, issues } = parse({
      ...todo({ comand: ['x'], sandbox: { drop_privileges: true, allowed_paths: ['/tmp'], enabeld: true } }),
      security: { ssl_enabled: false },
      sever: {},
      logging: { format: '%(message)s' },
    });
    expect(config).toBeDefined();
    expect(lines(issues, 'warning')).toEqual([
      'security: SignalWire\'s gateway only logs the "security" section; ignored (security headers are always sent here)',
      'sever: unknown key "sever", ignored (did you mean "server"?)',
      'logging.format: logs are JSON lines here; ignored',
      'services.todo.comand: unknown key "comand", ignored (did you mean "command"?)',
      "services.todo.sandbox.drop_privileges: not supported: the child runs as the gateway's user (run the gateway as a non-root user, as the Docker image does)",
      'services.todo.sandbox.allowed_paths: not enforced (SignalWire documents it as future work and ignores it too)',
      'services.todo.sandbox.enabeld: unknown key "enabeld", ignored (did you mean "enabled"?)',
    ]);
  });

  it("honours sandbox_config (SignalWire's documented key, which its code ignores), with a warning", () => {
    const { config, issues } = parse(todo({ sandbox_config: { enabled: false } }));
    expect(config?.servers.servers[0]?.sandbox.enabled).toBe(false);
    expect(lines(issues, 'warning')).toEqual(['services.todo.sandbox_config: read as "sandbox" (SignalWire\'s gateway ignores "sandbox_config"; it applies here)']);
  });

  it('a disabled service with errors only warns', () => {
    const { config, issues } = parse({ services: { ok: { command: ['x'] }, off: { enabled: false, command: 'oops' } } });
    expect(config?.servers.servers.map((s) => s.name)).toEqual(['ok']);
    expect(lines(issues, 'warning')).toEqual([
      'services.off.command: must be a non-empty list of strings, got a string (the service is disabled, so this is not an error yet)',
    ]);
  });

  it('one half of Basic auth turns Basic off with a warning', () => {
    const { config, issues } = parse({ ...todo(), server: { auth_user: 'admin', auth_password: '${MCP_AUTH_PASSWORD|}' } });
    expect(config?.settings['auth-user']).toBeUndefined();
    expect(config?.settings['auth-password']).toBeUndefined();
    expect(lines(issues, 'warning')).toEqual(['server.auth_password: empty or missing while server.auth_user is set: Basic auth is off (it needs both)']);
  });

  it('a relative working_dir is taken from the working directory', () => {
    expect(parse(todo({ sandbox: { working_dir: 'srv' } })).config?.servers.servers[0]?.sandbox.workingDir).toBe('/srv/gw/srv');
    expect(parse(todo({ sandbox: { working_dir: '/abs' } })).config?.servers.servers[0]?.sandbox.workingDir).toBe('/abs');
  });

  it('an empty file (no services) is valid: nothing to serve yet', () => {
    expect(parse({})).toEqual({ config: { servers: { servers: [] }, settings: {}, secretVariables: [] }, issues: [] });
  });
});

describe('signalWireRules', () => {
  it('one agent that may use every server; a missing agent_id falls back to it', () => {
    const rules = signalWireRules();
    expect(Object.keys(rules.agents)).toEqual([SIGNALWIRE_AGENT]);
    expect(rules.agents[SIGNALWIRE_AGENT]?.allow.servers).toEqual(['*']);
    expect(rules.defaults.deny_on_missing_agent).toBe(false);
  });
});
