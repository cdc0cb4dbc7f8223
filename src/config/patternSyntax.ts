import { canonicalResourcePattern } from './resourceUri.js';

// Which rule patterns are well formed. The pattern language itself (minimatch globs where
// `*`, `?` and `[...]` are the only special forms) is compiled in policy/pattern.ts; a rules
// file is checked here so that loading it never depends on the policy that will use it.

const MAGIC = /[*?[]/;

// The matcher stands NUL in for "/" (policy/pattern.ts), so a pattern holding one could
// match across a "/".
const NUL = '\u0000';

/** Why `pattern` can never match a server or tool name, or undefined when it is usable. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'pattern is empty';
  if (pattern.includes('/')) return `pattern "${pattern}" contains "/"; a pattern cannot (match a "/" in a tool name with ? or *)`;
  if (/\s/.test(pattern)) return `pattern "${pattern}" contains whitespace, which no name can contain`;
  if (pattern.includes(NUL)) return `pattern ${JSON.stringify(pattern)} contains a NUL character`;
  if (hasUnclosedBracket(pattern)) return `pattern "${pattern}" has an unclosed "["`;
  return undefined;
}

/**
 * Why a resource rule pattern can never match a URI, or undefined when it is usable. URIs
 * contain "/", so unlike names a resource pattern may; `*` and `?` match "/" too, so one
 * glob language covers names and URIs. A pattern is matched in its canonical form
 * (canonicalResourcePattern), so one that has none is refused.
 */
export function uriPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'pattern is empty';
  if (/\s/.test(pattern)) return `pattern "${pattern}" contains whitespace, which no URI can contain`;
  if (pattern.includes(NUL)) return `pattern ${JSON.stringify(pattern)} contains a NUL character`;
  if (hasUnclosedBracket(pattern)) return `pattern "${pattern}" has an unclosed "["`;
  const canonical = canonicalResourcePattern(pattern);
  if (!canonical.ok) return `pattern ${JSON.stringify(pattern)} ${canonical.reason}`;
  return undefined;
}

export function isLiteralPattern(pattern: string): boolean {
  return !MAGIC.test(pattern);
}

/** Whether some `[` opens a class that never closes. */
export function hasUnclosedBracket(pattern: string): boolean {
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === '[') {
      // A class needs at least one member before its "]": "[]a]" is a class holding "]" and "a".
      let j = i + 1;
      if (pattern[j] === '!' || pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j++;
      if (j >= pattern.length) return true;
      i = j + 1;
      continue;
    }
    i++;
  }
  return false;
}
