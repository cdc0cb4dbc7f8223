import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIssues, loadRulesFile, loadServersFile } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/config/configError.js';

let dir: string;
let counter = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'amg-load-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(content: unknown): string {
  const path = join(dir, `f${counter++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

function caught(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadServersFile', () => {
  it('returns the config and its warnings', () => {
    const path = file({ mcpServers: { db: { command: 'node', timeout: 10 } } });
    const { config, warnings } = loadServersFile(path, {});
    expect(config.servers.map((s) => s.name)).toEqual(['db']);
    expect(warnings.map((w) => w.path)).toEqual(['mcpServers.db.timeout']);
  });

  it('passes env through to expansion', () => {
    const path = file({ mcpServers: { db: { command: 'node', env: { K: '${TEST_API_KEY}' } } } });
    expect(loadServersFile(path, { TEST_API_KEY: 'secret123' }).config.servers[0]?.env).toEqual({ K: 'secret123' });
  });

  it('throws a ConfigError holding every issue, all of them in its message', () => {
    const path = file({ mcpServers: { db: { comand: 'node', timeout: 1 }, api: { url: 'ftp://x' } } });
    const err = caught(() => loadServersFile(path, {}));
    expect(err.file).toBe(path);
    expect(err.issues.map((i) => `${i.severity} ${i.path}`)).toEqual([
      'error mcpServers.db.comand',
      'warning mcpServers.db.timeout',
      'error mcpServers.db',
      'error mcpServers.api.url',
    ]);
    expect(err.message.split('\n')[0]).toBe(`Invalid MCP server configuration in ${path} (3 errors, 1 warning):`);
    expect(err.message).toContain('error   mcpServers.db.comand: unknown key "comand" (did you mean "command"?)');
    expect(err.message).toContain('warning mcpServers.db.timeout:');
  });

  it('a missing variable fails the load and names the variable (reference D.1 #7)', () => {
    const path = file({ mcpServers: { db: { command: 'x', env: { K: '${MISSING_VAR}' } } } });
    expect(caught(() => loadServersFile(path, {})).message).toContain('Environment variable "MISSING_VAR" referenced in configuration but not set');
  });

  it('a missing file says so, with its path', () => {
    const path = join(dir, 'absent.json');
    const err = caught(() => loadServersFile(path, {}));
    expect(err.message).toContain(`not found: ${path}`);
    expect(err.issues).toEqual([]);
  });

  it('an unreadable path (a directory) is a ConfigError too', () => {
    expect(caught(() => loadServersFile(dir, {})).message).toContain(`Cannot read MCP server configuration file ${dir}`);
  });
});

describe('loadRulesFile', () => {
  it('returns the config and its warnings', () => {
    const path = file({ agents: { a: { allow: { servers: ['db'], tools: { db: [] } } } } });
    const { config, warnings } = loadRulesFile(path);
    expect(config.agents['a']?.allow.tools).toEqual({ db: [] });
    expect(warnings.map((w) => `${w.severity} ${w.path}`)).toEqual(['warning agents.a.allow.tools.db']);
  });

  it('reports every error of a broken rules file with paths and suggestions', () => {
    const path = file({
      agents: { backend: { alow: { servers: ['db'] }, deny: { tools: { postgres: ['ok', 'a b'] } } } },
      defaults: { deny_on_missing_agnet: false },
    });
    const err = caught(() => loadRulesFile(path));
    expect(err.message).toBe(
      [
        `Invalid gateway rules in ${path} (3 errors):`,
        'error   agents.backend.alow: unknown key "alow" (did you mean "allow"?)',
        'error   agents.backend.deny.tools.postgres[1]: pattern "a b" contains whitespace, which no name can contain',
        'error   defaults.deny_on_missing_agnet: unknown key "deny_on_missing_agnet" (did you mean "deny_on_missing_agent"?)',
      ].join('\n'),
    );
  });
});

describe('invalid JSON', () => {
  it.each([
    ['{\n  "mcpServers": {\n    "db": {"command": "node",}\n  }\n}', 'trailing comma before "}" is not allowed in JSON at line 3, column 29'],
    ['{"mcpServers": {}', 'unexpected end of file (a bracket, brace or quote is not closed) at line 1, column 18'],
    ['', 'the file is empty at line 1, column 1'],
    ['// servers\n{}', 'comments are not allowed in JSON at line 1, column 1'],
    ["{'mcpServers': {}}", `expected a property name in double quotes, found "'" at line 1, column 2`],
  ])('%j', (text, detail) => {
    const path = file(text);
    expect(caught(() => loadServersFile(path, {})).message).toBe(`Invalid JSON in ${path}: ${detail}`);
  });

  it('never quotes file content, which may hold secrets', () => {
    const path = file('{"mcpServers": {"db": {"command": "x", "env": {"KEY": "sk-live-123"}}}}}');
    const message = caught(() => loadServersFile(path, {})).message;
    expect(message).toMatch(/^Invalid JSON in .*: unexpected "}" after the end of the JSON value at line 1, column 72$/);
    expect(message).not.toContain('sk-live');
  });

  it('accepts a UTF-8 byte-order mark', () => {
    const path = file('\uFEFF{"agents": {"a": {}}}');
    expect(Object.keys(loadRulesFile(path).config.agents)).toEqual(['a']);
  });
});

describe('formatIssues', () => {
  it('writes one aligned line per issue', () => {
    expect(
      formatIssues([
        { severity: 'error', path: 'agents.backend.alow', message: 'unknown key "alow" (did you mean "allow"?)' },
        { severity: 'warning', path: 'agents.x.allow.servers[1]', message: 'references undefined server "ghost"' },
        { severity: 'error', path: '', message: 'must be a JSON object' },
      ]),
    ).toBe(
      [
        'error   agents.backend.alow: unknown key "alow" (did you mean "allow"?)',
        'warning agents.x.allow.servers[1]: references undefined server "ghost"',
        'error   (top level): must be a JSON object',
      ].join('\n'),
    );
  });

  it('is empty for no issues', () => {
    expect(formatIssues([])).toBe('');
  });
});
