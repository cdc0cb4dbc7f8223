import { describe, expect, it } from 'vitest';
import { defaultSandbox } from '../../../src/config/sandbox.js';
import { parseServersConfig } from '../../../src/config/serversFile.js';
import type { ConfigIssue } from '../../../src/config/types.js';

const ENV = { TEST_API_KEY: 'secret123', MCP_URL: 'http://h/mcp', HOME: '/home/u', EMPTY: '' };

function parse(raw: unknown, env: Record<string, string | undefined> = ENV) {
  return parseServersConfig(raw, env);
}

/** Issues as `severity path: message` lines, easier to read in a failing diff. */
function lines(issues: readonly ConfigIssue[]): string[] {
  return issues.map((i) => `${i.severity} ${i.path}: ${i.message}`);
}

function errorsOf(raw: unknown, env?: Record<string, string | undefined>): string[] {
  const result = parse(raw, env);
  return lines(result.issues.filter((i) => i.severity === 'error'));
}

const OFF = defaultSandbox(false);

/** One server named "s". */
function one(entry: unknown) {
  return { mcpServers: { s: entry } };
}

describe('parseServersConfig: valid files', () => {
  it('normalizes the reference fixture into the IR, in file order', () => {
    const result = parse({
      mcpServers: {
        db: { command: 'node', args: ['fixtures/fake-db.js'], description: 'Fake DB' },
        search: { command: 'node', args: ['fixtures/fake-search.js'] },
        api: { url: 'http://127.0.0.1:8080/mcp', description: 'HTTP API' },
      },
    });
    expect(result.issues).toEqual([]);
    expect(result.config?.servers).toEqual([
      {
        name: 'db',
        transport: 'stdio',
        command: 'node',
        args: ['fixtures/fake-db.js'],
        env: {},
        headers: {},
        description: 'Fake DB',
        enabled: true,
        isolation: 'shared',
        sandbox: OFF,
      },
      {
        name: 'search',
        transport: 'stdio',
        command: 'node',
        args: ['fixtures/fake-search.js'],
        env: {},
        headers: {},
        enabled: true,
        isolation: 'shared',
        sandbox: OFF,
      },
      {
        name: 'api',
        transport: 'http',
        url: 'http://127.0.0.1:8080/mcp',
        args: [],
        env: {},
        headers: {},
        description: 'HTTP API',
        enabled: true,
        isolation: 'shared',
        sandbox: OFF,
      },
    ]);
  });

  it('accepts an empty mcpServers and a $schema key', () => {
    expect(parse({ $schema: './schema.json', mcpServers: {} })).toEqual({ config: { servers: [] }, issues: [] });
  });

  it.each([
    [{ command: 'x' }, 'stdio'],
    [{ type: 'stdio', command: 'x' }, 'stdio'],
    [{ url: 'https://x' }, 'http'],
    [{ type: 'http', url: 'https://x' }, 'http'],
    [{ type: 'sse', url: 'https://x/sse' }, 'sse'],
  ])('%j has transport %s', (entry, transport) => {
    expect(parse(one(entry)).config?.servers[0]?.transport).toBe(transport);
  });

  it('keeps cwd, env, headers and timeout_ms', () => {
    const [stdio, http] = parse({
      mcpServers: {
        a: { command: 'node', cwd: '/opt/mcp', env: { K: 'v' }, timeout_ms: 5000 },
        b: { url: 'https://x', headers: { Authorization: 'Bearer t' }, timeout_ms: 1 },
      },
    }).config!.servers;
    expect(stdio).toMatchObject({ cwd: '/opt/mcp', env: { K: 'v' }, timeoutMs: 5000 });
    expect(http).toMatchObject({ headers: { Authorization: 'Bearer t' }, timeoutMs: 1 });
  });

  it('leaves enabled: false servers out, and keeps enabled: true ones', () => {
    const result = parse({
      mcpServers: { on: { command: 'a', enabled: true }, off: { command: 'b', enabled: false }, dflt: { command: 'c' } },
    });
    expect(result.config?.servers.map((s) => s.name)).toEqual(['on', 'dflt']);
  });

  it.each(['db', 'DB_2', 'team.backend', 'a-b', 'x'.repeat(64), '0'])('accepts server name %j', (name) => {
    expect(errorsOf({ mcpServers: { [name]: { command: 'x' } } })).toEqual([]);
  });

  it('returns frozen structures whose records inherit nothing', () => {
    const config = parse({ mcpServers: { s: { command: 'x', args: ['a'], env: { ['__proto__']: 'p', K: 'v' } } } }).config!;
    const server = config.servers[0]!;
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.servers)).toBe(true);
    expect(Object.isFrozen(server)).toBe(true);
    expect(Object.isFrozen(server.args)).toBe(true);
    expect(Object.isFrozen(server.env)).toBe(true);
    expect(server.env['constructor']).toBeUndefined();
    // "__proto__" from JSON is an ordinary variable name and must survive as one.
    expect(Object.keys(server.env)).toEqual(['__proto__', 'K']);
    expect(server.env['__proto__']).toBe('p');
  });
});

describe('parseServersConfig: environment expansion', () => {
  it('expands command, args, env values, cwd, url and header values (reference D.1 #6)', () => {
    const server = parse(
      one({
        command: '${HOME}/bin/tool',
        args: ['--key', '${TEST_API_KEY}', '${UNSET:-fallback}'],
        env: { API_KEY: '${TEST_API_KEY}', X: 'a_${TEST_API_KEY}_${TEST_API_KEY}' },
        cwd: '${HOME}/work',
      }),
    ).config!.servers[0]!;
    expect(server.command).toBe('/home/u/bin/tool');
    expect(server.args).toEqual(['--key', 'secret123', 'fallback']);
    expect(server.env).toEqual({ API_KEY: 'secret123', X: 'a_secret123_secret123' });
    expect(server.cwd).toBe('/home/u/work');

    const http = parse(one({ url: '${MCP_URL}', headers: { Authorization: 'Bearer ${TEST_API_KEY}' } })).config!.servers[0]!;
    expect(http.headers).toEqual({ Authorization: 'Bearer secret123' });
  });

  it('expands url before validating it (reference D.1 #10 [BETTER])', () => {
    const result = parse(one({ url: '${MCP_URL}' }));
    expect(result.issues).toEqual([]);
    expect(result.config?.servers[0]?.url).toBe('http://h/mcp');
  });

  it('supports both default syntaxes (reference D.1 #9 [BETTER])', () => {
    const result = parse(one({ url: '${API_BASE_URL:-https://api.example.com}/mcp', headers: { H: '${T|none}' } }));
    expect(result.config?.servers[0]).toMatchObject({ url: 'https://api.example.com/mcp', headers: { H: 'none' } });
  });

  it('does not expand description, type, keys, or non-string values (reference D.1 #8)', () => {
    const server = parse(one({ command: 'x', description: 'uses ${TEST_API_KEY}', env: { ['${TEST_API_KEY}']: '$TEST_API_KEY' } })).config!.servers[0]!;
    expect(server.description).toBe('uses ${TEST_API_KEY}');
    expect(server.env).toEqual({ ['${TEST_API_KEY}']: '$TEST_API_KEY' });
  });

  it('reports an unset variable at its path, naming the variable and the server (reference D.1 #7)', () => {
    expect(errorsOf({ mcpServers: { db: { command: 'x', env: { K: '${MISSING_VAR}' } } } })).toEqual([
      'error mcpServers.db.env.K: Environment variable "MISSING_VAR" referenced in configuration but not set (server "db"); set it, or give a default with ${MISSING_VAR:-value}',
    ]);
  });

  it.each([
    [{ command: '${NOPE}' }, 'mcpServers.s.command'],
    [{ command: 'x', args: ['ok', '${NOPE}'] }, 'mcpServers.s.args[1]'],
    [{ command: 'x', cwd: '${NOPE}' }, 'mcpServers.s.cwd'],
    [{ url: '${NOPE}' }, 'mcpServers.s.url'],
    [{ url: 'https://x', headers: { 'X-Key': '${NOPE}' } }, 'mcpServers.s.headers.X-Key'],
  ])('an unset variable in %j is an error at %s', (entry, path) => {
    const issues = parse(one(entry)).issues.filter((i) => i.message.includes('"NOPE"'));
    expect(issues).toEqual([expect.objectContaining({ severity: 'error', path })]);
  });

  it('an empty variable counts as set', () => {
    expect(parse(one({ command: 'x', env: { K: '${EMPTY}' } })).config?.servers[0]?.env).toEqual({ K: '' });
  });

  it('an unset variable in a disabled server is only a warning', () => {
    const result = parse({ mcpServers: { off: { command: '${NOPE}', enabled: false }, on: { command: 'x' } } });
    expect(result.config?.servers.map((s) => s.name)).toEqual(['on']);
    expect(lines(result.issues)).toEqual([
      'warning mcpServers.off.command: Environment variable "NOPE" referenced in configuration but not set (server "off"); the server is disabled, so this is not an error yet',
    ]);
  });

  it('an unset variable in a url is reported once, not also as a bad scheme', () => {
    expect(errorsOf(one({ url: '${NOPE}/mcp' }))).toEqual([
      'error mcpServers.s.url: Environment variable "NOPE" referenced in configuration but not set (server "s"); set it, or give a default with ${NOPE:-value}',
    ]);
    expect(parse({ mcpServers: { off: { url: '${NOPE}', enabled: false } } }).issues.map((i) => i.severity)).toEqual(['warning']);
  });

  it('a bad expanded URL is shown by its template, not by its value', () => {
    const [issue] = parse(one({ url: '${SECRET_URL}' }), { SECRET_URL: 'ftp://user:hunter2@host' }).issues;
    expect(issue?.message).toBe('"url" must start with http:// or https://, got "${SECRET_URL}" (after expansion the value starts with "ftp:")');
    expect(issue?.message).not.toContain('hunter2');
  });
});

describe('parseServersConfig: errors', () => {
  it.each<[string, unknown, string[]]>([
    // top level (reference D.1 #1)
    ['array top level', [], ['error : MCP server configuration must be a JSON object with a "mcpServers" key, got an array']],
    ['null top level', null, ['error : MCP server configuration must be a JSON object with a "mcpServers" key, got null']],
    [
      '"servers" instead of "mcpServers"',
      { servers: {} },
      ['error servers: unknown key "servers" (did you mean "mcpServers"?)', 'error mcpServers: required key "mcpServers" is missing'],
    ],
    ['mcpServers not an object', { mcpServers: [] }, ['error mcpServers: must be an object, got an array']],
    ['$schema not a string', { $schema: 1, mcpServers: {} }, ['error $schema: must be a string, got an integer']],
    ['server not an object', one('node'), ['error mcpServers.s: server "s" configuration must be an object, got a string']],
    // reference D.1 #2, #3
    [
      'both command and url',
      one({ command: 'x', url: 'http://x' }),
      ['error mcpServers.s: server "s" cannot have both "command" (stdio) and "url" (HTTP) - specify one transport type only'],
    ],
    ['only args', one({ args: ['a'] }), ['error mcpServers.s: server "s" must specify either "command" (stdio) or "url" (HTTP) transport']],
    // reference D.1 #4; the scheme check is case-insensitive here (the reference rejects HTTP://)
    ['ftp url', one({ url: 'ftp://x' }), ['error mcpServers.s.url: "url" must start with http:// or https://, got "ftp://x"']],
    ['empty url', one({ url: '' }), ['error mcpServers.s.url: "url" must start with http:// or https://, got ""']],
    ['unparsable url', one({ url: 'http://' }), ['error mcpServers.s.url: "url" is not a valid URL: "http://"']],
    // reference D.1 #5
    ['args a string', one({ command: 'x', args: 'x' }), ['error mcpServers.s.args: must be an array, got a string']],
    ['args[0] a number', one({ command: 'x', args: [1] }), ['error mcpServers.s.args[0]: must be a string, got an integer']],
    ['env value a number', one({ command: 'x', env: { A: 1 } }), ['error mcpServers.s.env.A: must be a string, got an integer']],
    ['headers a string', one({ url: 'http://x', headers: 'x' }), ['error mcpServers.s.headers: must be an object, got a string']],
    ['header value null', one({ url: 'http://x', headers: { H: null } }), ['error mcpServers.s.headers.H: must be a string, got null']],
    ['command a number', one({ command: 5 }), ['error mcpServers.s.command: must be a string, got an integer']],
    ['empty command', one({ command: '' }), ['error mcpServers.s.command: "command" must not be empty']],
    ['empty cwd', one({ command: 'x', cwd: '' }), ['error mcpServers.s.cwd: "cwd" must not be empty']],
    ['description a number', one({ command: 'x', description: 1 }), ['error mcpServers.s.description: must be a string, got an integer']],
    // type
    ['unknown type', one({ type: 'htpp', url: 'http://x' }), ['error mcpServers.s.type: must be one of "stdio", "http", "sse", got "htpp" (did you mean "http"?)']],
    ['type stdio with url', one({ type: 'stdio', url: 'http://x' }), ['error mcpServers.s.type: type "stdio" needs "command", but server "s" has "url"']],
    ['type http with command', one({ type: 'http', command: 'x' }), ['error mcpServers.s.type: type "http" needs "url", but server "s" has "command"']],
    ['type sse with command', one({ type: 'sse', command: 'x' }), ['error mcpServers.s.type: type "sse" needs "url", but server "s" has "command"']],
    // fields of the other transport
    [
      'headers on stdio',
      one({ command: 'x', headers: {} }),
      ['error mcpServers.s.headers: "headers" only applies to "http" and "sse" servers; server "s" is "stdio"'],
    ],
    [
      'args, env, cwd on http',
      one({ url: 'http://x', args: [], env: {}, cwd: '/' }),
      [
        'error mcpServers.s.args: "args" only applies to "stdio" servers; server "s" is "http"',
        'error mcpServers.s.env: "env" only applies to "stdio" servers; server "s" is "http"',
        'error mcpServers.s.cwd: "cwd" only applies to "stdio" servers; server "s" is "http"',
      ],
    ],
    // timeout_ms and enabled
    ['timeout_ms zero', one({ command: 'x', timeout_ms: 0 }), ['error mcpServers.s.timeout_ms: must be at least 1 (milliseconds)']],
    ['timeout_ms negative', one({ command: 'x', timeout_ms: -5 }), ['error mcpServers.s.timeout_ms: must be at least 1 (milliseconds)']],
    ['timeout_ms fractional', one({ command: 'x', timeout_ms: 1.5 }), ['error mcpServers.s.timeout_ms: must be a whole number, got a number']],
    ['timeout_ms a string', one({ command: 'x', timeout_ms: '100' }), ['error mcpServers.s.timeout_ms: must be a number, got a string']],
    [
      'timeout_ms beyond a Node timer',
      one({ command: 'x', timeout_ms: 2 ** 31 }),
      ['error mcpServers.s.timeout_ms: must be at most 2147483647 ms (about 24.8 days), the longest Node.js timer'],
    ],
    ['enabled a string', one({ command: 'x', enabled: 'false' }), ['error mcpServers.s.enabled: must be a boolean (true or false), got a string']],
    // unknown keys
    ['comand', one({ comand: 'x', command: 'x' }), ['error mcpServers.s.comand: unknown key "comand" (did you mean "command"?)']],
    ['Headers', one({ url: 'http://x', Headers: {} }), ['error mcpServers.s.Headers: unknown key "Headers" (did you mean "headers"?)']],
    ['timeoutMs', one({ command: 'x', timeoutMs: 1 }), ['error mcpServers.s.timeoutMs: unknown key "timeoutMs" (did you mean "timeout_ms"?)']],
    ['unrelated key', one({ command: 'x', sandboxing: {} }), ['error mcpServers.s.sandboxing: unknown key "sandboxing" (did you mean "sandbox"?)']],
    // isolation and sandbox
    ['isolation unknown', one({ command: 'x', isolation: 'call' }), ['error mcpServers.s.isolation: must be one of "shared", "agent", "session", got "call"']],
    [
      'sandbox on an http server',
      one({ url: 'http://x', sandbox: { enabled: true } }),
      ['error mcpServers.s.sandbox: "sandbox" only applies to "stdio" servers; server "s" is "http"'],
    ],
    [
      'sandbox key unknown',
      one({ command: 'x', sandbox: { enabled: true, drop_privileges: true } }),
      ['error mcpServers.s.sandbox.drop_privileges: unknown key "drop_privileges"'],
    ],
    [
      'sandbox limit zero',
      one({ command: 'x', sandbox: { enabled: true, limits: { memory_mb: 0 } } }),
      ['error mcpServers.s.sandbox.limits.memory_mb: must be at least 1 (MiB)'],
    ],
    [
      'sandbox limit a string',
      one({ command: 'x', sandbox: { enabled: true, limits: { cpu_seconds: '300' } } }),
      ['error mcpServers.s.sandbox.limits.cpu_seconds: must be a number, got a string'],
    ],
    [
      'sandbox enabled a string',
      one({ command: 'x', sandbox: { enabled: 'yes' } }),
      ['error mcpServers.s.sandbox.enabled: must be a boolean (true or false), got a string'],
    ],
    [
      'working_dir and cwd',
      one({ command: 'x', cwd: '/a', sandbox: { enabled: true, working_dir: '/b' } }),
      ['error mcpServers.s.sandbox.working_dir: "sandbox.working_dir" and "cwd" both set the working directory: keep one'],
    ],
    // names
    [
      'name with a space',
      { mcpServers: { 'my server': { command: 'x' } } },
      ['error mcpServers["my server"]: server name "my server" is invalid: use 1 to 64 letters, digits, "_", "-" or "."'],
    ],
    ['empty name', { mcpServers: { '': { command: 'x' } } }, ['error mcpServers[""]: server name "" is invalid: use 1 to 64 letters, digits, "_", "-" or "."']],
    [
      'name of 65',
      { mcpServers: { ['x'.repeat(65)]: { command: 'x' } } },
      [`error mcpServers.${'x'.repeat(65)}: server name "${'x'.repeat(65)}" is invalid: use 1 to 64 letters, digits, "_", "-" or "."`],
    ],
    [
      'name with a slash',
      { mcpServers: { 'a/b': { command: 'x' } } },
      ['error mcpServers["a/b"]: server name "a/b" is invalid: use 1 to 64 letters, digits, "_", "-" or "."'],
    ],
    // values a child process or an HTTP request cannot carry
    [
      'env key with =',
      one({ command: 'x', env: { 'A=B': 'v' } }),
      ['error mcpServers.s.env["A=B"]: "A=B" is not a valid environment variable name (it must be non-empty and contain no "=")'],
    ],
    ['NUL in an arg', one({ command: 'x', args: ['a\0b'] }), ['error mcpServers.s.args[0]: must not contain a NUL character']],
    [
      'header name with a space',
      one({ url: 'http://x', headers: { 'X Key': 'v' } }),
      ['error mcpServers.s.headers["X Key"]: "X Key" is not a valid HTTP header name'],
    ],
    [
      'header value with a newline',
      one({ url: 'http://x', headers: { H: 'a\r\nX-Evil: 1' } }),
      ['error mcpServers.s.headers.H: header value must not contain CR, LF or NUL characters'],
    ],
  ])('%s', (_name, raw, expected) => {
    const result = parse(raw);
    expect(lines(result.issues)).toEqual(expected);
    expect(result.config).toBeUndefined();
  });

  it.each(['HTTP://x', 'Https://x/mcp', 'http://localhost:3000'])('accepts url %j', (url) => {
    expect(errorsOf(one({ url }))).toEqual([]);
  });

  it('an injected header from an expanded variable is caught', () => {
    expect(errorsOf(one({ url: 'http://x', headers: { H: '${V}' } }), { V: 'a\nX-Admin: 1' })).toEqual([
      'error mcpServers.s.headers.H: header value must not contain CR, LF or NUL characters',
    ]);
  });

  it('reports every error of the file at once, each at its own path', () => {
    const result = parse({
      mcpServer: {},
      mcpServers: {
        db: { comand: 'node', args: ['ok', 2], env: { K: '${MISSING_VAR}' } },
        api: { url: 'ftp://x', timeout_ms: 0 },
        good: { command: 'node' },
        'bad name': { command: 'x' },
      },
    });
    expect(result.config).toBeUndefined();
    expect(result.issues.map((i) => i.path)).toEqual([
      'mcpServer',
      'mcpServers.db.env.K',
      'mcpServers.db.args[1]',
      'mcpServers.db.comand',
      'mcpServers.db',
      'mcpServers.api.timeout_ms',
      'mcpServers.api.url',
      'mcpServers["bad name"]',
    ]);
    expect(result.issues.every((i) => i.severity === 'error')).toBe(true);
  });
});

describe('parseServersConfig: warnings', () => {
  it("honours Claude Code's oauth keys (login uses them) and accepts timeout with a warning", () => {
    const result = parse({
      mcpServers: {
        remote: { type: 'http', url: 'https://x', oauth: { clientId: 'abc', callbackPort: 8080 } },
        local: { command: 'x', timeout: 30000 },
      },
    });
    expect(result.config?.servers).toHaveLength(2);
    expect(result.config?.servers[0]?.oauth).toEqual({ clientId: 'abc', callbackPort: 8080 });
    expect(result.issues.map((i) => [i.severity, i.path])).toEqual([['warning', 'mcpServers.local.timeout']]);
    expect(result.issues[0]?.message).toContain('"timeout_ms"');
  });

  it('keeps every oauth key it knows, and warns about the others, about oauth on stdio and next to a static Authorization header', () => {
    const oauth = {
      clientId: 'abc',
      callbackPort: 8080,
      authServerMetadataUrl: 'https://as.example/.well-known/oauth-authorization-server',
      scopes: 'read write',
      clientMetadataUrl: 'https://me.example/client.json',
    };
    const result = parse({
      mcpServers: {
        remote: { type: 'sse', url: 'https://x', oauth: { ...oauth, future: 1 } },
        headed: { url: 'https://y', headers: { Authorization: 'Bearer t' }, oauth: {} },
        local: { command: 'x', oauth: { clientId: 'abc' } },
      },
    });
    expect(result.config?.servers.map((s) => s.oauth)).toEqual([oauth, {}, undefined]);
    expect(result.issues.map((i) => [i.severity, i.path])).toEqual([
      ['warning', 'mcpServers.remote.oauth.future'],
      ['warning', 'mcpServers.headed.oauth'],
      ['warning', 'mcpServers.local.oauth'],
    ]);
  });

  it('refuses an oauth block with a bad port or a plain-http metadata URL off loopback', () => {
    const bad = parse(one({ url: 'https://x', oauth: { callbackPort: 70000, authServerMetadataUrl: 'http://as.example/meta' } }));
    expect(bad.config).toBeUndefined();
    expect(bad.issues.map((i) => i.path).sort()).toEqual(['mcpServers.s.oauth.authServerMetadataUrl', 'mcpServers.s.oauth.callbackPort']);
    expect(parse(one({ url: 'https://x', oauth: { authServerMetadataUrl: 'http://127.0.0.1:9/meta' } })).config).toBeDefined();
  });

  it('warnings are kept next to errors, and errors still win', () => {
    const result = parse(one({ command: 'x', timeout: 1, comand: 'y' }));
    expect(result.config).toBeUndefined();
    expect(result.issues.map((i) => i.severity).sort()).toEqual(['error', 'warning']);
  });
});

describe('parseServersConfig: isolation and sandbox', () => {
  it("defaults: shared, sandbox off with SignalWire's limits", () => {
    const spec = parse(one({ command: 'x' })).config?.servers[0];
    expect(spec?.isolation).toBe('shared');
    expect(spec?.sandbox).toEqual({
      enabled: false,
      resourceLimits: true,
      restrictedEnv: true,
      limits: { cpuSeconds: 300, memoryMb: 512, processes: 10, fileSizeMb: 10 },
    });
  });

  it("reads SignalWire's keys, with defaults for those left out and ${VAR} in working_dir", () => {
    const result = parseServersConfig(
      one({
        command: 'x',
        isolation: 'session',
        sandbox: { enabled: true, restricted_env: false, working_dir: '${BASE}/w', limits: { memory_mb: 1024, processes: 20 } },
      }),
      { BASE: '/srv' },
    );
    expect(result.issues).toEqual([]);
    const spec = result.config?.servers[0];
    expect(spec?.isolation).toBe('session');
    expect(spec?.sandbox).toEqual({
      enabled: true,
      resourceLimits: true,
      restrictedEnv: false,
      workingDir: '/srv/w',
      limits: { cpuSeconds: 300, memoryMb: 1024, processes: 20, fileSizeMb: 10 },
    });
  });

  it('warns when sandbox settings are given but the sandbox is not enabled', () => {
    const result = parse(one({ command: 'x', sandbox: { resource_limits: false } }));
    expect(lines(result.issues)).toEqual(['warning mcpServers.s.sandbox.enabled: the sandbox is off (set "enabled": true), so its other settings have no effect']);
    expect(result.config?.servers[0]?.sandbox.enabled).toBe(false);
  });

  it('accepts isolation on an HTTP server', () => {
    expect(parse(one({ url: 'http://x', isolation: 'agent' })).config?.servers[0]?.isolation).toBe('agent');
  });
});
