import { Minimatch, type MinimatchOptions } from 'minimatch';
import { isLiteralPattern } from '../config/patternSyntax.js';

// One pattern language for server rules, tool rules and get_server_tools(pattern):
// minimatch globs, case-sensitive, where `*`, `?` and `[...]` are the only special forms.
// Braces, extglobs, negation and comments are switched off so that a name such as
// `tool{1}` or `!x` means itself, and `*` also matches names that begin with a dot.
// Which patterns are well formed is config/patternSyntax.ts.
const OPTIONS: MinimatchOptions = {
  dot: true,
  nobrace: true,
  noext: true,
  nonegate: true,
  nocomment: true,
  nocase: false,
};

// minimatch matches paths: its `*` and `?` never match "/", and never match a whole name "."
// or "..". Names are not paths, and a deny rule `*` must deny every tool, even one a server
// chose to call "fs/delete" (the MCP spec only says SHOULD about the characters). So the
// matcher sees each "/" as NUL, which no pattern may contain, behind a literal NUL prefix that
// keeps "." and ".." from being path segments of their own.
const SLASH_STANDIN = '\u0000';

export type NameMatcher = (name: string) => boolean;

/** Compiles once; the returned function does no parsing. Call patternProblem (or uriPatternProblem) first. */
export function compilePattern(pattern: string): NameMatcher {
  if (isLiteralPattern(pattern)) return (name) => name === pattern;
  // A "/" in a pattern (only URI patterns may have one) matches a "/" in the name.
  const mm = new Minimatch(SLASH_STANDIN + pattern.replaceAll('/', SLASH_STANDIN), OPTIONS);
  // (An empty name matches nothing, as before: no server or tool has one.)
  return (name) => name !== '' && mm.match(SLASH_STANDIN + name.replaceAll('/', SLASH_STANDIN));
}
