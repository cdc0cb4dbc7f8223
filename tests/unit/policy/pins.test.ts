import { describe, expect, it } from 'vitest';
import { MAX_PINNED_ITEMS, pinsOf, type PinnedItems } from '../../../src/config/lockFile.js';
import { checkPins, sameCheck } from '../../../src/policy/pins.js';
import { diffDefinitions, diffLines } from '../../../src/policy/pinsDiff.js';

const pinned: PinnedItems = { a: { sha256: '1'.repeat(64) }, b: { sha256: '2'.repeat(64) }, c: { sha256: '3'.repeat(64) } };
const item = (name: string, digit: string) => ({ name, sha256: digit.repeat(64) });

describe('checkPins', () => {
  it.each([
    ['everything as pinned', [item('a', '1'), item('b', '2'), item('c', '3')], {}, []],
    ['a changed definition', [item('a', '9'), item('b', '2'), item('c', '3')], { a: 'changed' }, []],
    ['a new name', [item('a', '1'), item('b', '2'), item('c', '3'), item('d', '4')], { d: 'new' }, []],
    ['a rename: the new name is new, the old one removed', [item('a', '1'), item('b', '2'), item('c2', '3')], { c2: 'new' }, ['c']],
    ['removed items, sorted', [item('b', '2')], {}, ['a', 'c']],
    ['a name listed twice with a second definition', [item('a', '1'), item('a', '8'), item('b', '2'), item('c', '3')], { a: 'changed' }, []],
    ['an inherited property name is not a pin', [item('toString', '1'), item('a', '1'), item('b', '2'), item('c', '3')], { toString: 'new' }, []],
    ['a definition too deep to digest, though pinned', [{ name: 'a', sha256: undefined }, item('b', '2'), item('c', '3')], { a: 'too-deep' }, []],
    ['a too-deep twin of a pinned item', [item('a', '1'), { name: 'a', sha256: undefined }, item('b', '2'), item('c', '3')], { a: 'too-deep' }, []],
    ['a name too long to pin', [item('a', '1'), item('b', '2'), item('c', '3'), item('n'.repeat(257), '5')], { ['n'.repeat(257)]: 'name-too-long' }, []],
  ])('%s', (_name, current, quarantined, removed) => {
    const check = checkPins(pinned, current);
    expect(Object.fromEntries(check.quarantined)).toEqual(quarantined);
    expect(check.removed).toEqual(removed);
  });

  it('sameCheck compares names, reasons and removals', () => {
    const one = checkPins(pinned, [item('a', '9')]);
    expect(sameCheck(one, checkPins(pinned, [item('a', '7')]))).toBe(true);
    expect(sameCheck(one, checkPins(pinned, [item('a', '1')]))).toBe(false);
    expect(sameCheck(one, checkPins(pinned, [item('a', '9'), item('b', '2')]))).toBe(false);
  });

  it('pins made by pinsOf trust the same list', () => {
    const tools = [{ name: 'x', description: 'X', inputSchema: { type: 'object' } }];
    const pins = pinsOf('tools', tools);
    expect(checkPins(pins, [{ name: 'x', sha256: pins['x']!.sha256 }]).quarantined.size).toBe(0);
  });
});

describe('diffDefinitions', () => {
  it.each([
    ['nothing differs', { description: 'same' }, { description: 'same' }, []],
    ['a description line changed', { description: 'one\ntwo' }, { description: 'one\nTWO' }, ['description:', '  one', '- two', '+ TWO']],
    [
      'a schema gained a property (keys sorted, so order changes nothing)',
      { inputSchema: { type: 'object', properties: { a: { type: 'string' } } } },
      { inputSchema: { properties: { b: { type: 'number' }, a: { type: 'string' } }, type: 'object' } },
      [
        'inputSchema:',
        '  {',
        '    "properties": {',
        '      "a": {',
        '        "type": "string"',
        '+     },',
        '+     "b": {',
        '+       "type": "number"',
        '      }',
        '    },',
        '    "type": "object"',
        '  }',
      ],
    ],
    [
      'a field added, shown in reading order',
      { title: 'T' },
      { annotations: { readOnlyHint: false }, title: 'T2' },
      ['title:', '- T', '+ T2', 'annotations:', '+ {', '+   "readOnlyHint": false', '+ }'],
    ],
    ['nothing stored: everything is added', undefined, { description: 'd' }, ['description:', '+ d']],
  ])('%s', (_name, before, after, lines) => {
    expect(diffDefinitions(before, after)).toEqual(lines);
  });

  it('a diff too large to align shows old then new', () => {
    const old = Array.from({ length: 3000 }, (_, i) => `o${i}`);
    const now = Array.from({ length: 3000 }, (_, i) => `n${i}`);
    const lines = diffLines(old, now);
    expect(lines.length).toBe(6000);
    expect(lines[0]).toBe('- o0');
    expect(lines[3000]).toBe('+ n0');
  });

  it('a huge field is cut at 2,000 lines', () => {
    const lines = diffDefinitions({}, { description: Array.from({ length: 5000 }, (_, i) => `l${i}`).join('\n') });
    expect(lines.length).toBe(1 + 2001);
    expect(lines.at(-1)).toBe('+ ... (3000 more lines)');
  });
});

describe('checkPins bounds', () => {
  it('a new item of a server that has the most pins a lockfile keeps is too-many, not new', () => {
    const full = pinsOf(
      'tools',
      Array.from({ length: MAX_PINNED_ITEMS + 5 }, (_, i) => ({ name: `t${i}` })),
    );
    expect(Object.keys(full)).toHaveLength(MAX_PINNED_ITEMS);
    const check = checkPins(full, [...Object.entries(full).map(([name, pin]) => ({ name, sha256: pin.sha256 })), item('later', '1')]);
    expect(Object.fromEntries(check.quarantined)).toEqual({ later: 'too-many' });
  });
});
