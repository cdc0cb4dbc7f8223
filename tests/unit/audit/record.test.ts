import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, hashArgs } from '../../../src/audit/record.js';

// The definition the audit log has always used: keys sorted at every depth, then JSON.
function reference(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v !== null && typeof v === 'object') {
      // No prototype, so a `__proto__` key (JSON.parse makes it an own key) stays a key.
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const key of Object.keys(v).sort()) out[key] = sortKeys((v as Record<string, unknown>)[key]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sortKeys(value));
}

describe('canonicalJson / hashArgs', () => {
  it('agrees with sorting every object by key, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
        expect(hashArgs(value)).toBe(
          createHash('sha256')
            .update(reference(value ?? {}))
            .digest('hex'),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('hashes equal arguments alike, whatever their key order', () => {
    expect(hashArgs({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe(hashArgs({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(canonicalJson({ 10: 'a', 9: 'b', b: 1, a: 2 })).toBe(reference({ 10: 'a', 9: 'b', b: 1, a: 2 }));
    expect(hashArgs(undefined)).toBe(hashArgs({}));
  });

  it('keeps a `__proto__` key a caller sent (JSON.parse makes it an own key), so it is hashed', () => {
    const value: unknown = JSON.parse('{"z":1,"__proto__":false}');
    expect(canonicalJson(value)).toBe('{"__proto__":false,"z":1}');
    expect(hashArgs(value)).not.toBe(hashArgs({ z: 1 }));
  });

  it('hashes a __proto__ key as a key, in any key order (no collision with the arguments without it)', () => {
    const unsorted = JSON.parse('{"b":1,"a":1,"__proto__":{"x":1}}') as unknown;
    const sorted = JSON.parse('{"__proto__":{"x":1},"a":1,"b":1}') as unknown;
    expect(hashArgs(unsorted)).not.toBe(hashArgs({ b: 1, a: 1 }));
    expect(hashArgs(unsorted)).toBe(hashArgs(sorted));
  });
});
