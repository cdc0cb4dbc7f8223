// Caller metadata is parsed JSON, where `__proto__` is an own key like any other: merging it
// must copy it as data, never set the target's prototype.
import { describe, expect, it } from 'vitest';
import { mergedJsonBytes, mergeRecord } from '../../src/mergeRecord.js';

describe('mergeRecord', () => {
  it('copies a __proto__ key as a key and leaves the prototype alone', () => {
    const target: Record<string, unknown> = { a: 1 };
    const source = JSON.parse('{"__proto__":{"polluted":true},"b":2}') as Record<string, unknown>;
    mergeRecord(target, source);
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect((target as { polluted?: unknown }).polluted).toBeUndefined();
    expect(JSON.stringify(target)).toBe('{"a":1,"__proto__":{"polluted":true},"b":2}');
  });

  it('copies values, so a later change of the source does not reach the target', () => {
    const source = { list: [1] };
    const target = mergeRecord({}, source);
    source.list.push(2);
    expect(target).toEqual({ list: [1] });
  });

  it('measures the merged JSON, __proto__ included', () => {
    const added = JSON.parse('{"__proto__":"' + 'x'.repeat(100) + '"}') as Record<string, unknown>;
    expect(mergedJsonBytes({ a: 1 }, added)).toBe(Buffer.byteLength(`{"a":1,"__proto__":"${'x'.repeat(100)}"}`));
  });
});
