import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLiteralPattern, patternProblem } from '../../../src/config/patternSyntax.js';
import { compilePattern } from '../../../src/policy/pattern.js';
import { RuleList, matcherCache } from '../../../src/policy/ruleList.js';

// RuleList skips the matcher when a name lacks a pattern's literal prefix or suffix, and
// buckets patterns by first character. Neither may change an answer of the pattern language.

const PATTERN_CHARS = ['a', 'b', '_', '.', '-', '*', '?', '[', ']', '!', '^', '\\', '{', '}', ','];
const NAME_CHARS = ['a', 'b', '_', '.', '-', '*', '?', '[', ']', '!', '\\', '/', '{', '}', ','];

const pattern = fc
  .array(fc.constantFrom(...PATTERN_CHARS), { minLength: 1, maxLength: 7 })
  .map((cs) => cs.join(''))
  .filter((p) => patternProblem(p) === undefined);
const name = fc.array(fc.constantFrom(...NAME_CHARS), { maxLength: 8 }).map((cs) => cs.join(''));

/** The first entry the pattern language itself says matches: exact entries first, then patterns. */
function expectedIndex(entries: readonly string[], n: string): number {
  const exact = entries.findIndex((p) => isLiteralPattern(p) && p === n);
  if (exact !== -1) return exact;
  return entries.findIndex((p) => !isLiteralPattern(p) && compilePattern(p)(n));
}

describe('RuleList', () => {
  it('answers exactly as the pattern language does, for any list and name', () => {
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 6 }), fc.array(name, { minLength: 1, maxLength: 10 }), (entries, names) => {
        const list = new RuleList(entries, 'x', true, matcherCache());
        for (const n of names) {
          const i = expectedIndex(entries, n);
          expect(list.first(n)?.rule).toBe(i === -1 ? undefined : `x[${i}]`);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    // names are not paths: "/" is an ordinary character ("*" matches it, a literal end must match)
    [['*_q'], 'a_q/', -1],
    [['drop_*'], 'drop_table/', 0],
    [['*'], 'fs/delete', 0],
    [['drop_*'], 'drop_a/b', 0],
    [['a*', '*'], '..', 1],
    [['a*', 'b*', '*c', 'a?c'], 'abc', 0],
    [['b*', '*c', 'a?c'], 'abc', 1],
    [['b*', 'a?d', 'a*'], 'abc', 2],
    [['[ab]x', 'ax'], 'ax', 1],
    [['x[ab]', 'b*'], 'xb', 0],
    [['*'], '', -1],
  ] as const)('%j on %j', (entries, n, index) => {
    const list = new RuleList(entries, 'x', false);
    expect(index).toBe(expectedIndex(entries, n));
    expect(list.first(n)?.rule).toBe(index === -1 ? undefined : `x[${index}]`);
  });

  it('shares one matcher among identical patterns', () => {
    const compile = matcherCache();
    expect(compile('drop_*')).toBe(compile('drop_*'));
    expect(compile('drop_*')).not.toBe(compile('drop_?'));
  });
});
