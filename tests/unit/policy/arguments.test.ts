// Deciding a call's arguments (issue 17 §2): table-driven over the condition kinds, the
// normalized spellings of paths and URLs, and what is forwarded.
import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import { compilePolicy } from '../../../src/policy/engine.js';
import { jsonEqual, locate, normalizePath, normalizeUrl, replaceAt } from '../../../src/policy/argumentsValues.js';
import type { Policy } from '../../../src/policy/types.js';

function policyWith(args: unknown): Policy {
  const parsed = parseRulesConfig({ agents: { dev: { allow: { servers: ['*'] }, arguments: args }, plain: { allow: { servers: ['*'] } } } });
  if (parsed.config === undefined) throw new Error(JSON.stringify(parsed.issues));
  return compilePolicy(parsed.config);
}

const FS = policyWith({
  fs: {
    write_file: { '/path': { type: 'path', allow: ['/srv/project/**'], deny: ['**/.env'], required: true } },
    read_multiple_files: { '/paths/*': { type: 'path', allow: ['/srv/**'] } },
    '*': { '/paths/*': { type: 'path', deny: ['/srv/secret/**'] } },
  },
  web: {
    fetch: { '/url': { type: 'url', allow: ['https://api.example.com/**'], deny: ['https://api.example.com/admin/**'] } },
  },
  misc: {
    pick: {
      '/mode': { enum: ['fast', 1, true, null, { deep: [1, 2] }] },
      '/count': { minimum: 1, maximum: 10 },
      '/name': { regex: '^[a-z]+$', deny_regex: 'root' },
      '/debug': { absent: true },
      '/tags/*': { deny: ['secret*'] },
      '/opts/*': { enum: ['a', 'b'] },
    },
  },
});

/** The refusal's rule and reason, or the forwarded arguments. */
function decide(server: string, tool: string, args: Record<string, unknown>, policy = FS) {
  const verdict = policy.decideArguments('dev', server, tool, args);
  if (verdict === undefined) return 'no rules';
  return verdict.allow ? { forwarded: verdict.args } : `${verdict.refusal.rule} ${verdict.refusal.pointer} ${verdict.refusal.reason}`;
}

const W = 'agents.dev.arguments.fs.write_file./path';

describe('paths: every spelling decided in normal form', () => {
  it.each<[string, string | { forwarded: unknown }]>([
    ['/srv/project/a.txt', { forwarded: { path: '/srv/project/a.txt' } }],
    ['/srv/project/./sub//a.txt', { forwarded: { path: '/srv/project/sub/a.txt' } }],
    ['/srv/project/sub/', { forwarded: { path: '/srv/project/sub' } }],
    ['/srv/project', { forwarded: { path: '/srv/project' } }],
    ['//srv//project///a', { forwarded: { path: '/srv/project/a' } }],
    ['/srv/project/../secret/a', `${W}.allow /path matches no allowed pattern`],
    ['/srv/project/sub/../../project/x', { forwarded: { path: '/srv/project/x' } }],
    ['/srv/project/.env', `${W}.deny[0] /path matches a denied pattern`],
    ['/srv/project/a/b/.env', `${W}.deny[0] /path matches a denied pattern`],
    ['/srv/project/x/../.env', `${W}.deny[0] /path matches a denied pattern`],
    ['/srv/project/.env/', `${W}.deny[0] /path matches a denied pattern`],
    ['/srv/project/%2e%2e/secret', `${W}.type /path is not a usable path: it contains a percent-escape, which some servers decode (%2e, %2F)`],
    ['/srv/project%2F..%2Fsecret', `${W}.type /path is not a usable path: it contains a percent-escape, which some servers decode (%2e, %2F)`],
    ['/srv/project/..\\secret', `${W}.type /path is not a usable path: it contains a backslash, which some servers read as a separator`],
    ['srv/project/a', `${W}.type /path is not a usable path: it is not an absolute path`],
    ['../srv/project/a', `${W}.type /path is not a usable path: it is not an absolute path`],
    ['/../srv/project/a', `${W}.type /path is not a usable path: it climbs above the root with ".."`],
    ['/srv/project/a\u0000', `${W}.type /path is not a usable path: it contains a control character`],
  ])('%j', (path, expected) => {
    expect(decide('fs', 'write_file', { path, content: 'x' })).toEqual(
      typeof expected === 'string' ? expected : { forwarded: { ...(expected.forwarded as object), content: 'x' } },
    );
  });

  it('type mismatch and absence: a non-string is refused, a missing required value too', () => {
    expect(decide('fs', 'write_file', { path: ['/srv/project/a'] })).toBe(`${W}.type /path is an array, not a string as a path is`);
    expect(decide('fs', 'write_file', { content: 'x' })).toBe(`${W}.required /path is required but absent`);
  });

  it('arrays via "*": each element is checked and normalized; conditions of every matching tool pattern apply', () => {
    expect(decide('fs', 'read_multiple_files', { paths: ['/srv/a//b', '/srv/c/./d'] })).toEqual({ forwarded: { paths: ['/srv/a/b', '/srv/c/d'] } });
    expect(decide('fs', 'read_multiple_files', { paths: ['/srv/a', '/srv/public/../secret/k'] })).toBe(
      'agents.dev.arguments.fs["*"]./paths/*.deny[0] /paths/1 matches a denied pattern',
    );
    expect(decide('fs', 'read_multiple_files', { paths: ['/srv/a', '/etc/passwd'] })).toBe(
      'agents.dev.arguments.fs.read_multiple_files./paths/*.allow /paths/1 matches no allowed pattern',
    );
    expect(decide('fs', 'read_multiple_files', { paths: '/srv/secret/k' })).toBe(
      'agents.dev.arguments.fs.read_multiple_files./paths/* /paths/* is a string, not an array or object that "*" could look into',
    );
    expect(decide('fs', 'read_multiple_files', { paths: [] })).toEqual({ forwarded: { paths: [] } });
  });

  it('a tool no pattern matches, a server or an agent without argument rules: nothing to decide', () => {
    expect(decide('fs', 'list_directory', { path: '/etc' })).toEqual({ forwarded: { path: '/etc' } });
    expect(FS.decideArguments('dev', 'other', 'x', {})).toBeUndefined();
    expect(FS.decideArguments('plain', 'fs', 'write_file', {})).toBeUndefined();
    expect(FS.decideArguments('ghost', 'fs', 'write_file', {})).toBeUndefined();
    expect(policyWith({ fs: {} }).decideArguments('dev', 'fs', 'write_file', {})).toBeUndefined();
  });

  it('forwards the caller object itself when nothing changes, and never mutates it', () => {
    const args = { paths: ['/srv/a/../b'], other: { deep: 1 } };
    const verdict = FS.decideArguments('dev', 'fs', 'read_multiple_files', args);
    expect(verdict?.allow && verdict.args).toEqual({ paths: ['/srv/b'], other: { deep: 1 } });
    expect(args.paths).toEqual(['/srv/a/../b']);
    const same = { paths: ['/srv/b'] };
    const unchanged = FS.decideArguments('dev', 'fs', 'read_multiple_files', same);
    expect(unchanged?.allow && unchanged.args).toBe(same);
  });
});

describe('URLs: decided in canonical form', () => {
  const U = 'agents.dev.arguments.web.fetch./url';
  it.each<[string, string | { forwarded: unknown }]>([
    ['https://api.example.com/v1/x', { forwarded: { url: 'https://api.example.com/v1/x' } }],
    ['HTTPS://API.Example.COM:443/v1/%7euser', { forwarded: { url: 'https://api.example.com/v1/~user' } }],
    ['https://api.example.com', { forwarded: { url: 'https://api.example.com/' } }],
    ['https://api.example.com/v1/../admin/x', `${U}.deny[0] /url matches a denied pattern`],
    ['https://api.example.com/v1/%2e%2e/admin/x', `${U}.deny[0] /url matches a denied pattern`],
    ['https://api.example.com//admin//x', `${U}.deny[0] /url matches a denied pattern`],
    ['HTTPS://API.EXAMPLE.COM/admin', `${U}.deny[0] /url matches a denied pattern`],
    ['https://api.example.com/admin?x=1', `${U}.deny[0] /url matches a denied pattern`],
    ['https://api.example.com/admin/', `${U}.deny[0] /url matches a denied pattern`],
    [
      'https://api.example.com/v1%2F..%2Fadmin',
      `${U}.type /url is not a usable url: it encodes "/" (%2F) in its host or a path segment, which servers may read as a separator`,
    ],
    ['https://evil.example.com/v1', `${U}.allow /url matches no allowed pattern`],
    ['https://api.example.com@evil.com/', `${U}.type /url is not a usable url: it has userinfo ("user@") before its https: host, which servers read differently`],
    ['/relative', `${U}.type /url is not a usable url: it is not an absolute URI: it has no scheme (such as "file:")`],
    ['https://api.example.com./admin/x', `${U}.deny[0] /url matches a denied pattern`],
    ['https://API.example.com.:443/admin', `${U}.deny[0] /url matches a denied pattern`],
    ['https:api.example.com./admin/x', `${U}.deny[0] /url matches a denied pattern`],
    ['https:/api.example.com/admin/x', `${U}.deny[0] /url matches a denied pattern`],
    ['https://api.example.com./v1/x', { forwarded: { url: 'https://api.example.com/v1/x' } }],
    ['https://api.example.com%2e/admin/x', `${U}.type /url is not a usable url: it has a percent-escape in its https: host, which URL parsers decode`],
    ['https://api.ex%61mple.com/admin/x', `${U}.type /url is not a usable url: it has a percent-escape in its https: host, which URL parsers decode`],
    ['https:api.example.com%2E/admin/x', `${U}.type /url is not a usable url: it has a percent-escape in its https: host, which URL parsers decode`],
    ['https:api.example.com@evil.com/', `${U}.type /url is not a usable url: it has userinfo ("user@") before its https: host, which servers read differently`],
    ['https://api.example.com../admin', `${U}.type /url is not a usable url: it has a https: host with an empty label`],
    ['https://api..example.com/v1', `${U}.type /url is not a usable url: it has an empty label ("..", or a leading or second trailing ".") in its https: host`],
  ])('%j', (url, expected) => {
    expect(decide('web', 'fetch', { url })).toEqual(expected);
  });
});

describe('other conditions', () => {
  const M = 'agents.dev.arguments.misc.pick.';
  it.each<[string, Record<string, unknown>, string | { forwarded: unknown }]>([
    ['enum of non-strings: number', { mode: 1 }, { forwarded: { mode: 1 } }],
    ['enum: boolean, null, object with any key order', { mode: { deep: [1, 2] } }, { forwarded: { mode: { deep: [1, 2] } } }],
    ['enum: "1" is not 1', { mode: '1' }, `${M}/mode.enum /mode is not one of the allowed values`],
    ['enum: false is not true', { mode: false }, `${M}/mode.enum /mode is not one of the allowed values`],
    ['range: in', { count: 10 }, { forwarded: { count: 10 } }],
    ['range: below', { count: 0 }, `${M}/count.minimum /count is below the minimum`],
    ['range: above', { count: 10.5 }, `${M}/count.maximum /count is above the maximum`],
    ['range: a numeric string is not a number', { count: '5' }, `${M}/count.minimum /count is a string, not a number`],
    ['range: null', { count: null }, `${M}/count.minimum /count is null, not a number`],
    ['regex: match', { name: 'alice' }, { forwarded: { name: 'alice' } }],
    ['regex: no match', { name: 'Alice' }, `${M}/name.regex /name does not match the regular expression`],
    ['deny_regex first', { name: 'rootx' }, `${M}/name.deny_regex /name matches the denied regular expression`],
    ['regex on a number', { name: 5 }, `${M}/name.deny_regex /name is an integer, not a string`],
    ['absent: present', { debug: false }, `${M}/debug.absent /debug must be absent but is present`],
    ['absent: null counts as present', { debug: null }, `${M}/debug.absent /debug must be absent but is present`],
    ['string glob: * crosses "/"', { tags: ['ok', 'secret/x'] }, `${M}/tags/*.deny[0] /tags/1 matches a denied pattern`],
    ['wildcard over an object names no key', { opts: { x: 'a', y: 'c' } }, `${M}/opts/*.enum /opts/* is not one of the allowed values`],
    ['all absent: nothing to check', {}, { forwarded: {} }],
  ])('%s', (_name, args, expected) => {
    expect(decide('misc', 'pick', args)).toEqual(expected);
  });
});

describe('explain: every decision, with the normalized value', () => {
  it('lists each check, refusals included, with its rule path', () => {
    const verdict = FS.decideArguments('dev', 'fs', 'write_file', { path: '/srv/project//a/../.env' }, true)!;
    expect(verdict.allow).toBe(false);
    expect(verdict.decisions).toEqual([
      { rule: `${W}.required`, pointer: '/path', allow: true, reason: 'is present, as required' },
      { rule: `${W}.type`, pointer: '/path', allow: true, reason: 'normalized as a path', value: '/srv/project/.env' },
      { rule: `${W}.deny[0]`, pointer: '/path', allow: false, reason: 'matches a denied pattern', value: '/srv/project/.env' },
      // The "*" tool pattern applies too: explain goes on past the refusal.
      { rule: 'agents.dev.arguments.fs["*"]./paths/*', pointer: '/paths/*', allow: true, reason: 'is absent: nothing to check' },
    ]);
    const ok = FS.decideArguments('dev', 'fs', 'write_file', { path: '/srv/project/a' }, true)!;
    expect(ok.decisions.map((d) => `${d.rule} ${d.allow}`)).toEqual([
      `${W}.required true`,
      `${W}.type true`,
      `${W}.deny true`,
      `${W}.allow[0] true`,
      'agents.dev.arguments.fs["*"]./paths/* true',
    ]);
    expect(FS.decideArguments('dev', 'fs', 'write_file', { path: '/srv/project/a' })!.decisions).toEqual([]);
  });
});

describe('value helpers', () => {
  it('normalizePath and normalizeUrl are idempotent on examples', () => {
    for (const p of ['/a//b/./c/..', '/', '//', '/a/b/']) {
      const once = normalizePath(p);
      expect(once.ok && normalizePath(once.value)).toEqual(once);
    }
    expect(normalizePath('/')).toEqual({ ok: true, value: '/' });
    expect(normalizeUrl('http://EXAMPLE.com:80/a/./b/../c')).toEqual({ ok: true, value: 'http://example.com/a/c' });
    expect(normalizeUrl('file:///srv//x/%2e%2e/y')).toEqual({ ok: true, value: 'file:///srv/y' });
  });

  it('normalizeUrl decides on the host a WHATWG parser connects to, which is then forwarded', () => {
    // As with "//": a numeric host is refused, however the URI is spelt.
    expect(normalizeUrl('https:0x7f.1/a')).toMatchObject({ ok: false });
    expect(normalizeUrl('ws://Example.com.:80/')).toEqual({ ok: true, value: 'ws://example.com/' });
    expect(normalizeUrl('http://127.0.0.1./')).toEqual({ ok: true, value: 'http://127.0.0.1/' });
    expect(normalizeUrl('http://0x7f.1/')).toMatchObject({ ok: false });
    expect(normalizeUrl('https://./')).toMatchObject({ ok: false });
    expect(normalizeUrl('https://[::1]/')).toEqual({ ok: true, value: 'https://[::1]/' });
    // Hosts of other schemes are names to their own servers: kept as written.
    expect(normalizeUrl('screenshot://Shot./x')).toEqual({ ok: true, value: 'screenshot://Shot./x' });
    expect(normalizeUrl('postgres://user@db.example.com/x')).toEqual({ ok: true, value: 'postgres://user@db.example.com/x' });
  });

  it('locate, replaceAt and jsonEqual', () => {
    expect(locate({ a: { 'b/c': [1, 2] } }, ['a', 'b/c', '1'])).toEqual([{ at: ['a', 'b/c', 1], display: '/a/b~1c/1', value: 2 }]);
    expect(locate({ a: [1] }, ['a', '01'])).toEqual([]);
    expect(locate(Object.create({ inherited: 1 }) as object, ['inherited'])).toEqual([]);
    const root = JSON.parse('{"__proto__": {"p": "x"}, "k": [1]}') as Record<string, unknown>;
    const copy = replaceAt(root, ['__proto__', 'p'], 'y');
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((Object.getOwnPropertyDescriptor(copy, '__proto__')!.value as { p: string }).p).toBe('y');
    expect(copy['k']).toBe(root['k']);
    expect(jsonEqual({ a: 1, b: [null] }, { b: [null], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
  });
});

describe('substitution copies each container once', () => {
  it('substitutions sharing a set of copies write into the first copy, the rest stays shared', () => {
    const inner = { list: ['a', 'b'], kept: { deep: 1 } };
    const root = { inner, other: [1] };
    const owned = new WeakSet<object>();
    const first = replaceAt(root, ['inner', 'list', 0], 'x', owned);
    const firstList = (first['inner'] as typeof inner).list;
    const second = replaceAt(first, ['inner', 'list', 1], 'y', owned);
    expect(second).toBe(first);
    expect((second['inner'] as typeof inner).list).toBe(firstList);
    expect(second).toEqual({ inner: { list: ['x', 'y'], kept: { deep: 1 } }, other: [1] });
    expect((second['inner'] as typeof inner).kept).toBe(inner.kept);
    expect(second['other']).toBe(root.other);
    expect(root).toEqual({ inner: { list: ['a', 'b'], kept: { deep: 1 } }, other: [1] });
  });

  it('normalizes 200,000 values of one array in one call (each copy of the array would make it take minutes)', () => {
    const policy = policyWith({ fs: { '*': { '/paths/*': { type: 'path' } } } });
    const paths = Array.from({ length: 200_000 }, () => '/a/');
    const verdict = policy.decideArguments('dev', 'fs', 'read_multiple_files', { paths })!;
    expect(verdict.allow).toBe(true);
    const forwarded = (verdict.allow ? verdict.args['paths'] : []) as string[];
    expect(forwarded.length).toBe(200_000);
    expect(forwarded.every((p) => p === '/a')).toBe(true);
    expect(paths[0]).toBe('/a/');
  });
});
