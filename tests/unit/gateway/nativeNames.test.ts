import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assignNames,
  DEFAULT_CLIENT_PREFIX_LENGTH,
  DEFAULT_SEPARATOR,
  mapChars,
  namingOptions,
  namingProblem,
  nativeName,
} from '../../../src/gateway/native/names.js';

const DEFAULT = namingOptions(DEFAULT_SEPARATOR, DEFAULT_CLIENT_PREFIX_LENGTH);
const VALID = /^[A-Za-z0-9_-]{1,64}$/;

describe('nativeName', () => {
  it('defaults fit an entry named "gateway": 64 - len("mcp__gateway__") = 50', () => {
    expect(DEFAULT.maxLength).toBe(50);
    expect(namingProblem(DEFAULT)).toBeUndefined();
  });

  it.each([
    ['memory', 'read_graph', 'memory__read_graph'],
    ['everything', 'get-sum', 'everything__get-sum'],
    ['a', '_b', 'a___b'],
  ])('%s/%s stays %s', (server, tool, name) => {
    expect(nativeName(server, tool, DEFAULT)).toBe(name);
  });

  it.each([
    // mapped characters
    ['my.server', 'read'],
    ['s', 'fs/read file'],
    // the separator inside or at the end of the server name would make the split ambiguous
    ['a__b', 'c'],
    ['a_', 'b'],
    // a name that looks like a hashed one
    ['s', 'tool-deadbeef'],
    // too long
    ['a-very-long-server-name-for-testing', 'an_even_longer_tool_name_that_does_not_fit'],
  ])('%s/%s gets a hash suffix, within the budget and charset', (server, tool) => {
    const name = nativeName(server, tool, DEFAULT);
    expect(name).toMatch(/-[0-9a-f]{8}$/);
    expect(name.length).toBeLessThanOrEqual(DEFAULT.maxLength);
    expect(name).toMatch(VALID);
    expect(name.startsWith(mapChars(server).slice(0, 3))).toBe(true);
  });

  it('follows the separator and the budget', () => {
    const opts = namingOptions('-', 30);
    expect(nativeName('db', 'query', opts)).toBe('db-query');
    const long = nativeName('database', 'a_tool_with_a_rather_long_name', opts);
    expect(long.length).toBe(64 - 30);
    expect(long).toMatch(/^database-a_tool_with_a_ra-[0-9a-f]{8}$/);
  });

  it.each([
    [namingOptions('', 14), /separator must be/],
    [namingOptions('.', 14), /separator must be/],
    [namingOptions('_____', 14), /separator must be/],
    [namingOptions('__', 60), /budget of 4 characters is too small/],
  ])('refuses %j', (opts, message) => {
    expect(namingProblem(opts)).toMatch(message);
  });
});

describe('assignNames (properties)', () => {
  const part = fc.string({ unit: fc.constantFrom('a', 'b', '_', '-', '.', '/', 'x', 'Y', '1', ' '), minLength: 1, maxLength: 40 });
  const items = fc.uniqueArray(fc.record({ server: part, item: part }), {
    selector: (e) => `${e.server.length}:${e.server}${e.item}`,
    maxLength: 40,
  });
  const optsArb = fc.record({ separator: fc.constantFrom('__', '_', '-', 'x'), prefix: fc.integer({ min: 0, max: 40 }) });

  it('never gives two entries one name; every name is valid and within the budget', () => {
    fc.assert(
      fc.property(items, optsArb, (list, o) => {
        const opts = namingOptions(o.separator, o.prefix);
        const names = assignNames(list, opts);
        expect(new Set(names).size).toBe(list.length);
        for (const name of names) {
          expect(name).toMatch(VALID);
          expect(name.length).toBeLessThanOrEqual(opts.maxLength);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is stable: the same names whatever the order, and adding a server renames none of the others', () => {
    fc.assert(
      fc.property(items, items, optsArb, (list, added, o) => {
        const opts = namingOptions(o.separator, o.prefix);
        const before = assignNames(list, opts);
        const shuffled = [...list].reverse();
        expect(assignNames(shuffled, opts)).toEqual([...before].reverse());
        // A new server's entries: a server name no entry of `list` has.
        const extra = added.map((e) => ({ server: `new${e.server}`, item: e.item })).filter((e) => !list.some((l) => l.server === e.server));
        const after = assignNames([...list, ...extra], opts);
        expect(after.slice(0, list.length)).toEqual(before);
      }),
      { numRuns: 300 },
    );
  });

  it('resolves a collision deterministically (forced by a tiny budget and equal hashes are not needed)', () => {
    const opts = namingOptions('__', 14);
    const list = [
      { server: 's', item: 'x' },
      { server: 's', item: 'x' },
    ];
    // Duplicate entries (the same tool listed twice) still get two names.
    const names = assignNames(list, opts);
    expect(names[0]).toBe('s__x');
    expect(names[1]).toMatch(/^s__x-[0-9a-f]{8}$/);
  });
});
