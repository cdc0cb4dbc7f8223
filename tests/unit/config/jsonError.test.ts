import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findJsonSyntaxError } from '../../../src/config/jsonError.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('findJsonSyntaxError', () => {
  it.each<[string, number, number, string]>([
    ['{"a":1,}', 1, 7, 'trailing comma before "}" is not allowed in JSON'],
    ['{\n  "a": [1, 2,],\n  "b": 1\n}', 2, 13, 'trailing comma before "]" is not allowed in JSON'],
    ['{"a" 1}', 1, 6, 'expected ":" after a property name, found "1"'],
    ['{"a":}', 1, 6, 'expected a value, found "}"'],
    ['{"a":1 "b":2}', 1, 8, 'expected "," or "}", found "\\""'],
    ['[1 2]', 1, 4, 'expected "," or "]", found "2"'],
    ['{a:1}', 1, 2, 'expected a property name in double quotes, found "a"'],
    ["['x']", 1, 2, 'strings must use double quotes'],
    ['{"a":"x\ny"}', 1, 8, 'line break or control character inside a string (write it as \\n, \\t, ...)'],
    ['{"a":"\\x"}', 1, 7, 'invalid escape in string'],
    ['{"a":"\\u12"}', 1, 7, 'invalid \\u escape in string'],
    ['{"a":"abc', 1, 6, 'string is not closed'],
    ['/* c */ {}', 1, 1, 'comments are not allowed in JSON'],
    ['{"a": 1 // c\n}', 1, 9, 'comments are not allowed in JSON'],
    ['[1] x', 1, 5, 'unexpected "x" after the end of the JSON value'],
    ['{"a":01}', 1, 7, 'expected "," or "}", found "1"'],
    ['{"a":-}', 1, 6, 'invalid number'],
    ['{"a":tru}', 1, 6, 'expected a value, found "t"'],
    ['[[[[', 1, 5, 'unexpected end of file (a bracket, brace or quote is not closed)'],
    ['', 1, 1, 'the file is empty'],
    ['\n\n', 3, 1, 'the file is empty'],
    ['\uFEFF{}', 1, 1, 'expected a value, found "\uFEFF"'],
  ])('%j: line %i, column %i: %s', (text, line, column, reason) => {
    expect(findJsonSyntaxError(text)).toMatchObject({ line, column, reason });
  });

  it.each(['{}', '[]', '0', '-1.5e+3', '"x"', 'true', ' null ', '{"a":[1,{"b":"\\u00e9\\n"}],"c":false}'])('accepts %j', (text) => {
    expect(findJsonSyntaxError(text)).toBeUndefined();
  });

  it('survives nesting far deeper than a recursive parser could', () => {
    const deep = '['.repeat(200_000);
    expect(findJsonSyntaxError(deep)?.reason).toContain('unexpected end of file');
  });

  it('accepts everything JSON.stringify produces', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2), (value, indent) => {
        expect(findJsonSyntaxError(JSON.stringify(value, null, indent))).toBeUndefined();
      }),
    );
  });

  it('agrees with JSON.parse on what is valid, for mangled JSON', () => {
    const mangled = fc.tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', '/', ' ', '\n', '0', 'x', '\\')).map(([text, at, insert]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + insert + text.slice(i);
    });
    fc.assert(
      fc.property(fc.oneof(mangled, fc.string({ maxLength: 20 })), (text) => {
        expect(findJsonSyntaxError(text) === undefined).toBe(parses(text));
      }),
      { numRuns: 2000 },
    );
  });
});
