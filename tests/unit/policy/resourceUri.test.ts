import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import { compilePolicy } from '../../../src/policy/engine.js';
import { uriPatternProblem } from '../../../src/policy/pattern.js';
import { MAX_RESOURCE_URI_LENGTH, canonicalResourcePattern, canonicalResourceUri } from '../../../src/policy/resourceUri.js';
import { secretFileSpellings } from '../../helpers/uriSpellings.js';

const canonical = (uri: string) => {
  const c = canonicalResourceUri(uri);
  return c.ok ? c.uri : `REFUSED: ${c.reason}`;
};

// Spellings of file:///srv/secret/key.txt from issue 13 item 1 and around it.
const { secret: SECRET, sameFile: SAME_FILE, refused: REFUSED } = secretFileSpellings('/srv');

describe('canonicalResourceUri', () => {
  it.each(SAME_FILE)('%s is file:///srv/secret/key.txt', (uri) => {
    expect(canonical(uri)).toBe(SECRET);
  });

  it.each(REFUSED)('%s is refused', (uri) => {
    expect(canonical(uri)).toMatch(/^REFUSED: /);
  });

  it.each([
    // Non-hierarchical and custom schemes keep working as they are.
    ['memo://insights', 'memo://insights'],
    ['test://static/resource/1', 'test://static/resource/1'],
    ['demo://resource/dynamic/text/{resourceId}', 'demo://resource/dynamic/text/{resourceId}'],
    ['urn:isbn:0451450523', 'urn:isbn:0451450523'],
    ['urn:x:a/../b', 'urn:x:a/../b'],
    ['mailto:Someone@Example.com', 'mailto:Someone@Example.com'],
    // Scheme case always; host case where URL parsers fold it. Userinfo and path case stay.
    ['HTTPS://User@Example.COM:8443/A/B', 'https://User@example.com:8443/A/B'],
    ['Test://Static/Resource/1', 'test://Static/Resource/1'],
    ['screenshot://MyShot', 'screenshot://MyShot'],
    // Escapes: unreserved decoded, the rest in uppercase hex; raw non-URI characters encoded.
    ['file:///a%7e%41%2d%5f', 'file:///a~A-_'],
    ['file:///a%3f%23%25%20', 'file:///a%3F%23%25%20'],
    ['file:///My Documents/r\u00e9sum\u00e9.txt', 'file:///My%20Documents/r%C3%A9sum%C3%A9.txt'],
    ['file:///a%c3%a9', 'file:///a%C3%A9'],
    ['file:///emoji/\u{1F600}', 'file:///emoji/%F0%9F%98%80'],
    ['file:///a"b<c>d^e`f|g', 'file:///a%22b%3Cc%3Ed%5Ee%60f%7Cg'],
    // Dot segments (RFC 3986 5.2.4): a trailing one keeps the directory's "/", ".." at the root is dropped.
    ['file:///a/b/..', 'file:///a/'],
    ['file:///a/.', 'file:///a/'],
    ['file:///..', 'file:///'],
    ['file:///a/b/', 'file:///a/b/'],
    ['test://host/a/./b/../c', 'test://host/a/c'],
    // Empty segments collapse first, as a file system reads "/a//../b" as "/b".
    ['file:///a//../b', 'file:///b'],
    // Query and fragment are not path: no dot-segment removal, reserved escapes kept.
    ['test://h/p?x=../y&z=%2f#../f', 'test://h/p?x=../y&z=%2F#../f'],
    ['file://localhost', 'file://'],
  ])('%s -> %s', (uri, expected) => {
    expect(canonical(uri)).toBe(expected);
  });

  it.each([
    ['', /empty/],
    ['x'.repeat(MAX_RESOURCE_URI_LENGTH + 1), /longer than 8192/],
    [`file:///${'\u00e9'.repeat(3000)}`, /once percent-encoded/],
    ['relative/path', /no scheme/],
    ['../secret', /no scheme/],
    ['//host/x', /no scheme/],
    ['file:relative/x', /without an absolute path/],
    ['file:', /without an absolute path/],
    ['file://srv/secret/key.txt', /naming a host/],
    ['file://Server/share/x', /naming a host/],
    ['test://h/a\u0000b', /control character/],
    ['test://h/a\nb', /control character/],
    ['test://h/a\u0085b', /control character/],
    ['test://h/a%0Ab', /encodes a control character/],
    ['test://h/a%7fb', /encodes a control character/],
    ['test://h/a%zzb', /percent-escape/],
    ['test://h/100%', /percent-escape/],
    ['test://h/a\\b', /backslash/],
    ['test://h/a%2Fb', /%2F/],
    ['test://h/a%5cb', /%5C/],
    ['test://h/\ud800', /unpaired surrogate/],
  ])('refuses %j (%s)', (uri, reason) => {
    const c = canonicalResourceUri(uri);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.reason).toMatch(reason);
  });
});

describe('canonicalResourcePattern', () => {
  it.each([
    ['file:///srv/public/*', 'file:///srv/public/*'],
    ['*', '*'],
    ['*secret*', '*secret*'],
    ['*://x/../y', '*://x/../y'],
    ['file:///srv/[sp]ecret/*', 'file:///srv/[sp]ecret/*'],
    ['test://x/a?c', 'test://x/a?c'],
    ['FILE://localhost/srv//./secret/*', 'file:///srv/secret/*'],
    ['file:///srv/public/../%73ecret/*', 'file:///srv/secret/*'],
    ['file:///public/{name}', 'file:///public/{name}'],
    // Globs over the parts a file: URI may not vary: kept, not refused.
    ['file://*', 'file://*'],
    ['file:*', 'file:*'],
    ['FILE:/srv/*', 'file:///srv/*'],
  ])('%s -> %s', (pattern, expected) => {
    expect(canonicalResourcePattern(pattern)).toEqual({ ok: true, uri: expected });
  });

  it('refuses what a URI may not hold, saying a pattern cannot escape globs', () => {
    expect(canonicalResourcePattern('file:///srv/\\*')).toMatchObject({ ok: false, reason: expect.stringMatching(/escape glob/) });
    expect(uriPatternProblem('file:///a%2Fb/*')).toMatch(/%2F/);
  });
});

describe('resource rules decide on the canonical form', () => {
  const rules = parseRulesConfig({
    agents: {
      allowlist: { allow: { servers: ['fs'], resources: { fs: ['file:///srv/public/*'] } } },
      denylist: { allow: { servers: ['fs'] }, deny: { resources: { fs: ['file:///srv/secret/*'] } } },
      // Rules written in a non-canonical spelling mean their canonical form.
      spelt: {
        allow: { servers: ['fs'], resources: { fs: ['FILE://localhost/srv/public/./*'] } },
        deny: { resources: { fs: ['file:///srv/public/../%73ecret/*'] } },
      },
    },
  }).config!;
  const policy = compilePolicy(rules);

  it.each([...SAME_FILE, ...REFUSED])('%s is denied to both an allow-list and a deny-list', (uri) => {
    expect(policy.decideResource('allowlist', 'fs', uri).allow).toBe(false);
    expect(policy.decideResource('denylist', 'fs', uri).allow).toBe(false);
    expect(policy.decideResource('spelt', 'fs', uri).allow).toBe(false);
  });

  it('a glob over every file: URI still matches every one', () => {
    const p = compilePolicy(parseRulesConfig({ agents: { a: { allow: { servers: ['fs'] }, deny: { resources: { fs: ['file://*'] } } } } }).config!);
    for (const uri of [...SAME_FILE, 'file:///x', 'FILE://localhost/y']) expect(p.decideResource('a', 'fs', uri).allow, uri).toBe(false);
    expect(p.decideResource('a', 'fs', 'memo://insights').allow).toBe(true);
  });

  it.each([
    ['file:///srv/public/a.txt', 'agents.allowlist.allow.resources.fs[0]'],
    ['file:///srv/public/sub/../a.txt', 'agents.allowlist.allow.resources.fs[0]'],
    ['FILE://localhost/srv/%70ublic/a.txt', 'agents.allowlist.allow.resources.fs[0]'],
  ])('%s is allowed by the allow-list', (uri, rule) => {
    expect(policy.decideResource('allowlist', 'fs', uri)).toEqual({ allow: true, rule });
    expect(policy.decideResource('spelt', 'fs', uri)).toEqual({ allow: true, rule: 'agents.spelt.allow.resources.fs[0]' });
  });

  it('a deny-list still names its rule; a URI with no canonical form is denied as invalid_uri', () => {
    expect(policy.decideResource('denylist', 'fs', 'file:///srv/x/../secret/k')).toEqual({
      allow: false,
      rule: 'agents.denylist.deny.resources.fs[0]',
    });
    expect(policy.decideResource('spelt', 'fs', 'file:///srv/secret/k')).toEqual({ allow: false, rule: 'agents.spelt.deny.resources.fs[0]' });
    expect(policy.decideResource('denylist', 'fs', 'file:///srv\\secret')).toEqual({ allow: false, rule: 'invalid_uri' });
  });

  it('validation refuses a resource pattern with no canonical form and notes one written otherwise', () => {
    const parsed = parseRulesConfig({
      agents: { a: { allow: { servers: ['fs'], resources: { fs: ['file:///a%2Fb/*', 'FILE:///x/*', 'file:///ok/*'] } } } },
    });
    expect(parsed.config).toBeUndefined();
    expect(parsed.issues.map((i) => [i.severity, i.path, i.message])).toEqual([
      ['error', 'agents.a.allow.resources.fs[0]', expect.stringMatching(/%2F/)],
      ['warning', 'agents.a.allow.resources.fs[1]', 'resource pattern "FILE:///x/*" is matched in its canonical form "file:///x/*"'],
    ]);
  });
});

// Pieces from which URIs are built: path-ish text, dots, slashes, escapes (good and bad), case.
const PIECE = fc.constantFrom(
  '/', '//', '.', '..', '/./', '/../', 'a', 'B', 'srv', 'secret', '%2e', '%2E', '%2f', '%41', '%7e', '%c3%a9', '%25', '%',
  '?', '#', '~', '*', '{x}', ' ', '\u00e9', '\\', '@', ':', 'localhost', 'LOCALHOST', '%00', ';', '(', '[',
);
const SCHEMES = fc.constantFrom('file:', 'FILE:', 'file://', 'File://localhost', 'test://', 'test://Host', 'memo:', 'urn:x:', '');
const anyUri = fc.tuple(SCHEMES, fc.array(PIECE, { maxLength: 14 })).map(([s, p]) => s + p.join(''));

// A path of plain segments, and ways to spell it otherwise that every file server reads alike.
const SEGMENT = fc.constantFrom('srv', 'public', 'secret', 'key.txt', 'a-b_c~d', 'x');
const respell = (segment: string, how: number, first: boolean): string => {
  switch (how) {
    case 1:
      return `./${segment}`;
    case 2:
      return `zz/../${segment}`;
    case 3:
      // (Not first: after "file:/" a second "/" would begin a host.)
      return first ? segment : `/${segment}`;
    case 4:
      return segment.replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`);
    case 5:
      return `%2e/${segment}`;
    default:
      return segment;
  }
};

describe('properties', () => {
  it('canonicalisation is idempotent, and a canonical path has no dot or empty segments', () => {
    fc.assert(
      fc.property(anyUri, (uri) => {
        const once = canonicalResourceUri(uri);
        if (!once.ok) return;
        expect(canonicalResourceUri(once.uri)).toEqual(once);
        const c = once.uri;
        expect(c).not.toMatch(/\\|%[0-9A-F]?[a-f]|%(?:[46][1-9A-F]|[57][0-9A]|3[0-9]|2[DE]|5F|7E)/);
        const scheme = /^[a-z][a-z0-9+.-]*:/.exec(c)![0];
        let rest = c.slice(scheme.length).split(/[?#]/)[0]!;
        expect(rest).not.toMatch(/%2F|%5C/);
        if (rest.startsWith('//')) rest = rest.slice(2).replace(/^[^/]*/, '');
        if (rest.startsWith('/')) {
          expect(rest).not.toMatch(/\/\/|\/\.\.?(?:\/|$)/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('every respelling of a file path has the canonical form of the plain path', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(SEGMENT, fc.integer({ min: 0, max: 5 })), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('file:///', 'FILE:///', 'file://localhost/', 'file://LocalHost/', 'file:/', 'file:////'),
        (segments, prefix) => {
          const plain = `file:///${segments.map(([s]) => s).join('/')}`;
          const spelt = prefix + segments.map(([s, how], i) => respell(s, how, i === 0)).join('/');
          expect(canonical(spelt)).toBe(plain);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
