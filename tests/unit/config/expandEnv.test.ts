import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expandEnv } from '../../../src/config/expandEnv.js';

describe('expandEnv', () => {
  const env = { A: 'bar', EMPTY: '', TEST_API_KEY: 'secret123', URL: 'http://h/mcp', TRICKY: '${A}' };

  it.each([
    // reference D.1 #6: repeated and embedded references
    ['${TEST_API_KEY}', 'secret123', []],
    ['a_${TEST_API_KEY}_${TEST_API_KEY}', 'a_secret123_secret123', []],
    ['x${A}y${A}', 'xbarybar', []],
    // reference D.1 #8: left untouched
    ['$A', '$A', []],
    ['${}', '${}', []],
    ['no references', 'no references', []],
    ['', '', []],
    ['$${A}', '$bar', []],
    ['${A', '${A', []],
    // reference D.1 #9 [BETTER]: defaults, Claude Code syntax
    ['${UNSET:-dflt}', 'dflt', []],
    ['${A:-dflt}', 'bar', []],
    ['${UNSET:-}', '', []],
    ['${UNSET:-https://api.example.com}/mcp', 'https://api.example.com/mcp', []],
    ['${UNSET:-b:-c}', 'b:-c', []],
    // SignalWire syntax
    ['${UNSET|0.0.0.0}', '0.0.0.0', []],
    ['${A|dflt}', 'bar', []],
    ['${UNSET|}', '', []],
    ['${UNSET|b|c}', 'b|c', []],
    // whichever separator comes first splits
    ['${UNSET|x:-y}', 'x:-y', []],
    ['${UNSET:-x|y}', 'x|y', []],
    // an empty value counts as set, for both syntaxes
    ['${EMPTY}', '', []],
    ['${EMPTY:-dflt}', '', []],
    ['${EMPTY|dflt}', '', []],
    // unset without a default: kept literally and reported once
    ['${MISSING_VAR}', '${MISSING_VAR}', ['MISSING_VAR']],
    ['${M1}-${M2}-${M1}', '${M1}-${M2}-${M1}', ['M1', 'M2']],
    ['${VAR:-dflt}${NOPE}', 'dflt${NOPE}', ['NOPE']],
    // the body ends at the first "}": no nesting (as in Claude Code)
    ['${UNSET:-${A}}', '${A}', []],
    // values are not rescanned
    ['${TRICKY}', '${A}', []],
    // inherited properties are not variables
    ['${constructor}', '${constructor}', ['constructor']],
    ['${toString:-d}', 'd', []],
  ])('%j -> %j', (input, expected, missing) => {
    expect(expandEnv(input, env)).toEqual({ value: expected, missing });
  });

  it('treats an undefined entry as unset', () => {
    expect(expandEnv('${X}', { X: undefined })).toEqual({ value: '${X}', missing: ['X'] });
    expect(expandEnv('${X:-d}', { X: undefined })).toEqual({ value: 'd', missing: [] });
  });

  describe('property: expansion never leaves "${" for a set variable', () => {
    const name = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,11}$/);
    // Values and literal text that cannot form "${" on their own or at a seam.
    const value = fc.string({ maxLength: 12 }).filter((s) => !s.includes('${') && !s.endsWith('$'));
    const literal = fc.string({ maxLength: 8 }).filter((s) => !s.includes('${') && !s.endsWith('$') && !s.startsWith('{'));
    const form = fc.constantFrom('plain', 'claude-default', 'signalwire-default');

    it('holds for any mix of literal text and references to set variables', () => {
      fc.assert(
        fc.property(
          fc.dictionary(name, value, { minKeys: 1, maxKeys: 6 }),
          fc.array(fc.tuple(literal, fc.nat(), form, value), { maxLength: 6 }),
          literal,
          (vars, parts, tail) => {
            const names = Object.keys(vars);
            let template = '';
            let expected = '';
            for (const [text, pick, style, dflt] of parts) {
              const chosen = names[pick % names.length]!;
              const suffix = style === 'plain' ? '' : style === 'claude-default' ? `:-${dflt}` : `|${dflt}`;
              // A default containing "}" would end the reference early; that case is covered above.
              if (suffix.includes('}')) continue;
              template += `${text}\${${chosen}${suffix}}`;
              expected += `${text}${vars[chosen]}`;
            }
            template += tail;
            expected += tail;
            const result = expandEnv(template, vars);
            expect(result.missing).toEqual([]);
            expect(result.value).toBe(expected);
            expect(result.value).not.toContain('${');
          },
        ),
      );
    });

    it('reports exactly the unset variables that have no default', () => {
      fc.assert(
        fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 5 }), fc.boolean(), (names, withDefault) => {
          const template = names.map((n) => (withDefault ? `\${${n}:-x}` : `\${${n}}`)).join('/');
          const result = expandEnv(template, {});
          expect(result.missing).toEqual(withDefault ? [] : names);
        }),
      );
    });
  });
});
