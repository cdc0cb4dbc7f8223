// Loading the configuration files for a reload: `.mcp.json` applied per server where only some
// entries are broken, the whole file refused when the error is outside the entries, rules
// compiled before they are accepted, and the ledger behind get_gateway_status's `reload`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSandbox } from '../../../src/config/sandbox.js';
import type { ServerSpec } from '../../../src/config/types.js';
import { ConfigError } from '../../../src/config/configError.js';
import { ReloadLedger } from '../../../src/gateway/reload/ledger.js';
import { describeFailedServers, loadRulesForReload, loadServersForReload } from '../../../src/gateway/reload/loaders.js';
import { cleanupTmpDirs, makeTmpDir } from '../../helpers/tmp.js';

const dir = makeTmpDir('amg-reloader-');
let n = 0;
afterAll(() => cleanupTmpDirs());

function file(content: unknown): string {
  const path = join(dir, `f${n++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function spec(name: string, command = 'old'): ServerSpec {
  return { name, transport: 'stdio', command, args: [], env: {}, headers: {}, enabled: true, isolation: 'shared', sandbox: defaultSandbox(false) };
}

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('loadServersForReload', () => {
  it('returns every server of a valid file, in file order, with its warnings', () => {
    const path = file({ mcpServers: { b: { command: 'b' }, a: { command: 'a', oauth: {} }, off: { command: 'x', enabled: false } } });
    const r = loadServersForReload(path, {}, new Map());
    expect(r.specs.map((s) => s.name)).toEqual(['b', 'a']);
    expect(r.failed).toEqual([]);
    expect(r.warnings.map((w) => w.path)).toEqual(['mcpServers.a.oauth']);
  });

  it('applies the valid entries and keeps the last good spec of a broken one (or lists a new one as failed)', () => {
    const path = file({
      mcpServers: {
        keep: { command: 'new-keep', env: { T: '${UNSET_FOR_TEST}' } },
        fine: { command: 'fine' },
        fresh: { url: 'ftp://nope' },
      },
    });
    const previous = new Map([['keep', spec('keep')]]);
    const r = loadServersForReload(path, { OTHER: 'x' }, previous);
    expect(r.specs.map((s) => [s.name, s.command ?? s.url])).toEqual([
      ['keep', 'old'],
      ['fine', 'fine'],
      ['fresh', undefined],
    ]);
    // A new entry that did not load is a failed server carrying its errors, with nothing to start.
    expect(r.specs[2]!.configError).toContain(`Server 'fresh' is not started: its entry in ${path} has errors:`);
    expect(r.specs[2]!.configError).toContain('mcpServers.fresh.url');
    expect(r.specs[0]!.configError).toBeUndefined();
    expect(r.failed.map((f) => f.name)).toEqual(['keep', 'fresh']);
    expect(r.failed[0]!.issues).toEqual([
      {
        severity: 'error',
        path: 'mcpServers.keep.env.T',
        message:
          'Environment variable "UNSET_FOR_TEST" referenced in configuration but not set (server "keep"); set it, or give a default with ${UNSET_FOR_TEST:-value}',
      },
    ]);
    expect(r.failed[1]!.issues[0]!.path).toBe('mcpServers.fresh.url');
    const message = describeFailedServers(path, r.failed, previous);
    expect(message).toContain('2 server entries in');
    expect(message).toContain('server "keep" keeps its last good configuration');
    expect(message).toContain('server "fresh" listed as failed, not started');
    expect(message).toContain('mcpServers.keep.env.T');
  });

  it("a failed entry's message, which agents see, never carries credentials written in a URL", () => {
    const path = file({ mcpServers: { web: { url: 'ftp://admin:s3cret@example.com/mcp' } } });
    const [failed] = loadServersForReload(path, {}, new Map()).specs;
    expect(failed?.configError).toContain('mcpServers.web.url');
    expect(failed?.configError).toContain('ftp://<credentials>@example.com/mcp');
    expect(failed?.configError).not.toContain('s3cret');
  });

  it('refuses the whole file for errors outside the server entries', () => {
    for (const content of ['{"mcpServers": ', '[]', { mcpServers: [] }, { mcpServers: { a: { command: 'a' } }, extra: true }]) {
      const err = thrown(() => loadServersForReload(file(content), {}, new Map([['a', spec('a')]])));
      expect(err.message).toMatch(/Invalid (JSON|MCP server configuration)/);
    }
    const missing = thrown(() => loadServersForReload(join(dir, 'nope.json'), {}, new Map()));
    expect(missing.message).toContain('Configuration file not found');
  });

  it('keeps a server named __proto__ an ordinary server', () => {
    const path = file('{"mcpServers": {"__proto__": {"command": "p"}, "bad": {"command": 1}}}');
    const r = loadServersForReload(path, {}, new Map());
    expect(r.specs.map((s) => [s.name, s.configError === undefined])).toEqual([
      ['__proto__', true],
      ['bad', false],
    ]);
    expect(r.failed.map((f) => f.name)).toEqual(['bad']);
  });
});

describe('loadRulesForReload', () => {
  it('compiles valid rules', () => {
    const r = loadRulesForReload(file({ agents: { a: { allow: { servers: ['*'] } } } }));
    expect(r.policy.decideServer('a', 'x').allow).toBe(true);
  });

  it('throws a ConfigError with JSON paths for invalid rules', () => {
    const err = thrown(() => loadRulesForReload(file({ agents: { a: { alow: {} } } })));
    expect(err.issues.map((i) => i.path)).toContain('agents.a.alow');
    expect(err.message).toContain('agents.a.alow');
  });
});

describe('ReloadLedger', () => {
  it('records attempts, successes, errors and warnings per file', () => {
    let now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const ledger = new ReloadLedger(
      {
        revision: 1,
        warnings: { mcp_config: [{ severity: 'warning', path: 'mcpServers.a.oauth', message: 'ignored' }], gateway_rules: [] },
        cross: [{ severity: 'warning', path: 'agents.x.allow.servers[0]', message: 'references undefined server "y"' }],
      },
      () => now,
    );
    expect(ledger.status()).toEqual({
      mcp_config: {
        attempts: 0,
        successes: 0,
        last_attempt: null,
        last_success: null,
        last_error: null,
        warnings: ['mcpServers.a.oauth: ignored'],
        revision: 1,
        failed_servers: [],
      },
      gateway_rules: {
        attempts: 0,
        successes: 0,
        last_attempt: null,
        last_success: null,
        last_error: null,
        warnings: ['agents.x.allow.servers[0]: references undefined server "y"'],
        revision: 1,
      },
    });

    ledger.attempted('gateway_rules');
    ledger.failed('gateway_rules', 'Invalid JSON');
    now += 1_000;
    ledger.attempted('gateway_rules');
    ledger.succeeded('gateway_rules', 2, []);
    ledger.crossChecked([]);
    ledger.attempted('mcp_config');
    ledger.succeeded('mcp_config', 3, [], { message: 'server "a" not added', servers: ['a'] });

    const s = ledger.status();
    expect(s.gateway_rules).toEqual({
      attempts: 2,
      successes: 1,
      last_attempt: '2030-01-01T12:00:01.000Z',
      last_success: '2030-01-01T12:00:01.000Z',
      last_error: null,
      warnings: [],
      revision: 2,
    });
    expect(s.mcp_config).toMatchObject({ attempts: 1, successes: 1, last_error: 'server "a" not added', failed_servers: ['a'], revision: 3, warnings: [] });
  });
});
