// Properties of argument rules on paths and URLs: normalization is idempotent, a decision
// depends only on the normalized form, and no spelling of a denied path gets through.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import { normalizePath, normalizeUrl } from '../../../src/policy/argumentsValues.js';
import { compilePolicy } from '../../../src/policy/engine.js';

const parsed = parseRulesConfig({
  agents: {
    dev: {
      allow: { servers: ['*'] },
      arguments: {
        fs: { write_file: { '/path': { type: 'path', allow: ['/srv/**'], deny: ['/srv/secret/**', '**/.env'] } } },
        web: { fetch: { '/url': { type: 'url', deny: ['https://example.com/admin/**'] } } },
      },
    },
  },
});
const policy = compilePolicy(parsed.config!);

const SEGMENTS = ['srv', 'secret', 'public', 'a', '.env', 'b.txt', 'x y', '~', '%'];
const segment = fc.constantFrom(...SEGMENTS);

/** A spelling of `/a/b/c`: "." segments, "x/.." detours, repeated slashes, a trailing slash. */
function spelling(segments: readonly string[]): fc.Arbitrary<string> {
  const noise = fc.array(fc.constantFrom('', '.', 'detour'), { maxLength: 2 });
  return fc.tuple(fc.array(noise, { minLength: segments.length + 1, maxLength: segments.length + 1 }), fc.boolean()).map(([extras, trailing]) => {
    let out = '';
    segments.forEach((name, i) => {
      for (const extra of extras[i]!) out += extra === 'detour' ? '/zz/..' : `/${extra}`;
      out += `/${name}`;
    });
    for (const extra of extras[segments.length]!) out += extra === 'detour' ? '/zz/..' : `/${extra}`;
    return trailing ? `${out}/` : out;
  });
}

const decide = (path: string) => policy.decideArguments('dev', 'fs', 'write_file', { path });

describe('argument rules: properties', () => {
  it('normalizePath is idempotent, and its result has no "//", "." or ".." segment, nor a trailing "/"', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...SEGMENTS, '.', '..', ''), { maxLength: 8 }), fc.boolean(), (parts, leading) => {
        const n = normalizePath(`${leading ? '/' : ''}${parts.join('/')}`);
        if (!n.ok) return;
        expect(normalizePath(n.value)).toEqual(n);
        expect(n.value === '/' || !/\/\/|\/\.\.?(\/|$)|\/$/.test(n.value)).toBe(true);
      }),
    );
  });

  it('normalizeUrl is idempotent', () => {
    const url = fc
      .tuple(
        fc.constantFrom('http', 'HTTPS', 'file', 'wss'),
        fc.constantFrom('example.com', 'EXAMPLE.com:443', 'Example.Com:80', '', 'example.com.', 'Example.com.:443', 'example.com..', '127.0.0.1'),
        fc.array(fc.constantFrom('a', '.', '..', '', '%2e', '%2E%2e', '%7e', '%41', 'x y', '{', '%25', "'"), { maxLength: 6 }),
        fc.constantFrom('', '?q=1', '?a=/../b', "?'", '#f'),
      )
      .map(([scheme, host, path, tail]) => `${scheme}://${host}/${path.join('/')}${tail}`);
    fc.assert(
      fc.property(url, (value) => {
        const n = normalizeUrl(value);
        if (n.ok) expect(normalizeUrl(n.value)).toEqual(n);
      }),
    );
  });

  it('every spelling of a host decides and forwards as its normal form, or is refused', () => {
    const host = fc
      .tuple(
        fc.constantFrom('example.com', 'EXAMPLE.COM', 'ex%61mple.com', 'example%2Ecom'),
        fc.constantFrom('', '.', '%2e', '..'),
        fc.constantFrom('', ':443', ':0443'),
        fc.constantFrom('//', '', '/', '///'),
      )
      .map(([name, dot, port, slashes]) => `https:${slashes}${name}${dot}${port}/admin/x`);
    fc.assert(
      fc.property(host, (url) => {
        const n = normalizeUrl(url);
        if (n.ok) expect(n.value).toBe('https://example.com/admin/x');
        expect(policy.decideArguments('dev', 'web', 'fetch', { url })!.allow).toBe(false);
      }),
    );
  });

  it('a decision depends only on the normalized path, and what is forwarded is that path', () => {
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 4 }).chain((segments) => fc.tuple(spelling(segments), spelling(segments))),
        ([one, other]) => {
          const a = decide(one)!;
          const b = decide(other)!;
          expect(a.allow).toBe(b.allow);
          if (a.allow && b.allow) expect(a.args).toEqual(b.args);
          else if (!a.allow && !b.allow) expect(a.refusal.rule).toBe(b.refusal.rule);
        },
      ),
    );
  });

  it('no spelling of a path under a denied prefix is allowed, percent-encoded ones included', () => {
    const encode = fc.constantFrom(
      (s: string) => s,
      (s: string) => s.replaceAll('.', '%2e'),
      (s: string) => s.replaceAll('/', '%2F'),
      (s: string) => s.replace('/secret', '/public/../secret'),
      (s: string) => s.replace('/secret', '/public/%2e%2e/secret'),
      (s: string) => s.replaceAll('/', '//'),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 3 }), encode, (rest, spell) => {
        const denied = ['/srv/secret', ...rest].join('/');
        const verdict = decide(spell(denied))!;
        expect(verdict.allow).toBe(false);
      }),
    );
  });

  it('no spelling of a URL under a denied prefix is allowed', () => {
    const spellings = fc.constantFrom(
      'https://example.com/admin/x',
      'HTTPS://EXAMPLE.COM/admin/x',
      'https://example.com:443/admin/x',
      'https://example.com/public/../admin/x',
      'https://example.com/public/%2e%2e/admin/x',
      'https://example.com/public/%2E%2E%2Fadmin/x',
      'https://example.com//admin///x',
      'https://example.com/%61dmin/x',
      'https://example.com/admin',
      'https://example.com/admin?x',
      'https://example.com/./admin/#x',
      'https://example.com./admin/x',
      'https://EXAMPLE.com.:443/admin/x',
      'https://example.com%2e/admin/x',
      'https://example.com%2E/admin/x',
      'https://ex%61mple.com/admin/x',
      'https:example.com/admin/x',
      'https:example.com./admin/x',
      'https:/example.com./admin/x',
      'https:///example.com/admin/x',
      'https:x@example.com/admin/x',
      'https://example.com../admin/x',
    );
    fc.assert(
      fc.property(spellings, (url) => {
        expect(policy.decideArguments('dev', 'web', 'fetch', { url })!.allow).toBe(false);
      }),
    );
  });
});
