import { isLiteralPattern, patternProblem } from '../config/patternSyntax.js';
import { compilePattern, type NameMatcher } from './pattern.js';
import type { Decision } from './types.js';

// One list of rule entries (`allow.servers`, `deny.tools.db`, ...) compiled for lookup.
// Decisions are built here, once, because they are immutable: a lookup then allocates nothing.

interface GlobEntry {
  readonly match: NameMatcher;
  readonly decision: Decision;
}

/** Compiles a pattern, or returns the matcher already compiled for the same text. */
export type PatternCompiler = (pattern: string) => NameMatcher;

export function matcherCache(): PatternCompiler {
  const cache = new Map<string, NameMatcher>();
  return (pattern) => {
    let match = cache.get(pattern);
    if (match === undefined) {
      match = compilePattern(pattern);
      cache.set(pattern, match);
    }
    return match;
  };
}

export class RuleList {
  private readonly literals: ReadonlyMap<string, Decision>;
  /** The patterns, in file order. */
  private readonly globs: readonly GlobEntry[];
  // The literal text each pattern starts and ends with: a name lacking either cannot match, and
  // checking that is far cheaper than running the matcher. They are packed into flat arrays
  // (pattern k's prefix is prefixChars[prefixAt[k] .. prefixAt[k+1]]) because with 1,000 agents x
  // 50 distinct patterns, touching one object per pattern costs a cache miss each, which added up
  // to ~25 µs a decision; a flat array is a few contiguous cache lines.
  private readonly prefixChars: Uint16Array;
  private readonly prefixAt: Int32Array;
  private readonly suffixChars: Uint16Array;
  private readonly suffixAt: Int32Array;

  /**
   * @param path JSON path of the list in the rules file; entry i decides with rule `${path}[i]`.
   * @throws Error when an entry can never match a name. The config loader rejects those, so this
   *   only fires when someone bypasses validation; refusing is safer than a deny rule that silently
   *   matches nothing.
   */
  constructor(
    entries: readonly string[],
    path: string,
    allow: boolean,
    compile: PatternCompiler = compilePattern,
    problemOf: (pattern: string) => string | undefined = patternProblem,
  ) {
    const literals = new Map<string, Decision>();
    const globs: GlobEntry[] = [];
    const prefixes: string[] = [];
    const suffixes: string[] = [];
    entries.forEach((entry, index) => {
      const problem = problemOf(entry);
      if (problem !== undefined) throw new Error(`${path}[${index}]: ${problem}`);
      const decision = makeDecision(allow, `${path}[${index}]`);
      if (isLiteralPattern(entry)) {
        // A repeated entry is reported at its first position, as a reader of the file would expect.
        if (!literals.has(entry)) literals.set(entry, decision);
        return;
      }
      const { prefix, suffix } = literalEnds(entry);
      globs.push({ match: compile(entry), decision });
      prefixes.push(prefix);
      suffixes.push(suffix);
    });
    this.literals = literals;
    this.globs = globs;
    [this.prefixChars, this.prefixAt] = pack(prefixes);
    [this.suffixChars, this.suffixAt] = pack(suffixes);
  }

  /** The decision of the first entry naming `name`: exact entries win over patterns, then file order. */
  first(name: string): Decision | undefined {
    const exact = this.literals.get(name);
    if (exact !== undefined) return exact;
    const globs = this.globs;
    if (globs.length === 0) return undefined;

    // The matcher treats `/` (and `\` on Windows) as path separators, so for such a name a
    // trailing separator can still match a pattern's literal end: leave those to the matcher alone.
    const plain = !SEPARATOR.test(name);
    const { prefixChars, prefixAt, suffixChars, suffixAt } = this;
    for (let k = 0; k < globs.length; k++) {
      if (plain) {
        const p0 = prefixAt[k] as number;
        const p1 = prefixAt[k + 1] as number;
        const s0 = suffixAt[k] as number;
        const s1 = suffixAt[k + 1] as number;
        // Prefix and suffix are disjoint pieces of the pattern, so a match needs room for both.
        if (p1 - p0 + (s1 - s0) > name.length) continue;
        if (!sameChars(name, 0, prefixChars, p0, p1)) continue;
        if (!sameChars(name, name.length - (s1 - s0), suffixChars, s0, s1)) continue;
      }
      const glob = globs[k] as GlobEntry;
      if (glob.match(name)) return glob.decision;
    }
    return undefined;
  }
}

/** Whether name[at ..] starts with chars[from .. to]. The caller guarantees the name is long enough. */
function sameChars(name: string, at: number, chars: Uint16Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++, at++) {
    if (name.charCodeAt(at) !== chars[i]) return false;
  }
  return true;
}

function pack(parts: readonly string[]): [Uint16Array, Int32Array] {
  const at = new Int32Array(parts.length + 1);
  let total = 0;
  parts.forEach((part, k) => {
    at[k] = total;
    total += part.length;
  });
  at[parts.length] = total;
  const chars = new Uint16Array(total);
  parts.forEach((part, k) => {
    const start = at[k] as number;
    for (let i = 0; i < part.length; i++) chars[start + i] = part.charCodeAt(i);
  });
  return [chars, at];
}

export function makeDecision(allow: boolean, rule: string): Decision {
  return Object.freeze({ allow, rule });
}

const SEPARATOR = /[/\\]/;
// Everything that can start a non-literal piece: wildcards, a class, or an escape. `]` counts
// too, so a suffix never reaches back into a class.
const SPECIAL = '*?[]\\';

function literalEnds(pattern: string): { prefix: string; suffix: string } {
  let start = 0;
  while (start < pattern.length && !SPECIAL.includes(pattern.charAt(start))) start++;
  let end = pattern.length;
  while (end > start && !SPECIAL.includes(pattern.charAt(end - 1))) end--;
  return { prefix: pattern.slice(0, start), suffix: pattern.slice(end) };
}
