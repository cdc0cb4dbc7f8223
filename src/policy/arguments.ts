import { Minimatch, type MinimatchOptions } from 'minimatch';
import { argumentRulePath, canonicalUrlPattern, parsePointer } from '../config/argumentRules.js';
import { jsonType } from '../config/issues.js';
import type { PathSegment } from '../config/jsonPath.js';
import type { ArgumentCondition, ArgumentRules, ArgumentValueType } from '../config/types.js';
import { jsonEqual, locate, normalizePath, normalizeUrl, replaceAt, type Located, type Normalized } from './argumentsValues.js';
import type { ArgumentDecision, ArgumentVerdict } from './argumentsVerdict.js';
import { compilePattern, type NameMatcher } from './pattern.js';

// Argument rules, compiled once per agent when the policy is compiled. A call is decided in two
// passes: first every `path` and `url` value is replaced by its normalized form (in a copy),
// then every condition is checked against that copy, which is what the server receives. So a
// string condition and a path condition on the same value see the same, forwarded, spelling.

/** Decides one call: undefined when no argument rule applies to (server, tool), so the arguments go as they are. */
export type ArgumentDecider = (server: string, tool: string, args: Record<string, unknown>, explain: boolean) => ArgumentVerdict | undefined;

// Path globs: `*` and `?` within one segment, `**` any depth, dot files included; braces,
// extglobs, negation and comments off, as in policy/pattern.ts.
const PATH_GLOB: MinimatchOptions = { dot: true, nobrace: true, noext: true, nonegate: true, nocomment: true, nocase: false };

type Matcher = (value: string) => boolean;

interface CompiledCondition {
  readonly segments: readonly string[];
  /** JSON path of the condition; its checks append `.deny[0]` and so on. */
  readonly rule: string;
  readonly type: ArgumentValueType;
  readonly normalize: ((value: string) => Normalized) | undefined;
  readonly absent: boolean;
  readonly required: boolean;
  readonly deny: readonly Matcher[];
  readonly allow: readonly Matcher[] | undefined;
  readonly denyRegex: RegExp | undefined;
  readonly regex: RegExp | undefined;
  readonly enum: readonly unknown[] | undefined;
  readonly minimum: number | undefined;
  readonly maximum: number | undefined;
}

interface ToolConditions {
  readonly match: NameMatcher;
  readonly conditions: readonly CompiledCondition[];
}

/** Compiles an agent's `arguments`; undefined when it has none, so the call path asks nothing. */
export function compileArgumentRules(agentId: string, rules: ArgumentRules | undefined): ArgumentDecider | undefined {
  if (rules === undefined) return undefined;
  const byServer = new Map<string, readonly ToolConditions[]>();
  for (const [server, tools] of Object.entries(rules)) {
    const compiled: ToolConditions[] = [];
    for (const [tool, pointers] of Object.entries(tools)) {
      const base: PathSegment[] = ['agents', agentId, 'arguments', server, tool];
      const conditions = Object.entries(pointers).map(([pointer, condition]) => compileCondition(base, pointer, condition));
      if (conditions.length > 0) compiled.push({ match: compilePattern(tool), conditions });
    }
    if (compiled.length > 0) byServer.set(server, compiled);
  }
  if (byServer.size === 0) return undefined;
  return (server, tool, args, explain) => {
    const tools = byServer.get(server);
    if (tools === undefined) return undefined;
    let conditions: CompiledCondition[] | undefined;
    for (const entry of tools) if (entry.match(tool)) (conditions ??= []).push(...entry.conditions);
    return conditions === undefined ? undefined : decide(conditions, args, explain);
  };
}

function compileCondition(base: readonly PathSegment[], pointer: string, condition: ArgumentCondition): CompiledCondition {
  const parsed = parsePointer(pointer);
  const rule = argumentRulePath(base, pointer);
  // The loader refuses these; a rule that cannot be read must not turn into one that checks nothing.
  if (!parsed.ok) throw new Error(`${rule}: invalid JSON Pointer: ${parsed.reason}`);
  const { type } = condition;
  const normalize = type === 'path' ? normalizePath : type === 'url' ? normalizeUrl : undefined;
  const glob = (pattern: string): Matcher => (type === 'string' ? compilePattern(pattern) : pathGlob(type === 'url' ? canonicalUrlPattern(pattern) : pattern, type));
  // Enum entries are compared in the form values are decided in; one with no normal form matches nothing.
  const enumValue = (entry: unknown): unknown => {
    if (normalize === undefined || typeof entry !== 'string') return entry;
    const normalized = normalize(entry);
    return normalized.ok ? normalized.value : entry;
  };
  return {
    segments: parsed.segments,
    rule,
    type,
    normalize,
    absent: condition.absent === true,
    required: condition.required === true,
    deny: (condition.deny ?? []).map(glob),
    allow: condition.allow?.map(glob),
    denyRegex: condition.deny_regex === undefined ? undefined : new RegExp(condition.deny_regex, 'u'),
    regex: condition.regex === undefined ? undefined : new RegExp(condition.regex, 'u'),
    enum: condition.enum?.map(enumValue),
    minimum: condition.minimum,
    maximum: condition.maximum,
  };
}

/**
 * `P/**` also matches `P` itself (a rule on a folder covers the folder), and for a URL `P` with
 * a query or fragment, which names the same resource as `P`.
 */
function pathGlob(pattern: string, type: 'path' | 'url'): Matcher {
  const all = new Minimatch(pattern, PATH_GLOB);
  const folder = pattern.length > 3 && pattern.endsWith('/**') ? new Minimatch(pattern.slice(0, -3), PATH_GLOB) : undefined;
  if (folder === undefined) return (value) => all.match(value);
  if (type === 'path') return (value) => all.match(value) || folder.match(value);
  return (value) => all.match(value) || folder.match(value.replace(/[?#].*$/s, ''));
}

/** Collects decisions (all of them when explaining, else only the refusal) and remembers the first refusal. */
class Judge {
  readonly decisions: ArgumentDecision[] = [];
  refusal: ArgumentDecision | undefined;
  constructor(readonly explain: boolean) {}

  note(rule: string, pointer: string, allow: boolean, reason: string, value?: unknown): boolean {
    if (!allow || this.explain) {
      const decision: ArgumentDecision = { rule, pointer, allow, reason, ...(this.explain && value !== undefined ? { value: shown(value) } : {}) };
      if (this.explain) this.decisions.push(decision);
      this.refusal ??= allow ? undefined : decision;
    }
    return allow;
  }
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function decide(conditions: readonly CompiledCondition[], args: Record<string, unknown>, explain: boolean): ArgumentVerdict {
  let forwarded = args;
  const copies = new WeakSet<object>();
  for (const condition of conditions) {
    if (condition.normalize === undefined) continue;
    for (const found of locate(forwarded, condition.segments)) {
      if (typeof found.value !== 'string') continue;
      const normalized = condition.normalize(found.value);
      if (normalized.ok && normalized.value !== found.value) forwarded = replaceAt(forwarded, found.at, normalized.value, copies);
    }
  }
  const judge = new Judge(explain);
  for (const condition of conditions) {
    checkCondition(judge, condition, locate(forwarded, condition.segments));
    if (judge.refusal !== undefined && !explain) break;
  }
  if (judge.refusal !== undefined) return { allow: false, refusal: judge.refusal, decisions: judge.decisions };
  return { allow: true, args: forwarded, decisions: judge.decisions };
}

function checkCondition(judge: Judge, c: CompiledCondition, found: readonly Located[]): void {
  const pointer = found[0]?.display ?? pointerOf(c.segments);
  if (c.absent) {
    judge.note(`${c.rule}.absent`, pointer, found.length === 0, found.length === 0 ? 'is absent, as required' : 'must be absent but is present');
    return;
  }
  if (found.length === 0) {
    if (c.required) judge.note(`${c.rule}.required`, pointer, false, 'is required but absent');
    else judge.note(c.rule, pointer, true, 'is absent: nothing to check');
    return;
  }
  if (c.required) judge.note(`${c.rule}.required`, pointer, true, 'is present, as required');
  for (const value of found) {
    if (!checkValue(judge, c, value) && !judge.explain) return;
  }
}

function pointerOf(segments: readonly string[]): string {
  return segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** Runs every check of `c` on one value, deny before allow; false at the first refusal. */
function checkValue(judge: Judge, c: CompiledCondition, found: Located): boolean {
  const at = found.display;
  if (found.notContainer) return judge.note(c.rule, at, false, `is ${jsonType(found.value)}, not an array or object that "*" could look into`);
  let value = found.value;
  if (c.normalize !== undefined) {
    if (typeof value !== 'string') return judge.note(`${c.rule}.type`, at, false, `is ${jsonType(value)}, not a string as a ${c.type} is`);
    const normalized = c.normalize(value);
    if (!normalized.ok) return judge.note(`${c.rule}.type`, at, false, `is not a usable ${c.type}: it ${normalized.reason}`);
    value = normalized.value;
    judge.note(`${c.rule}.type`, at, true, `normalized as a ${c.type}`, value);
  }
  const str = typeof value === 'string' ? value : undefined;
  const notString = `is ${jsonType(value)}, not a string`;
  if (c.deny.length > 0) {
    if (str === undefined) return judge.note(`${c.rule}.deny`, at, false, notString);
    const hit = c.deny.findIndex((match) => match(str));
    if (hit >= 0) return judge.note(`${c.rule}.deny[${hit}]`, at, false, 'matches a denied pattern', value);
    judge.note(`${c.rule}.deny`, at, true, 'matches no denied pattern', value);
  }
  if (c.denyRegex !== undefined) {
    if (str === undefined) return judge.note(`${c.rule}.deny_regex`, at, false, notString);
    if (c.denyRegex.test(str)) return judge.note(`${c.rule}.deny_regex`, at, false, 'matches the denied regular expression', value);
    judge.note(`${c.rule}.deny_regex`, at, true, 'does not match the denied regular expression', value);
  }
  if (c.allow !== undefined) {
    if (str === undefined) return judge.note(`${c.rule}.allow`, at, false, notString);
    const hit = c.allow.findIndex((match) => match(str));
    if (hit < 0) return judge.note(`${c.rule}.allow`, at, false, 'matches no allowed pattern', value);
    judge.note(`${c.rule}.allow[${hit}]`, at, true, 'matches an allowed pattern', value);
  }
  if (c.regex !== undefined) {
    if (str === undefined) return judge.note(`${c.rule}.regex`, at, false, notString);
    if (!c.regex.test(str)) return judge.note(`${c.rule}.regex`, at, false, 'does not match the regular expression', value);
    judge.note(`${c.rule}.regex`, at, true, 'matches the regular expression', value);
  }
  if (c.enum !== undefined) {
    const hit = c.enum.findIndex((entry) => jsonEqual(entry, value));
    if (hit < 0) return judge.note(`${c.rule}.enum`, at, false, 'is not one of the allowed values', value);
    judge.note(`${c.rule}.enum[${hit}]`, at, true, 'is an allowed value', value);
  }
  for (const [key, bound] of [
    ['minimum', c.minimum],
    ['maximum', c.maximum],
  ] as const) {
    if (bound === undefined) continue;
    if (typeof value !== 'number') return judge.note(`${c.rule}.${key}`, at, false, `is ${jsonType(value)}, not a number`);
    const inRange = key === 'minimum' ? value >= bound : value <= bound;
    if (!judge.note(`${c.rule}.${key}`, at, inRange, inRange ? 'is in range' : key === 'minimum' ? 'is below the minimum' : 'is above the maximum', value))
      return false;
  }
  return true;
}
