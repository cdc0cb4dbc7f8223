import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import { compilePolicy } from '../../../src/policy/engine.js';
import { uriPatternProblem } from '../../../src/config/patternSyntax.js';
import { MAX_RESOURCE_URI_LENGTH, canonicalResourcePattern, canonicalResourceUri } from '../../../src/config/resourceUri.js';
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
    ['HTTPS://Example.COM:8443/A/B', 'https://example.com:8443/A/B'],
    ['Test://Static/Resource/1', 'test://Static/Resource/1'],
    ['screenshot://MyShot', 'screenshot://MyShot'],
    // What URL parsers connect to: `//` put back, one trailing dot of the host dropped.
    ['https:evil.com/a', 'https://evil.com/a'],
    ['https:/evil.com/a', 'https://evil.com/a'],
    ['https://evil.com./a', 'https://evil.com/a'],
    ['HTTP://Evil.Com.:80/a', 'http://evil.com/a'],
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
    // file: paths: the reserved characters a path may hold raw are decoded (a file server
    // reads u%40x as u@x); glob characters encoded, so a URI never holds one raw.
    ['file:///srv/mail/u%40x.com/k', 'file:///srv/mail/u@x.com/k'],
    ['file:///a%21%24%26%27%28%29%2b%2c%3a%3b%3d%40', "file:///a!$&'()+,:;=@"],
    ['file:///a*b[c]', 'file:///a%2Ab%5Bc%5D'],
    ['file:///a%2ab%5bc%5d%3f%23%22%25', 'file:///a%2Ab%5Bc%5D%3F%23%22%25'],
    // Elsewhere reserved escapes stay as they are (RFC 3986).
    ['test://h/u%40x/(a)*', 'test://h/u%40x/(a)*'],
    ['https://h/u%40x?q=%40', 'https://h/u%40x?q=%40'],
    // Hosts as a WHATWG parser reads them, without the default port.
    ['https://internal.example.com:443/k', 'https://internal.example.com/k'],
    ['http://a.example:80', 'http://a.example'],
    ['HTTP://A.example:0080/x', 'http://a.example/x'],
    ['http://intern%61l.example.com/k', 'http://internal.example.com/k'],
    ['ws://[::1]:80/x', 'ws://[::1]/x'],
    ['wss://h:443/x', 'wss://h/x'],
    ['ftp://h:21/x', 'ftp://h/x'],
    ['https://h:80/x', 'https://h:80/x'],
    ['http://h:443/x', 'http://h:443/x'],
    ['https://127.0.0.1:8443/x', 'https://127.0.0.1:8443/x'],
    ['other://h:443/x', 'other://h:443/x'],
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
    // A file server reads the path alone; one that decodes and resolves first reads this as
    // /srv/public/secret/k, past rules that saw no dot segment.
    ['file:///srv/public/x?/../secret/k', /query or fragment/],
    ['file:///srv/public/x#/../secret/k', /query or fragment/],
    ['file:///srv/secret/k?', /query or fragment/],
    ['file:///srv/secret/k#', /query or fragment/],
    ['https://x@internal.example.com/k', /userinfo/],
    ['https://@internal.example.com/k', /userinfo/],
    ['ftp://user:pw@h/x', /userinfo/],
    ['https://%EF%BD%89nternal.example.com/k', /percent-escape or a non-ASCII/],
    ['https://\uff49nternal.example.com/k', /percent-escape or a non-ASCII/],
    ['https://0x7f.1/', /URL parsers rewrite/],
    ['https://127.1/', /URL parsers rewrite/],
    ['http://2130706433/', /URL parsers rewrite/],
    ['wss://017700000001/', /URL parsers rewrite/],
    ['https://[::ffff:127.0.0.1]/', /URL parsers rewrite/],
    ['https:///k', /no https: host/],
    ['https://h:99999/k', /do not accept/],
    ['https://h:x/k', /do not accept/],
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
    // Reserved escapes decoded in a file: path, glob characters kept as globs, their escapes literal.
    ['file:///srv/mail/u%40x.com/*', 'file:///srv/mail/u@x.com/*'],
    ['file:///srv/%2a/%5Bx%5D/[ab]*', 'file:///srv/%2A/%5Bx%5D/[ab]*'],
    // A file: URI has no query: in a file: pattern "?" is a one-character glob in the path.
    ['file:///srv/public/?/../secret/*', 'file:///srv/public/secret/*'],
    ['https://*.example.com:443/*', 'https://*.example.com/*'],
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

  it.each([
    ['file:///srv/mail/u@x.com/*', 'file:///srv/mail/u%40x.com/k'],
    ['file:///srv/mail/u%40x.com/*', 'file:///srv/mail/u@x.com/k'],
    ['file:///srv/a+b/*', 'file:///srv/a%2Bb/k'],
    ['file:///srv/(x)/*', 'file:///srv/%28x%29/k'],
    ['file:///srv/a;b/*', 'file:///srv/a%3Bb/k'],
    // A literal "*" or "[" is written as its escape in a pattern, and matches the raw spelling.
    ['file:///srv/a%2Ab/*', 'file:///srv/a*b/k'],
    ['file:///srv/%5Bx%5D/*', 'file:///srv/[x]/k'],
    ['https://internal.example.com/*', 'https://internal.example.com:443/k'],
    ['https://internal.example.com:443/*', 'HTTPS://Internal.Example.COM/k'],
  ])('a deny of %s also denies %s', (rule, uri) => {
    const p = compilePolicy(parseRulesConfig({ agents: { a: { allow: { servers: ['s'] }, deny: { resources: { s: [rule] } } } } }).config!);
    expect(p.decideResource('a', 's', uri)).toEqual({ allow: false, rule: 'agents.a.deny.resources.s[0]' });
  });

  it.each([
    // A raw "*" or "[" in a URI is a character, never a glob: it matches only a glob, or its escape.
    ['file:///srv/a%2Ab', 'file:///srv/ab'],
    ['file:///srv/a%2Ab', 'file:///srv/axb'],
    ['file:///srv/%5Bx%5D', 'file:///srv/x'],
  ])('a deny of %s does not deny %s', (rule, uri) => {
    const p = compilePolicy(parseRulesConfig({ agents: { a: { allow: { servers: ['s'] }, deny: { resources: { s: [rule] } } } } }).config!);
    expect(p.decideResource('a', 's', uri).allow).toBe(true);
  });

  it.each(['https://x@internal.example.com/k', 'https://%EF%BD%89nternal.example.com/k', 'https://0x7f.1/', 'file:///srv/public/x?/../secret/k'])(
    '%s passes neither an allow-list nor a deny-list',
    (uri) => {
      const p = compilePolicy(
        parseRulesConfig({
          agents: {
            allow: { allow: { servers: ['s'], resources: { s: ['https://*', 'file:///srv/public/*'] } } },
            deny: { allow: { servers: ['s'] }, deny: { resources: { s: ['https://internal.example.com/*', 'https://127.0.0.1/*', 'file:///srv/secret/*'] } } },
          },
        }).config!,
      );
      expect(p.decideResource('allow', 's', uri)).toEqual({ allow: false, rule: 'invalid_uri' });
      expect(p.decideResource('deny', 's', uri)).toEqual({ allow: false, rule: 'invalid_uri' });
    },
  );

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
  '/',
  '//',
  '.',
  '..',
  '/./',
  '/../',
  'a',
  'B',
  'srv',
  'secret',
  '%2e',
  '%2E',
  '%2f',
  '%41',
  '%7e',
  '%c3%a9',
  '%25',
  '%',
  '?',
  '#',
  '~',
  '*',
  '{x}',
  ' ',
  '\u00e9',
  '\\',
  '@',
  ':',
  'localhost',
  'LOCALHOST',
  '%00',
  ';',
  '(',
  '[',
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
