// Parsing and validating `agents.<id>.arguments` (issue 17 §2): the IR built from a valid
// section, and every error or warning with its JSON path (written as refusals name rules:
// the pointer after a dot) and, where one is sound, a suggested fix.
import { describe, expect, it } from 'vitest';
import { argumentRulePath, canonicalUrlPattern, parsePointer } from '../../../src/config/argumentRules.js';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import type { ConfigIssue } from '../../../src/config/types.js';

function lines(issues: readonly ConfigIssue[]): string[] {
  return issues.map((i) => `${i.severity} ${i.path}: ${i.message}`);
}

/** Rules with one agent "dev" allowed every server, with these `arguments`. */
function withArguments(args: unknown) {
  return parseRulesConfig({ agents: { dev: { allow: { servers: ['*'] }, arguments: args } } });
}

/** The issues of one condition on fs/write_file at /path. */
function conditionIssues(condition: unknown): string[] {
  return lines(withArguments({ fs: { write_file: { '/path': condition } } }).issues);
}

const P = 'agents.dev.arguments.fs.write_file./path';

describe('arguments: valid sections', () => {
  it('builds the IR in file order, with the default type "string", and leaves agents without arguments alone', () => {
    const result = withArguments({
      fs: {
        write_file: { '/path': { type: 'path', allow: ['/srv/project/**'], deny: ['**/.env'], required: true } },
        '*': { '/paths/*': { type: 'path', deny: ['/etc/**'] }, '/mode': { enum: ['r', 1, true, null, { a: 1 }] } },
      },
      web: { fetch: { '/url': { type: 'url', allow: ['https://api.example.com/**'] }, '/max_length': { minimum: 1, maximum: 5000 }, '/raw': { absent: true } } },
    });
    expect(lines(result.issues)).toEqual([]);
    const rules = result.config!.agents['dev']!.arguments!;
    expect(Object.keys(rules)).toEqual(['fs', 'web']);
    expect(Object.keys(rules['fs']!)).toEqual(['write_file', '*']);
    expect(rules['fs']!['write_file']!['/path']).toEqual({ type: 'path', allow: ['/srv/project/**'], deny: ['**/.env'], required: true });
    expect(rules['fs']!['*']!['/mode']).toEqual({ type: 'string', enum: ['r', 1, true, null, { a: 1 }] });
    expect(rules['web']!['fetch']!['/raw']).toEqual({ type: 'string', absent: true });
    expect(Object.isFrozen(rules['web']!['fetch']!['/max_length'])).toBe(true);
    expect(parseRulesConfig({ agents: { a: { allow: { servers: ['*'] } } } }).config!.agents['a']!.arguments).toBeUndefined();
  });

  it('rule paths put the pointer after a dot, as refusals name them', () => {
    expect(argumentRulePath(['agents', 'dev', 'arguments', 'fs', 'write_file'], '/path', ['deny', 0])).toBe(`${P}.deny[0]`);
    expect(argumentRulePath(['agents', 'dev', 'arguments', 'fs', '*'], '/paths/*')).toBe('agents.dev.arguments.fs["*"]./paths/*');
  });
});

describe('arguments: errors and suggestions', () => {
  it.each<[string, unknown, string]>([
    ['unknown key, with a suggestion', { type: 'path', alow: ['/x'] }, `error ${P}.alow: unknown key "alow" (did you mean "allow"?)`],
    ['misspelt type', { type: 'paths' }, `error ${P}.type: must be one of "string", "path", "url", got "paths" (did you mean "path"?)`],
    [
      'relative path pattern',
      { type: 'path', deny: ['.env'] },
      `error ${P}.deny[0]: path pattern ".env" is relative, but paths are matched absolute (did you mean "/.env" or "**/.env"?)`,
    ],
    [
      'a `*` pattern that cannot cross "/"',
      { type: 'path', deny: ['*.pem'] },
      `error ${P}.deny[0]: path pattern "*.pem" is relative, but paths are matched absolute (did you mean "**/*.pem"?)`,
    ],
    [
      'pattern with ..',
      { type: 'path', allow: ['/srv/project/../secret/**'] },
      `error ${P}.allow[0]: path pattern "/srv/project/../secret/**" is not in normal form (no "//", "." or ".." segments, no trailing "/"), which paths are matched in (did you mean "/srv/secret/**"?)`,
    ],
    [
      'pattern with //',
      { type: 'path', allow: ['/srv//x'] },
      `error ${P}.allow[0]: path pattern "/srv//x" is not in normal form (no "//", "." or ".." segments, no trailing "/"), which paths are matched in (did you mean "/srv/x"?)`,
    ],
    [
      'pattern with a trailing slash',
      { type: 'path', deny: ['/etc/'] },
      `error ${P}.deny[0]: path pattern "/etc/" is not in normal form (no "//", "." or ".." segments, no trailing "/"), which paths are matched in (did you mean "/etc"?)`,
    ],
    [
      'percent-escape in a path pattern',
      { type: 'path', deny: ['/a/%2e%2e'] },
      `error ${P}.deny[0]: pattern "/a/%2e%2e" holds a percent-escape, but path values with one are refused as ambiguous; write the character itself`,
    ],
    ['unclosed bracket', { deny: ['[abc'] }, `error ${P}.deny[0]: pattern "[abc" has an unclosed "["`],
    ['empty pattern', { deny: [''] }, `error ${P}.deny[0]: pattern is empty`],
    ['non-string pattern', { allow: [3] }, `error ${P}.allow[0]: must be a glob pattern (a string), got an integer`],
    [
      'url pattern without a canonical form',
      { type: 'url', deny: ['https://x.com/%2F'] },
      `error ${P}.deny[0]: pattern "https://x.com/%2F" encodes "/" (%2F) in its host or a path segment, which servers may read as a separator`,
    ],
    ['bad regex', { regex: '(a' }, `error ${P}.regex: is not a valid regular expression with the "u" flag: Invalid regular expression: /(a/u: Unterminated group`],
    [
      'escape the u flag refuses',
      { deny_regex: '\\-' },
      `error ${P}.deny_regex: is not a valid regular expression with the "u" flag: Invalid regular expression: /\\-/u: Invalid escape`,
    ],
    ['min > max', { minimum: 10, maximum: 1 }, `error ${P}.minimum: minimum 10 is greater than maximum 1, so no value can be in range (swap them?)`],
    ['non-number bound', { maximum: '5' }, `error ${P}.maximum: must be a number, got a string`],
    ['empty enum', { enum: [] }, `error ${P}.enum: is empty, so no value could ever be allowed; list the allowed values, or use "absent": true`],
    ['non-string enum of a path', { type: 'path', enum: ['/a', 1] }, `error ${P}.enum[1]: must be a string, as a "path" value is, got an integer`],
    ['relative enum of a path', { type: 'path', enum: ['a'] }, `error ${P}.enum[0]: "a" can never equal a path value: those are absolute, without percent-escapes`],
    [
      'absent with others',
      { absent: true, required: true },
      `error ${P}.absent: "absent": true cannot be combined with "required": an absent value has nothing to check`,
    ],
    ['absent false', { absent: false }, `error ${P}.absent: "absent": false checks nothing; remove it (use "required": true to demand a value)`],
    ['numbers on a path', { type: 'path', minimum: 1 }, `error ${P}.minimum: "minimum" applies to numbers, but "type" is "path"`],
    [
      'numbers and strings',
      { regex: 'x', maximum: 1 },
      `error ${P}.maximum: "maximum" checks a number and "regex" a string: no value can be both, so every call would be refused`,
    ],
    [
      'not an object',
      ['/x'],
      `error ${P}: must be an object of conditions (type, allow, deny, regex, deny_regex, enum, minimum, maximum, absent, required), got an array`,
    ],
  ])('%s', (_name, condition, expected) => {
    const found = conditionIssues(condition);
    expect(found).toContain(expected);
    expect(withArguments({ fs: { write_file: { '/path': condition } } }).config).toBeUndefined();
  });

  it.each<[string, string]>([
    ['path', 'error agents.dev.arguments.fs.write_file.path: invalid JSON Pointer: a JSON Pointer starts with "/" (did you mean "/path"?)'],
    ['a/b', 'error agents.dev.arguments.fs.write_file.a/b: invalid JSON Pointer: a JSON Pointer starts with "/" (did you mean "/a~1b"?)'],
    ['/a~b', 'error agents.dev.arguments.fs.write_file./a~b: invalid JSON Pointer: "~" must be escaped as "~0" ("~1" stands for "/") (did you mean "/a~0b"?)'],
    [
      '/items/-',
      'error agents.dev.arguments.fs.write_file./items/-: invalid JSON Pointer: the segment "-" names the element after the last one, which is never present',
    ],
    [
      '',
      'error agents.dev.arguments.fs.write_file.: invalid JSON Pointer: the empty pointer names the whole arguments object, which no condition can check; name a field, such as "/path"',
    ],
  ])('pointer %j', (pointer, expected) => {
    expect(lines(withArguments({ fs: { write_file: { [pointer]: { deny: ['x'] } } } }).issues)).toContain(expected);
  });

  it('server keys are exact names, tool keys are patterns, each level must be an object', () => {
    const found = lines(withArguments({ 'f*': { x: {} }, fs: { 'a/b': { '/p': { deny: ['x'] } }, ok: [] }, web: 3 }).issues);
    expect(found).toEqual(
      expect.arrayContaining([
        'error agents.dev.arguments["f*"]: arguments keys are exact server names (1 to 64 letters, digits, "_", "-" or "."), so "f*" can never apply',
        'error agents.dev.arguments.fs["a/b"]: pattern "a/b" contains "/"; a pattern cannot (match a "/" in a tool name with ? or *)',
        'error agents.dev.arguments.fs.ok: must be an object mapping JSON Pointers (such as "/path") to conditions, got an array',
        'error agents.dev.arguments.web: must be an object mapping tool names or patterns to pointers, got an integer',
      ]),
    );
    expect(lines(withArguments([]).issues)).toContain('error agents.dev.arguments: must be an object mapping server names to tool patterns, got an array');
  });

  it('warnings: an empty allow list, a condition that checks nothing, a URL pattern not in canonical form', () => {
    const result = withArguments({
      // A type alone normalizes and refuses values with no normal form: that is a check.
      fs: { write_file: { '/a': { allow: [] }, '/b': {}, '/c': { type: 'path' }, '/d': { type: 'string' } } },
      web: { fetch: { '/url': { type: 'url', allow: ['HTTPS://API.example.com:443'] } } },
    });
    expect(result.config).toBeDefined();
    expect(lines(result.issues)).toEqual([
      'warning agents.dev.arguments.fs.write_file./a.allow: empty list: no value is allowed, so every call that has one is refused',
      'warning agents.dev.arguments.fs.write_file./b: checks nothing: add a condition, or remove the entry',
      'warning agents.dev.arguments.fs.write_file./d: checks nothing: add a condition, or remove the entry',
      'warning agents.dev.arguments.web.fetch./url.allow[0]: URL pattern "HTTPS://API.example.com:443" is matched in its canonical form "https://api.example.com/"',
    ]);
  });

  it('warnings: a pattern on the default "string" type that looks like a path or a URL, with the type to add', () => {
    const result = withArguments({
      fs: {
        read_file: { '/path': { deny: ['/etc/**', '**/.env', '~/.ssh/**', 'secret*', 'a/b'], allow: ['HTTPS://x.com/**'] } },
        // Written out, "string" says the plain text match is meant.
        write_file: { '/path': { type: 'string', deny: ['/etc/**', 's3://bucket/*'] } },
      },
    });
    expect(result.config).toBeDefined();
    const R = 'agents.dev.arguments.fs.read_file./path';
    const keep = 'or "type": "string" if a plain text match is meant';
    const path = 'looks like a path but is matched as plain text, which another spelling of the same path ("..", "//") steps round: add "type": "path"';
    expect(lines(result.issues)).toEqual([
      `warning ${R}.allow[0]: pattern "HTTPS://x.com/**" looks like a URL but is matched as plain text, which another spelling of the same URL (other case, "..", "%2e") steps round: add "type": "url" (${keep})`,
      `warning ${R}.deny[0]: pattern "/etc/**" ${path} (${keep})`,
      `warning ${R}.deny[1]: pattern "**/.env" ${path} (${keep})`,
      `warning ${R}.deny[2]: pattern "~/.ssh/**" ${path}; "~" is not expanded, so write the folder as an absolute path (${keep})`,
    ]);
  });

  it('every issue of the section is reported at once, with the rest of the file', () => {
    const result = parseRulesConfig({ agents: { dev: { alow: {}, arguments: { fs: { w: { path: { type: 'x', deny: ['rel'] } } } } } } });
    expect(result.config).toBeUndefined();
    expect(result.issues.map((i) => i.path)).toEqual(['agents.dev.alow', 'agents.dev.arguments.fs.w.path', 'agents.dev.arguments.fs.w.path.type']);
  });
});

describe('pointer and URL pattern helpers', () => {
  it('parsePointer unescapes ~1 and ~0, and keeps "*" as the wildcard segment', () => {
    expect(parsePointer('/a~1b/~0c/*/0')).toEqual({ ok: true, segments: ['a/b', '~c', '*', '0'] });
    expect(parsePointer('/')).toEqual({ ok: true, segments: [''] });
  });

  it('canonicalUrlPattern folds case, drops default ports and gives an empty path "/"', () => {
    expect(canonicalUrlPattern('HTTPS://Example.COM:443')).toBe('https://example.com/');
    expect(canonicalUrlPattern('https://example.com/a/%7e/**')).toBe('https://example.com/a/~/**');
    expect(canonicalUrlPattern('https://*.example.com/**')).toBe('https://*.example.com/**');
    expect(canonicalUrlPattern('https://Example.com./**')).toBe('https://example.com/**');
    expect(canonicalUrlPattern('https://example.com.:8443')).toBe('https://example.com:8443/');
    expect(canonicalUrlPattern('https://example.com/a./b.')).toBe('https://example.com/a./b.');
  });
});
