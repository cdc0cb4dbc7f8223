import { Minimatch, type MinimatchOptions } from 'minimatch';
import { canonicalResourcePattern } from './resourceUri.js';

// One pattern language for server rules, tool rules and get_server_tools(pattern):
// minimatch globs, case-sensitive, where `*`, `?` and `[...]` are the only special forms.
// Braces, extglobs, negation and comments are switched off so that a name such as
// `tool{1}` or `!x` means itself, and `*` also matches names that begin with a dot.
const OPTIONS: MinimatchOptions = {
  dot: true,
  nobrace: true,
  noext: true,
  nonegate: true,
  nocomment: true,
  nocase: false,
};

const MAGIC = /[*?[]/;

// minimatch matches paths: its `*` and `?` never match "/", and never match a whole name "."
// or "..". Names are not paths, and a deny rule `*` must deny every tool, even one a server
// chose to call "fs/delete" (the MCP spec only says SHOULD about the characters). So the
// matcher sees each "/" as NUL, which no pattern may contain, behind a literal NUL prefix that
// keeps "." and ".." from being path segments of their own.
const SLASH_STANDIN = '\u0000';

/** Why `pattern` can never match a server or tool name, or undefined when it is usable. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'pattern is empty';
  if (pattern.includes('/')) return `pattern "${pattern}" contains "/"; a pattern cannot (match a "/" in a tool name with ? or *)`;
  if (/\s/.test(pattern)) return `pattern "${pattern}" contains whitespace, which no name can contain`;
  if (pattern.includes(SLASH_STANDIN)) return `pattern ${JSON.stringify(pattern)} contains a NUL character`;
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
  if (pattern.includes(SLASH_STANDIN)) return `pattern ${JSON.stringify(pattern)} contains a NUL character`;
  if (hasUnclosedBracket(pattern)) return `pattern "${pattern}" has an unclosed "["`;
  const canonical = canonicalResourcePattern(pattern);
  if (!canonical.ok) return `pattern ${JSON.stringify(pattern)} ${canonical.reason}`;
  return undefined;
}

export function isLiteralPattern(pattern: string): boolean {
  return !MAGIC.test(pattern);
}

export type NameMatcher = (name: string) => boolean;

/** Compiles once; the returned function does no parsing. Call patternProblem (or uriPatternProblem) first. */
export function compilePattern(pattern: string): NameMatcher {
  if (isLiteralPattern(pattern)) return (name) => name === pattern;
  // A "/" in a pattern (only URI patterns may have one) matches a "/" in the name.
  const mm = new Minimatch(SLASH_STANDIN + pattern.replaceAll('/', SLASH_STANDIN), OPTIONS);
  // (An empty name matches nothing, as before: no server or tool has one.)
  return (name) => name !== '' && mm.match(SLASH_STANDIN + name.replaceAll('/', SLASH_STANDIN));
}

function hasUnclosedBracket(pattern: string): boolean {
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
