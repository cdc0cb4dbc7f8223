import { frozenArray, frozenRecord } from './frozen.js';
import { configError, jsonType } from './issues.js';
import { formatPath, type PathSegment } from './jsonPath.js';
import { hasUnclosedBracket, patternProblem, uriPatternProblem } from './patternSyntax.js';
import { canonicalResourcePattern } from './resourceUri.js';
import { SERVER_NAME, SERVER_NAME_RULE } from './serversFile.js';
import { suggestionSuffix } from './suggest.js';
import type { ArgumentCondition, ArgumentRules, ArgumentValueType, ConfigIssue } from './types.js';
import { isPlainObject } from '../values.js';

// The `arguments` section of an agent: server name -> tool pattern -> JSON Pointer -> condition.
// Checked by hand rather than by zod so that every issue below a pointer carries the same path
// as a refusal names (`agents.dev.arguments.fs.write_file./path.deny[0]`), and so that a
// pattern that could never match a normalized value is refused with the spelling that would.

const TYPES: readonly ArgumentValueType[] = ['string', 'path', 'url'];
const CONDITION_KEYS = ['type', 'allow', 'deny', 'regex', 'deny_regex', 'enum', 'minimum', 'maximum', 'absent', 'required'] as const;
type ConditionKey = (typeof CONDITION_KEYS)[number];
const STRING_KEYS: readonly ConditionKey[] = ['allow', 'deny', 'regex', 'deny_regex'];
const NUMBER_KEYS: readonly ConditionKey[] = ['minimum', 'maximum'];
/** Bounds what a rule file can make the matcher chew on. */
const MAX_PATTERN_LENGTH = 8192;
/** Path and URL values are refused above this length; a longer pattern could never match one. */
export const MAX_ARGUMENT_VALUE_LENGTH = 8192;
/** `*` as a whole pointer segment: every element of an array, every value of an object. */
export const POINTER_WILDCARD = '*';

/**
 * The JSON path of something at or below a pointer key. The pointer is written as it stands in
 * the file, after a dot, as the rules contract spells rule paths: `...write_file./path.deny[0]`.
 */
export function argumentRulePath(base: readonly PathSegment[], pointer: string, rest: readonly PathSegment[] = []): string {
  const tail = formatPath(rest);
  return `${formatPath(base)}.${pointer}${tail === '' ? '' : tail.startsWith('[') ? tail : `.${tail}`}`;
}

export type ParsedPointer = { readonly ok: true; readonly segments: readonly string[] } | { readonly ok: false; readonly reason: string };

/** RFC 6901 with `~0`/`~1` escapes; a segment that is exactly `*` is the wildcard. */
export function parsePointer(pointer: string): ParsedPointer {
  if (pointer === '')
    return { ok: false, reason: 'the empty pointer names the whole arguments object, which no condition can check; name a field, such as "/path"' };
  if (!pointer.startsWith('/')) {
    return { ok: false, reason: `a JSON Pointer starts with "/" (did you mean "/${pointer.replaceAll('~', '~0').replaceAll('/', '~1')}"?)` };
  }
  const segments: string[] = [];
  for (const raw of pointer.slice(1).split('/')) {
    if (/~(?![01])/.test(raw))
      return { ok: false, reason: `"~" must be escaped as "~0" ("~1" stands for "/") (did you mean "${pointer.replace(/~(?![01])/g, '~0')}"?)` };
    if (raw === '-') return { ok: false, reason: 'the segment "-" names the element after the last one, which is never present' };
    segments.push(raw.replaceAll('~1', '/').replaceAll('~0', '~'));
  }
  return { ok: true, segments: Object.freeze(segments) };
}

/**
 * A URL pattern in the form URL values are decided in: an http(s)-like pattern with no path
 * gets "/", and its host loses one trailing dot, as URLs do.
 */
export function canonicalUrlPattern(pattern: string): string {
  const canonical = canonicalResourcePattern(pattern);
  const text = (canonical.ok ? canonical.uri : pattern).replace(/^((?:https?|wss?|ftp):\/\/[^/?#]*[^/?#.:])\.(?=(?::[0-9]*)?(?:[/?#]|$))/, '$1');
  return /^(?:https?|wss?|ftp|file):\/\/[^/?#]*$/.test(text) ? `${text}/` : text;
}

/** What a path pattern would have to be to match a normalized path, or undefined when it is fine. */
function pathPatternProblem(pattern: string): string | undefined {
  if (/%[0-9A-Fa-f]{2}/.test(pattern))
    return `pattern "${pattern}" holds a percent-escape, but path values with one are refused as ambiguous; write the character itself`;
  if (!pattern.startsWith('/') && !pattern.startsWith('**')) {
    const fixes = pattern.startsWith('*') ? `"**/${pattern}"` : `"/${pattern}" or "**/${pattern}"`;
    return `path pattern "${pattern}" is relative, but paths are matched absolute (did you mean ${fixes}?)`;
  }
  const segments = pattern.split('/');
  const out: string[] = [];
  for (const segment of segments.slice(1)) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const normalized = pattern.startsWith('/') ? `/${out.join('/')}` : [segments[0], ...out].join('/');
  if (normalized !== pattern) {
    return `path pattern "${pattern}" is not in normal form (no "//", "." or ".." segments, no trailing "/"), which paths are matched in (did you mean "${normalized}"?)`;
  }
  return undefined;
}

/**
 * Why a pattern on the default "string" type looks like a path or a URL: matched as plain text,
 * it is stepped round by another spelling of the same value (`/srv/../etc/passwd` for
 * `/etc/**`). Writing `"type": "string"` says the plain match is meant, and silences this.
 */
function untypedPatternProblem(pattern: string): string | undefined {
  const keep = 'or "type": "string" if a plain text match is meant';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(pattern)) {
    return `pattern "${pattern}" looks like a URL but is matched as plain text, which another spelling of the same URL (other case, "..", "%2e") steps round: add "type": "url" (${keep})`;
  }
  if (pattern.startsWith('/') || pattern.startsWith('**/') || pattern.startsWith('~/')) {
    const home = pattern.startsWith('~/') ? '; "~" is not expanded, so write the folder as an absolute path' : '';
    return `pattern "${pattern}" looks like a path but is matched as plain text, which another spelling of the same path ("..", "//") steps round: add "type": "path"${home} (${keep})`;
  }
  return undefined;
}

function globProblem(type: ArgumentValueType, pattern: string): string | undefined {
  if (pattern.length === 0) return 'pattern is empty';
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  if (pattern.includes('\u0000')) return `pattern ${JSON.stringify(pattern)} contains a NUL character`;
  if (hasUnclosedBracket(pattern)) return `pattern "${pattern}" has an unclosed "["`;
  if (type === 'path') return pathPatternProblem(pattern);
  if (type === 'url') return uriPatternProblem(pattern);
  return undefined;
}

interface Context {
  readonly issues: ConfigIssue[];
  readonly base: readonly PathSegment[];
  readonly pointer: string;
}

function fail(c: Context, rest: readonly PathSegment[], message: string): void {
  c.issues.push({ severity: 'error', path: argumentRulePath(c.base, c.pointer, rest), message });
}

function warn(c: Context, rest: readonly PathSegment[], message: string): void {
  c.issues.push({ severity: 'warning', path: argumentRulePath(c.base, c.pointer, rest), message });
}

/**
 * Parses `agents.<id>.arguments`, pushing every issue; the rules are returned only when this
 * section added no error.
 */
export function parseArgumentRules(raw: unknown, base: readonly PathSegment[], issues: ConfigIssue[]): ArgumentRules | undefined {
  const before = issues.length;
  if (!isPlainObject(raw)) {
    issues.push(configError(base, `must be an object mapping server names to tool patterns, got ${jsonType(raw)}`));
    return undefined;
  }
  const servers: [string, Readonly<Record<string, Readonly<Record<string, ArgumentCondition>>>>][] = [];
  for (const [server, tools] of Object.entries(raw)) {
    const serverPath = [...base, server];
    if (!SERVER_NAME.test(server)) {
      issues.push(configError(serverPath, `arguments keys are exact server names (${SERVER_NAME_RULE}), so "${server}" can never apply`));
    }
    if (!isPlainObject(tools)) {
      issues.push(configError(serverPath, `must be an object mapping tool names or patterns to pointers, got ${jsonType(tools)}`));
      continue;
    }
    const toolEntries: [string, Readonly<Record<string, ArgumentCondition>>][] = [];
    for (const [tool, pointers] of Object.entries(tools)) {
      const toolPath = [...serverPath, tool];
      const problem = patternProblem(tool);
      if (problem !== undefined) issues.push(configError(toolPath, problem));
      if (!isPlainObject(pointers)) {
        issues.push(configError(toolPath, `must be an object mapping JSON Pointers (such as "/path") to conditions, got ${jsonType(pointers)}`));
        continue;
      }
      const conditions: [string, ArgumentCondition][] = [];
      for (const [pointer, condition] of Object.entries(pointers)) {
        const c: Context = { issues, base: toolPath, pointer };
        const parsed = parsePointer(pointer);
        if (!parsed.ok) fail(c, [], `invalid JSON Pointer: ${parsed.reason}`);
        const built = parseCondition(c, condition);
        if (built !== undefined) conditions.push([pointer, built]);
      }
      toolEntries.push([tool, frozenRecord(conditions)]);
    }
    servers.push([server, frozenRecord(toolEntries)]);
  }
  if (issues.slice(before).some((issue) => issue.severity === 'error')) return undefined;
  return frozenRecord(servers);
}

function parseCondition(c: Context, raw: unknown): ArgumentCondition | undefined {
  if (!isPlainObject(raw)) {
    fail(c, [], `must be an object of conditions (${CONDITION_KEYS.join(', ')}), got ${jsonType(raw)}`);
    return undefined;
  }
  const before = c.issues.length;
  for (const key of Object.keys(raw)) {
    if (!(CONDITION_KEYS as readonly string[]).includes(key)) fail(c, [key], `unknown key "${key}"${suggestionSuffix(key, CONDITION_KEYS)}`);
  }
  const has = (key: ConditionKey) => Object.hasOwn(raw, key);
  const type = readType(c, raw['type']);
  const out: { -readonly [K in keyof ArgumentCondition]: ArgumentCondition[K] } = { type };

  for (const key of ['allow', 'deny'] as const) {
    if (!has(key)) continue;
    const list = raw[key];
    if (!Array.isArray(list)) {
      fail(c, [key], `must be an array of glob patterns, got ${jsonType(list)}`);
      continue;
    }
    if (key === 'allow' && list.length === 0) warn(c, [key], 'empty list: no value is allowed, so every call that has one is refused');
    list.forEach((pattern: unknown, i) => {
      if (typeof pattern !== 'string') return fail(c, [key, i], `must be a glob pattern (a string), got ${jsonType(pattern)}`);
      const problem = globProblem(type, pattern);
      if (problem !== undefined) return fail(c, [key, i], problem);
      if (type === 'url' && canonicalUrlPattern(pattern) !== pattern) {
        warn(c, [key, i], `URL pattern "${pattern}" is matched in its canonical form "${canonicalUrlPattern(pattern)}"`);
      }
      const looksLike = has('type') ? undefined : untypedPatternProblem(pattern);
      if (looksLike !== undefined) warn(c, [key, i], looksLike);
    });
    out[key] = frozenArray(list as string[]);
  }
  for (const key of ['regex', 'deny_regex'] as const) {
    if (!has(key)) continue;
    const source = raw[key];
    if (typeof source !== 'string') {
      fail(c, [key], `must be a regular expression (a string), got ${jsonType(source)}`);
      continue;
    }
    if (source.length > MAX_PATTERN_LENGTH) fail(c, [key], `is longer than ${MAX_PATTERN_LENGTH} characters`);
    const problem = regexProblem(source);
    if (problem !== undefined) fail(c, [key], problem);
    out[key] = source;
  }
  if (has('enum')) readEnum(c, raw['enum'], type, out);
  for (const key of ['minimum', 'maximum'] as const) {
    if (!has(key)) continue;
    const value = raw[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) fail(c, [key], `must be a number, got ${jsonType(value)}`);
    else out[key] = value;
  }
  if (out.minimum !== undefined && out.maximum !== undefined && out.minimum > out.maximum) {
    fail(c, ['minimum'], `minimum ${out.minimum} is greater than maximum ${out.maximum}, so no value can be in range (swap them?)`);
  }
  for (const key of ['absent', 'required'] as const) {
    if (!has(key)) continue;
    if (typeof raw[key] !== 'boolean') fail(c, [key], `must be a boolean (true or false), got ${jsonType(raw[key])}`);
  }
  if (raw['absent'] === false) fail(c, ['absent'], '"absent": false checks nothing; remove it (use "required": true to demand a value)');
  if (raw['absent'] === true) {
    const others = Object.keys(raw).filter((key) => key !== 'absent' && (CONDITION_KEYS as readonly string[]).includes(key));
    if (others.length > 0)
      fail(c, ['absent'], `"absent": true cannot be combined with ${others.map((k) => `"${k}"`).join(', ')}: an absent value has nothing to check`);
    out.absent = true;
  }
  if (raw['required'] === true) out.required = true;
  combinationProblems(c, has, type);
  // A "path" or "url" type alone still normalizes the value and refuses one without a normal form.
  if (Object.keys(raw).length === 0 || (Object.keys(raw).length === 1 && raw['type'] === 'string'))
    warn(c, [], 'checks nothing: add a condition, or remove the entry');
  return c.issues.slice(before).some((issue) => issue.severity === 'error') ? undefined : Object.freeze(out);
}

function readType(c: Context, raw: unknown): ArgumentValueType {
  if (raw === undefined) return 'string';
  if (typeof raw === 'string' && (TYPES as readonly string[]).includes(raw)) return raw as ArgumentValueType;
  const hint = typeof raw === 'string' ? suggestionSuffix(raw, TYPES) : '';
  fail(c, ['type'], `must be one of ${TYPES.map((t) => `"${t}"`).join(', ')}, got ${typeof raw === 'string' ? JSON.stringify(raw) : jsonType(raw)}${hint}`);
  return 'string';
}

/** Compiled as the policy compiles it: with the `u` flag, which also rejects escapes that mean nothing. */
function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source, 'u');
    return undefined;
  } catch (err) {
    return `is not a valid regular expression with the "u" flag: ${(err as Error).message}`;
  }
}

function readEnum(c: Context, list: unknown, type: ArgumentValueType, out: { enum?: readonly unknown[] }): void {
  if (!Array.isArray(list)) return fail(c, ['enum'], `must be an array of JSON values, got ${jsonType(list)}`);
  if (list.length === 0) return fail(c, ['enum'], 'is empty, so no value could ever be allowed; list the allowed values, or use "absent": true');
  if (type !== 'string') {
    list.forEach((value: unknown, i) => {
      if (typeof value !== 'string') fail(c, ['enum', i], `must be a string, as a "${type}" value is, got ${jsonType(value)}`);
      else if (type === 'path' && (!value.startsWith('/') || /%[0-9A-Fa-f]{2}/.test(value))) {
        fail(c, ['enum', i], `"${value}" can never equal a path value: those are absolute, without percent-escapes`);
      }
    });
  }
  out.enum = frozenArray(list);
}

/** Conditions that no value can meet together, or that cannot apply to the type. */
function combinationProblems(c: Context, has: (key: ConditionKey) => boolean, type: ArgumentValueType): void {
  const strings = STRING_KEYS.filter(has);
  const numbers = NUMBER_KEYS.filter(has);
  if (numbers.length > 0 && type !== 'string') fail(c, [numbers[0]!], `"${numbers[0]}" applies to numbers, but "type" is "${type}"`);
  else if (numbers.length > 0 && strings.length > 0) {
    fail(c, [numbers[0]!], `"${numbers[0]}" checks a number and "${strings[0]}" a string: no value can be both, so every call would be refused`);
  }
}
