// The command line of the built gateway (issue 2 "CLI" and "Configuration", issue 3 start-up
// errors): --version, --help with every flag's environment variable, `validate` (clean example
// files; every error of a broken file with its JSON path and a did-you-mean; missing files),
// `init`, `explain`, start-up failures, and the config lookup order
// flag > env > ./ > ~/.config/agent-mcp-gateway/ > ./config/.
// Every run is `node dist/main.js ...` in temp folders with HOME pointed at a temp folder.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_MAIN, REPO_ROOT } from '../helpers/paths.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';

const MARKER = `gw-cli-${process.pid}-${Date.now()}`;
const BASE_ENV: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) BASE_ENV[k] = v;
BASE_ENV.GW_E2E_MARKER = MARKER;

const EXAMPLE_MCP = join(REPO_ROOT, '.mcp.json.example');
const EXAMPLE_RULES = join(REPO_ROOT, '.mcp-gateway-rules.json.example');
const PKG_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fresh HOME and working directory for one test. */
function sandbox(): { cwd: string; home: string } {
  const root = makeTmpDir('amg-cli-');
  const cwd = join(root, 'work');
  const home = join(root, 'home');
  mkdirSync(cwd, { recursive: true });
  mkdirSync(home, { recursive: true });
  return { cwd, home };
}

function run(args: string[], opts: { cwd?: string; home?: string; env?: Record<string, string>; input?: string } = {}): Run {
  const box = opts.cwd && opts.home ? { cwd: opts.cwd, home: opts.home } : sandbox();
  const r = spawnSync(process.execPath, [GATEWAY_MAIN, ...args], {
    cwd: opts.cwd ?? box.cwd,
    env: { ...BASE_ENV, HOME: opts.home ?? box.home, ...opts.env },
    input: opts.input ?? '', // stdin at EOF: a serving gateway stops at once
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const VALID_SERVERS = { mcpServers: { db: { command: 'node', args: ['server.js'] } } };
const VALID_RULES = { agents: { backend: { allow: { servers: ['db'] } } } };

/** The broken rules file of the issue: several errors at once. */
const BROKEN_RULES = {
  agents: {
    backend: { alow: { servers: ['db'] } },
    'bad id!': { allow: { servers: ['db'] } },
    front: { allow: { servers: ['a/b'] } },
  },
  defaults: { deny_on_missing_agent: 'true' },
};

guardAgainstLeaks(MARKER, { what: 'processes left behind by cli tests' });

// ------------------------------------------------------------------------------------------
describe('--version and --help', () => {
  it('--version prints the package.json version', () => {
    const r = run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(PKG_VERSION);
    expect(r.stderr).toBe('');
  });

  const SERVE_FLAGS: Record<string, string> = {
    '--mcp-config': 'GATEWAY_MCP_CONFIG',
    '--rules': 'GATEWAY_RULES',
    '--agent': 'GATEWAY_AGENT',
    '--default-agent': 'GATEWAY_DEFAULT_AGENT',
    '--debug': 'GATEWAY_DEBUG',
    '--log-level': 'GATEWAY_LOG_LEVEL',
    '--log-file': 'GATEWAY_LOG_FILE',
    '--config': 'GATEWAY_CONFIG',
    '--oauth-dir': 'GATEWAY_OAUTH_DIR',
    '--audit-log': 'GATEWAY_AUDIT_LOG',
    '--audit-args': 'GATEWAY_AUDIT_ARGS',
    '--init-strategy': 'GATEWAY_INIT_STRATEGY',
    '--search-index-at-start': 'GATEWAY_SEARCH_INDEX_AT_START',
    '--native-search': 'GATEWAY_NATIVE_SEARCH',
    '--timeout-ms': 'GATEWAY_TIMEOUT_MS',
    '--max-timeout-ms': 'GATEWAY_MAX_TIMEOUT_MS',
    '--reload-debounce-ms': 'GATEWAY_RELOAD_DEBOUNCE_MS',
    '--lock-file': 'GATEWAY_LOCK_FILE',
    '--pinning': 'GATEWAY_PINNING',
    '--mode': 'GATEWAY_MODE',
    '--name-separator': 'GATEWAY_NAME_SEPARATOR',
    '--client-prefix-length': 'GATEWAY_CLIENT_PREFIX_LENGTH',
    '--session-default-timeout': 'GATEWAY_SESSION_DEFAULT_TIMEOUT',
    '--session-cleanup-interval': 'GATEWAY_SESSION_CLEANUP_INTERVAL',
    '--max-sessions-per-service': 'GATEWAY_MAX_SESSIONS_PER_SERVICE',
    '--max-total-sessions': 'GATEWAY_MAX_TOTAL_SESSIONS',
    '--sandbox-dir': 'GATEWAY_SANDBOX_DIR',
    '--max-message-bytes': 'GATEWAY_MAX_MESSAGE_BYTES',
    '--max-result-bytes': 'GATEWAY_MAX_RESULT_BYTES',
    '--max-sessions-per-identity': 'GATEWAY_MAX_SESSIONS_PER_IDENTITY',
    '--transport': 'GATEWAY_TRANSPORT',
    '--host': 'GATEWAY_HTTP_HOST',
    '--port': 'GATEWAY_HTTP_PORT',
    '--auth-user': 'GATEWAY_AUTH_USER',
    '--auth-password': 'GATEWAY_AUTH_PASSWORD',
    '--auth-token': 'GATEWAY_AUTH_TOKEN',
    '--resource-url': 'GATEWAY_RESOURCE_URL',
    '--allow-unauthenticated': 'GATEWAY_ALLOW_UNAUTHENTICATED',
    '--allowed-origins': 'GATEWAY_ALLOWED_ORIGINS',
    '--max-body-bytes': 'GATEWAY_MAX_BODY_BYTES',
    '--tls-cert': 'GATEWAY_TLS_CERT',
    '--tls-key': 'GATEWAY_TLS_KEY',
    '--drain-timeout-ms': 'GATEWAY_DRAIN_TIMEOUT_MS',
    '--rate-limit-default': 'GATEWAY_RATE_LIMIT_DEFAULT',
    '--rate-limit-tools': 'GATEWAY_RATE_LIMIT_TOOLS',
    '--rate-limit-call': 'GATEWAY_RATE_LIMIT_CALL',
    '--rate-limit-session-delete': 'GATEWAY_RATE_LIMIT_SESSION_DELETE',
    '--rate-limit-storage': 'GATEWAY_RATE_LIMIT_STORAGE',
    '--allowed-hosts': 'GATEWAY_ALLOWED_HOSTS',
    '--headers-timeout-ms': 'GATEWAY_HEADERS_TIMEOUT_MS',
    '--request-timeout-ms': 'GATEWAY_REQUEST_TIMEOUT_MS',
    '--keep-alive-timeout-ms': 'GATEWAY_KEEP_ALIVE_TIMEOUT_MS',
    '--max-connections': 'GATEWAY_MAX_CONNECTIONS',
    '--max-mcp-sessions': 'GATEWAY_MAX_MCP_SESSIONS',
    '--max-mcp-sessions-per-identity': 'GATEWAY_MAX_MCP_SESSIONS_PER_IDENTITY',
    '--mcp-session-idle-timeout-ms': 'GATEWAY_MCP_SESSION_IDLE_TIMEOUT_MS',
  };

  /** Option blocks of a yargs help text: flag -> its whole (re-flowed) description. */
  function optionBlocks(help: string): Map<string, string> {
    const blocks = new Map<string, string>();
    let current: string | undefined;
    for (const line of help.split('\n')) {
      const m = /^ {2}(--[a-z-]+)\b(.*)$/.exec(line);
      if (m) {
        current = m[1]!;
        blocks.set(current, m[2]!);
      } else if (current && /^ {3,}\S/.test(line)) {
        blocks.set(current, `${blocks.get(current)} ${line}`);
      } else {
        current = undefined;
      }
    }
    for (const [k, v] of blocks) blocks.set(k, v.replace(/\s+/g, ' ').trim());
    return blocks;
  }

  it('--help lists every serve flag with its environment variable, and the commands', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    const blocks = optionBlocks(r.stdout);
    for (const [flag, envVar] of Object.entries(SERVE_FLAGS)) {
      expect(blocks.has(flag), `${flag} missing from --help:\n${r.stdout}`).toBe(true);
      expect(blocks.get(flag), `${flag} does not name ${envVar}`).toContain(`env: ${envVar}`);
    }
    // Nothing undocumented: every other listed flag is yargs' own.
    expect([...blocks.keys()].filter((f) => !(f in SERVE_FLAGS)).sort()).toEqual(['--help', '--version']);
    for (const cmd of ['validate', 'init', 'explain', 'login']) expect(r.stdout).toMatch(new RegExp(`agent-mcp-gateway ${cmd}\\b`));
  });

  it('validate --help documents --mcp-config and --rules with their variables', () => {
    const r = run(['validate', '--help']);
    expect(r.code).toBe(0);
    const blocks = optionBlocks(r.stdout);
    expect(blocks.get('--mcp-config')).toContain('env: GATEWAY_MCP_CONFIG');
    expect(blocks.get('--rules')).toContain('env: GATEWAY_RULES');
  });

  it('an unknown flag is refused (exit 1)', () => {
    const r = run(['--bogus-flag']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Unknown argument.*bogus-flag/);
    expect(r.stdout).toBe('');
  });
});

// ------------------------------------------------------------------------------------------
describe('validate', () => {
  it('the shipped example files: exit 0, valid, zero warnings', () => {
    const r = run(['validate', '--mcp-config', EXAMPLE_MCP, '--rules', EXAMPLE_RULES]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`servers: ${EXAMPLE_MCP}: valid`);
    expect(r.stdout).toContain(`rules: ${EXAMPLE_RULES}: valid`);
    expect(r.stdout + r.stderr).not.toMatch(/warn/i);
    expect(r.stderr).toBe('');
  });

  it('a broken rules file: every error with its JSON path, a did-you-mean for the typo, exit 1', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, 'servers.json'), VALID_SERVERS);
    writeJson(join(cwd, 'rules.json'), BROKEN_RULES);
    const r = run(['validate', '--mcp-config', 'servers.json', '--rules', 'rules.json'], { cwd, home });
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`rules: ${join(cwd, 'rules.json')}: invalid`);
    const errorLines = out.split('\n').filter((l) => /^\s*error\b/.test(l));
    expect(errorLines).toHaveLength(4);
    // Each error on its own line, starting with its path.
    expect(out).toMatch(/error\s+agents\.backend\.alow: .*did you mean "allow"/);
    expect(out).toMatch(/error\s+agents\["bad id!"\]: .*invalid characters/);
    expect(out).toMatch(/error\s+agents\.front\.allow\.servers\[0\]: .*"a\/b"/);
    expect(out).toMatch(/error\s+defaults\.deny_on_missing_agent: .*boolean/);
    // The servers file itself was fine and is reported as such.
    expect(out).toContain(`servers: ${join(cwd, 'servers.json')}: valid`);
  });

  it('resource patterns: one with no canonical form is an error, one written otherwise a warning naming its canonical form', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, 'servers.json'), VALID_SERVERS);
    writeJson(join(cwd, 'rules.json'), { agents: { a: { deny: { resources: { x: ['FILE://localhost/srv/./secret/*', 'file:///srv/a%2Fb'] } } } } });
    const r = run(['validate', '--mcp-config', 'servers.json', '--rules', 'rules.json'], { cwd, home });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/warning\s+agents\.a\.deny\.resources\.x\[0\]: .*canonical form "file:\/\/\/srv\/secret\/\*"/);
    expect(r.stdout).toMatch(/error\s+agents\.a\.deny\.resources\.x\[1\]: .*%2F/);
  });

  it('errors in both files are all reported in one run', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, 'servers.json'), { mcpServers: { db: { comand: 'node' }, web: { url: 'not a url', type: 'http' } } });
    writeJson(join(cwd, 'rules.json'), BROKEN_RULES);
    const r = run(['validate', '--mcp-config', 'servers.json', '--rules', 'rules.json'], { cwd, home });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`servers: ${join(cwd, 'servers.json')}: invalid`);
    expect(r.stdout).toMatch(/mcpServers\.db\.comand: .*did you mean "command"/);
    expect(r.stdout).toContain(`rules: ${join(cwd, 'rules.json')}: invalid`);
    expect(r.stdout).toMatch(/agents\.backend\.alow/);
  });

  it('warnings (a rule naming an unconfigured server) keep exit 0 and carry their path', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, 'servers.json'), VALID_SERVERS);
    writeJson(join(cwd, 'rules.json'), { agents: { backend: { allow: { servers: ['db', 'ghost'] } } } });
    const r = run(['validate', '--mcp-config', 'servers.json', '--rules', 'rules.json'], { cwd, home });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warning\s+agents\.backend\.allow\.servers\[1\]: .*ghost/);
  });

  it('invalid JSON names the file, line and column', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, 'servers.json'), VALID_SERVERS);
    writeFileSync(join(cwd, 'rules.json'), '{\n  "agents": {\n    "a": { "allow": { "servers": ["x"] }, }\n  }\n}\n');
    const r = run(['validate', '--mcp-config', 'servers.json', '--rules', 'rules.json'], { cwd, home });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/rules\.json.*line 3, column \d+/);
  });

  it('no config anywhere: the error names every place tried, in order, and exits 1', () => {
    const { cwd, home } = sandbox();
    const r = run(['validate'], { cwd, home });
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    const places = [join(cwd, '.mcp.json'), join(home, '.config', 'agent-mcp-gateway', '.mcp.json'), join(cwd, 'config', '.mcp.json')];
    const at = places.map((p) => out.indexOf(p));
    expect(
      at.every((i) => i >= 0),
      out,
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(out).toContain('--mcp-config');
    expect(out).toContain('GATEWAY_MCP_CONFIG');
    // ... and, in the same run, every place tried for the rules file.
    for (const p of [
      join(cwd, '.mcp-gateway-rules.json'),
      join(home, '.config', 'agent-mcp-gateway', '.mcp-gateway-rules.json'),
      join(cwd, 'config', '.mcp-gateway-rules.json'),
    ]) {
      expect(out).toContain(p);
    }
  });

  it('the rules file missing (servers found): names every place tried for the rules', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, '.mcp.json'), VALID_SERVERS);
    const r = run(['validate'], { cwd, home });
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    for (const p of [
      join(cwd, '.mcp-gateway-rules.json'),
      join(home, '.config', 'agent-mcp-gateway', '.mcp-gateway-rules.json'),
      join(cwd, 'config', '.mcp-gateway-rules.json'),
    ]) {
      expect(out).toContain(p);
    }
  });

  it('a missing file named by the flag or the variable is an error (no fallback search)', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, '.mcp.json'), VALID_SERVERS);
    writeJson(join(cwd, '.mcp-gateway-rules.json'), VALID_RULES);
    const viaFlag = run(['validate', '--mcp-config', 'nope.json'], { cwd, home });
    expect(viaFlag.code).toBe(1);
    expect(viaFlag.stdout + viaFlag.stderr).toContain(join(cwd, 'nope.json'));
    expect(viaFlag.stdout + viaFlag.stderr).toContain('--mcp-config');
    const viaEnv = run(['validate'], { cwd, home, env: { GATEWAY_RULES: 'missing-rules.json' } });
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.stdout + viaEnv.stderr).toContain(join(cwd, 'missing-rules.json'));
    expect(viaEnv.stdout + viaEnv.stderr).toContain('GATEWAY_RULES');
  });
});

// ------------------------------------------------------------------------------------------
describe('config lookup order: flag > env > ./ > ~/.config/agent-mcp-gateway/ > ./config/', () => {
  /** Which files `validate` used, from its "servers: PATH: valid" / "rules: PATH: valid" lines. */
  function chosen(r: Run): { servers?: string; rules?: string } {
    const servers = /^servers: (.*): valid/m.exec(r.stdout)?.[1];
    const rules = /^rules: (.*): valid/m.exec(r.stdout)?.[1];
    return { ...(servers ? { servers } : {}), ...(rules ? { rules } : {}) };
  }

  it('each place takes over when the ones before it are absent, for both files independently', () => {
    const { cwd, home } = sandbox();
    const homeDir = join(home, '.config', 'agent-mcp-gateway');
    const configDir = join(cwd, 'config');
    const explicitDir = join(cwd, 'explicit');
    for (const d of [homeDir, configDir, explicitDir]) mkdirSync(d, { recursive: true });
    const place = {
      flag: { mcp: join(explicitDir, 'flag-servers.json'), rules: join(explicitDir, 'flag-rules.json') },
      env: { mcp: join(explicitDir, 'env-servers.json'), rules: join(explicitDir, 'env-rules.json') },
      cwd: { mcp: join(cwd, '.mcp.json'), rules: join(cwd, '.mcp-gateway-rules.json') },
      home: { mcp: join(homeDir, '.mcp.json'), rules: join(homeDir, '.mcp-gateway-rules.json') },
      config: { mcp: join(configDir, '.mcp.json'), rules: join(configDir, '.mcp-gateway-rules.json') },
    };
    for (const p of Object.values(place)) {
      writeJson(p.mcp, VALID_SERVERS);
      writeJson(p.rules, VALID_RULES);
    }
    const env = { GATEWAY_MCP_CONFIG: place.env.mcp, GATEWAY_RULES: place.env.rules };
    const flags = ['--mcp-config', place.flag.mcp, '--rules', place.flag.rules];

    // 1. flag beats everything
    let r = run(['validate', ...flags], { cwd, home, env });
    expect(r.code).toBe(0);
    expect(chosen(r)).toEqual({ servers: place.flag.mcp, rules: place.flag.rules });
    // 2. env beats the searched places
    r = run(['validate'], { cwd, home, env });
    expect(chosen(r)).toEqual({ servers: place.env.mcp, rules: place.env.rules });
    // 3. ./ beats home and ./config
    r = run(['validate'], { cwd, home });
    expect(chosen(r)).toEqual({ servers: place.cwd.mcp, rules: place.cwd.rules });
    // 4. home beats ./config
    rmSync(place.cwd.mcp);
    rmSync(place.cwd.rules);
    r = run(['validate'], { cwd, home });
    expect(chosen(r)).toEqual({ servers: place.home.mcp, rules: place.home.rules });
    // 5. ./config last
    rmSync(place.home.mcp);
    rmSync(place.home.rules);
    r = run(['validate'], { cwd, home });
    expect(r.code).toBe(0);
    expect(chosen(r)).toEqual({ servers: place.config.mcp, rules: place.config.rules });
  });

  it('the two files are resolved independently (servers from env, rules from home)', () => {
    const { cwd, home } = sandbox();
    const homeDir = join(home, '.config', 'agent-mcp-gateway');
    mkdirSync(homeDir, { recursive: true });
    writeJson(join(cwd, 'env-servers.json'), VALID_SERVERS);
    writeJson(join(homeDir, '.mcp-gateway-rules.json'), VALID_RULES);
    mkdirSync(join(cwd, 'config'), { recursive: true });
    writeJson(join(cwd, 'config', '.mcp.json'), VALID_SERVERS); // must lose to the env
    const r = run(['validate'], { cwd, home, env: { GATEWAY_MCP_CONFIG: 'env-servers.json' } });
    expect(r.code).toBe(0);
    expect(chosen(r)).toEqual({ servers: join(cwd, 'env-servers.json'), rules: join(homeDir, '.mcp-gateway-rules.json') });
  });

  it('an empty variable counts as unset; ~ in a path means HOME', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, '.mcp.json'), VALID_SERVERS);
    writeJson(join(home, 'my-rules.json'), VALID_RULES);
    const r = run(['validate', '--rules', '~/my-rules.json'], { cwd, home, env: { GATEWAY_MCP_CONFIG: '' } });
    expect(r.code).toBe(0);
    expect(chosen(r)).toEqual({ servers: join(cwd, '.mcp.json'), rules: join(home, 'my-rules.json') });
  });
});

// ------------------------------------------------------------------------------------------
describe('init', () => {
  it('--dir D writes both files, which validate clean (no warnings) and point at existing files', () => {
    const { cwd, home } = sandbox();
    const dir = join(cwd, 'cfg');
    const r = run(['init', '--dir', dir], { cwd, home });
    expect(r.code).toBe(0);
    const mcp = join(dir, '.mcp.json');
    const rules = join(dir, '.mcp-gateway-rules.json');
    expect(r.stdout).toContain(`wrote ${mcp}`);
    expect(r.stdout).toContain(`wrote ${rules}`);
    const v = run(['validate', '--mcp-config', mcp, '--rules', rules], { cwd, home });
    expect(v.code).toBe(0);
    expect(v.stdout + v.stderr).not.toMatch(/warn|error/i);
    // The written server paths are absolute and exist, so the files work from any folder.
    const servers = (JSON.parse(readFileSync(mcp, 'utf8')) as { mcpServers: Record<string, { args?: string[] }> }).mcpServers;
    const scripts = Object.values(servers).flatMap((s) => (s.args ?? []).filter((a) => a.endsWith('.js')));
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(isAbsolute(s), s).toBe(true);
      expect(existsSync(s), s).toBe(true);
    }
    // Rules are the shipped example, byte for byte.
    expect(readFileSync(rules, 'utf8')).toBe(readFileSync(EXAMPLE_RULES, 'utf8'));
  });

  it('refuses to overwrite without --force (exit 1, files untouched), overwrites with --force', () => {
    const { cwd, home } = sandbox();
    const dir = join(cwd, 'cfg');
    expect(run(['init', '--dir', dir], { cwd, home }).code).toBe(0);
    const rules = join(dir, '.mcp-gateway-rules.json');
    writeFileSync(rules, '{"agents": {"mine": {}}}\n');

    const again = run(['init', '--dir', dir], { cwd, home });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--force');
    expect(again.stderr).toContain(rules);
    expect(readFileSync(rules, 'utf8')).toBe('{"agents": {"mine": {}}}\n');

    const forced = run(['init', '--dir', dir, '--force'], { cwd, home });
    expect(forced.code).toBe(0);
    expect(readFileSync(rules, 'utf8')).toBe(readFileSync(EXAMPLE_RULES, 'utf8'));
  });

  it('without --dir writes into ~/.config/agent-mcp-gateway/, where validate then finds them', () => {
    const { cwd, home } = sandbox();
    const r = run(['init'], { cwd, home });
    expect(r.code).toBe(0);
    const dir = join(home, '.config', 'agent-mcp-gateway');
    expect(existsSync(join(dir, '.mcp.json'))).toBe(true);
    expect(existsSync(join(dir, '.mcp-gateway-rules.json'))).toBe(true);
    const v = run(['validate'], { cwd, home });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain(`servers: ${join(dir, '.mcp.json')}: valid`);
    expect(v.stdout).not.toMatch(/warn/i);
  });
});

// ------------------------------------------------------------------------------------------
describe('explain', () => {
  const ex = (args: string[]) => run(['explain', '--mcp-config', EXAMPLE_MCP, '--rules', EXAMPLE_RULES, ...args]);

  it('DENY by an explicit tool deny, with the rule path', () => {
    const r = ex(['--agent', 'writer', '--server', 'memory', '--tool', 'delete_entities']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('server memory: ALLOW (rule: agents.writer.allow.servers[0])');
    expect(r.stdout).toContain('tool memory/delete_entities: DENY (rule: agents.writer.deny.tools.memory[0])');
  });

  it('ALLOW by an explicit tool allow and by a pattern, with the rule path', () => {
    const echo = ex(['--agent', 'researcher', '--server', 'everything', '--tool', 'echo']);
    expect(echo.stdout).toContain('tool everything/echo: ALLOW (rule: agents.researcher.allow.tools.everything[0])');
    const glob = ex(['--agent', 'researcher', '--server', 'everything', '--tool', 'get-sum']);
    expect(glob.stdout).toContain('tool everything/get-sum: ALLOW (rule: agents.researcher.allow.tools.everything[1])');
    const notListed = ex(['--agent', 'researcher', '--server', 'everything', '--tool', 'trigger-long-running-operation']);
    expect(notListed.stdout).toMatch(/tool everything\/trigger-long-running-operation: DENY \(rule: agents\.researcher\.allow\.tools\.everything\)/);
  });

  it('implicit grant when the agent has no allow.tools entry for the server', () => {
    const r = ex(['--agent', 'admin', '--server', 'notes', '--tool', 'clear_notes']);
    expect(r.stdout).toContain('server notes: ALLOW (rule: agents.admin.allow.servers[0])');
    expect(r.stdout).toContain('tool notes/clear_notes: ALLOW (rule: implicit)');
  });

  it('server not allowed: DENY with the rule path; no --tool prints only the server line', () => {
    const r = ex(['--agent', 'researcher', '--server', 'notes']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('server notes: DENY (rule: agents.researcher.allow.servers)');
  });

  it('--resource and --prompt: decisions under the resources and prompts rules', () => {
    const dir = makeTmpDir();
    const rules = join(dir, 'rules.json');
    writeJson(rules, {
      agents: { a: { allow: { servers: ['everything'], resources: { everything: ['demo://resource/static/*'] } }, deny: { prompts: { everything: ['args-*'] } } } },
    });
    const r = run([
      'explain',
      '--mcp-config',
      EXAMPLE_MCP,
      '--rules',
      rules,
      '--agent',
      'a',
      '--server',
      'everything',
      '--resource',
      'demo://resource/dynamic/text/1',
      '--prompt',
      'args-prompt',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('resource everything/demo://resource/dynamic/text/1: DENY (rule: agents.a.allow.resources.everything)');
    expect(r.stdout).toContain('prompt everything/args-prompt: DENY (rule: agents.a.deny.prompts.everything[0])');
  });

  it('--resource: decided in its canonical form, as the gateway decides it; no single reading is refused', () => {
    const dir = makeTmpDir();
    const rules = join(dir, 'rules.json');
    writeJson(rules, { agents: { a: { allow: { servers: ['fs'] }, deny: { resources: { fs: ['file:///srv/secret/*'] } } } } });
    const explain = (uri: string) => run(['explain', '--mcp-config', EXAMPLE_MCP, '--rules', rules, '--agent', 'a', '--server', 'fs', '--resource', uri]);
    const spelt = explain('FILE://localhost/srv/public/%2e%2e/%73ecret/key.txt');
    expect(spelt.code).toBe(0);
    expect(spelt.stdout).toContain('resource fs/FILE://localhost/srv/public/%2e%2e/%73ecret/key.txt: decided and forwarded as file:///srv/secret/key.txt');
    expect(spelt.stdout).toContain('resource fs/file:///srv/secret/key.txt: DENY (rule: agents.a.deny.resources.fs[0])');
    const backslash = explain('file:///srv/public/..\\secret\\key.txt');
    expect(backslash.stdout).toMatch(/resource fs\/.*: REFUSED \(INVALID_ARGUMENT: the URI contains a backslash/);
  });

  it('an agent that is not in the rules is called out', () => {
    const r = ex(['--agent', 'ghost', '--server', 'notes']);
    expect(r.stdout).toMatch(/not in the rules/);
    expect(r.stdout).toContain('INVALID_AGENT_ID');
    expect(r.stdout).toMatch(/server notes: DENY/);
  });

  it('--agent and --server are required (exit 1)', () => {
    const r = run(['explain', '--mcp-config', EXAMPLE_MCP, '--rules', EXAMPLE_RULES, '--server', 'notes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/agent/);
  });

  it('a broken rules file: exit 1 with the errors on stderr', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, 'servers.json'), VALID_SERVERS);
    writeJson(join(cwd, 'rules.json'), BROKEN_RULES);
    const r = run(['explain', '--mcp-config', 'servers.json', '--rules', 'rules.json', '--agent', 'x', '--server', 'db'], { cwd, home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('agents.backend.alow');
    expect(r.stdout).toBe('');
  });
});

// ------------------------------------------------------------------------------------------
describe('serving: start-up failures exit 1 with the reason on stderr, nothing on stdout', () => {
  it('an invalid rules file', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, 'servers.json'), VALID_SERVERS);
    writeJson(join(cwd, 'rules.json'), BROKEN_RULES);
    const r = run(['--mcp-config', 'servers.json', '--rules', 'rules.json', '--audit-log', 'off'], { cwd, home });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    for (const path of ['agents.backend.alow', 'agents["bad id!"]', 'agents.front.allow.servers[0]', 'defaults.deny_on_missing_agent']) {
      expect(r.stderr).toContain(path);
    }
    expect(r.stderr).toContain(join(cwd, 'rules.json'));
  });

  it('an unset variable in .mcp.json does not stop the start: the log names the variable and the server', () => {
    const { cwd, home } = sandbox();
    writeJson(join(cwd, 'servers.json'), { mcpServers: { api: { url: '${GW_TEST_UNSET_URL_VAR}' } } });
    writeJson(join(cwd, 'rules.json'), VALID_RULES);
    const r = run(['--mcp-config', 'servers.json', '--rules', 'rules.json', '--audit-log', 'off'], { cwd, home });
    // It served (stdin was at EOF, so it stopped at once) with "api" as one failed server.
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('GW_TEST_UNSET_URL_VAR');
    expect(r.stderr).toContain('api');
  });

  it('no config anywhere: exit 1 naming every place tried', () => {
    const { cwd, home } = sandbox();
    const r = run([], { cwd, home });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(join(cwd, '.mcp.json'));
    expect(r.stderr).toContain(join(home, '.config', 'agent-mcp-gateway', '.mcp.json'));
    expect(r.stderr).toContain(join(cwd, 'config', '.mcp.json'));
  });

  const badEnv: Array<[string, string, RegExp]> = [
    ['GATEWAY_INIT_STRATEGY', 'sometimes', /GATEWAY_INIT_STRATEGY.*sometimes/],
    ['GATEWAY_LOG_LEVEL', 'loud', /GATEWAY_LOG_LEVEL.*loud/],
    ['GATEWAY_AUDIT_ARGS', 'everything', /GATEWAY_AUDIT_ARGS.*everything/],
    ['GATEWAY_TIMEOUT_MS', 'soon', /GATEWAY_TIMEOUT_MS.*soon/],
    ['GATEWAY_MAX_TIMEOUT_MS', '-5', /GATEWAY_MAX_TIMEOUT_MS.*-5/],
    ['GATEWAY_RELOAD_DEBOUNCE_MS', '10', /GATEWAY_RELOAD_DEBOUNCE_MS: expected a whole number from 75 to 3600000, got '10'/],
  ];
  for (const [name, value, pattern] of badEnv) {
    it(`a bad ${name} value: exit 1 naming the variable`, () => {
      const r = run(['--mcp-config', EXAMPLE_MCP, '--rules', EXAMPLE_RULES, '--audit-log', 'off'], { env: { [name]: value } });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(pattern);
    });
  }

  it('a bad --init-strategy flag value: exit 1 naming the flag', () => {
    const r = run(['--mcp-config', EXAMPLE_MCP, '--rules', EXAMPLE_RULES, '--audit-log', 'off', '--init-strategy', 'sometimes']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/init-strategy/);
  });

  it('--timeout-ms above --max-timeout-ms is refused', () => {
    const r = run(['--mcp-config', EXAMPLE_MCP, '--rules', EXAMPLE_RULES, '--audit-log', 'off', '--timeout-ms', '5000', '--max-timeout-ms', '1000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/timeout-ms/);
  });

  // Issue 13 item 4: an empty binding used to mean "unbound", so agent_id "admin" got admin's
  // rights; a binding to an undefined agent started and refused every call.
  const serveExample = ['--mcp-config', EXAMPLE_MCP, '--rules', EXAMPLE_RULES, '--audit-log', 'off'];
  const emptyBindings: Array<[string, string[], Record<string, string>, RegExp]> = [
    ["--agent ''", ['--agent', ''], {}, /--agent is set but empty/],
    ['--agent=', ['--agent='], {}, /--agent is set but empty/],
    ['GATEWAY_AGENT=', [], { GATEWAY_AGENT: '' }, /GATEWAY_AGENT is set but empty/],
    ["--agent '  '", ['--agent', '  '], {}, /--agent is set but blank/],
    ['GATEWAY_AGENT=<tab>', [], { GATEWAY_AGENT: '\t' }, /GATEWAY_AGENT is set but blank/],
    ["--agent '' over GATEWAY_AGENT=admin", ['--agent', ''], { GATEWAY_AGENT: 'admin' }, /--agent is set but empty/],
  ];
  for (const [label, args, env, pattern] of emptyBindings) {
    it(`an empty binding (${label}) is refused: exit 1, nothing served`, () => {
      const r = run([...serveExample, ...args], { env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/ready on stdio/);
    });
  }

  it('--agent given twice is refused', () => {
    const r = run([...serveExample, '--agent', 'researcher', '--agent', 'admin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--agent is given more than once/);
  });

  const undefinedBindings: Array<[string, string[], Record<string, string>, RegExp]> = [
    [
      'a typo, by flag',
      ['--agent', 'reseacher'],
      {},
      /agent "reseacher" is not defined in the rules \(.*\.mcp-gateway-rules\.json\.example\); did you mean "researcher"\?/,
    ],
    ['a typo, by variable', [], { GATEWAY_AGENT: 'admn' }, /agent "admn" is not defined in the rules .*; did you mean "admin"\?/],
    ['stray spaces', ['--agent', ' writer '], {}, /agent " writer " is not defined in the rules .*; did you mean "writer"\?/],
    ['nothing close', ['--agent', 'zzzzzzzzzz'], {}, /agent "zzzzzzzzzz" is not defined in the rules .*; defined agents: researcher, writer, admin, default/],
  ];
  for (const [label, args, env, pattern] of undefinedBindings) {
    it(`a binding to an agent the rules do not define (${label}) is refused, naming it and the closest id`, () => {
      const r = run([...serveExample, ...args], { env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/ready on stdio/);
    });
  }

  it('a binding to a defined agent starts', () => {
    const r = run([...serveExample, '--agent', 'researcher']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/ready on stdio/);
  });

  it('a valid configuration with stdin at EOF: starts, then exits 0 with only JSON-RPC (nothing) on stdout', () => {
    const r = run(['--mcp-config', EXAMPLE_MCP, '--rules', EXAMPLE_RULES, '--audit-log', 'off']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ready on stdio/);
  });
});
