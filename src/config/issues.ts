import * as z from 'zod';
import { formatPath, type PathSegment } from './jsonPath.js';
import { suggestionSuffix } from './suggest.js';
import type { ConfigIssue } from './types.js';
import { isPlainObject } from '../values.js';

// Zod checks the shapes; this file turns its findings into our messages and paths. Zod's
// own texts ("Invalid input: expected record, received undefined") speak about the parser,
// not about the user's file, and its unknown-key report lumps all keys into one issue with
// no suggestion.

export function configError(path: readonly PathSegment[], message: string): ConfigIssue {
  return { severity: 'error', path: formatPath(path), message };
}

export function configWarning(path: readonly PathSegment[], message: string): ConfigIssue {
  return { severity: 'warning', path: formatPath(path), message };
}

export function hasErrors(issues: readonly ConfigIssue[]): boolean {
  return issues.some((issue) => issue.severity === 'error');
}

/** Stable-sorts issues by the position of their top-level key in the file, so they read top to bottom. */
export function inDocumentOrder(issues: readonly ConfigIssue[], raw: Record<string, unknown>): ConfigIssue[] {
  const keys = Object.keys(raw).map((key) => formatPath([key]));
  const rank = (path: string): number => {
    if (path === '') return -1;
    const at = keys.findIndex((key) => path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`));
    return at < 0 ? keys.length : at;
  };
  return [...issues].sort((a, b) => rank(a.path) - rank(b.path));
}

/** The JSON type of a value, with its article, for "got ..." messages. Values are never echoed: they may be secrets. */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(value) ? 'an integer' : 'a number';
    case 'boolean':
      return `${value}`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'a boolean (true or false)',
  array: 'an array',
  object: 'an object',
  record: 'an object',
};

/**
 * Converts a failed safeParse of `schema` on `input` into issues under `base`.
 * Schemas used here must give every refinement (min, max, ...) its own `error` text:
 * those messages are passed through as written.
 */
export function fromZodError(error: z.ZodError, schema: z.ZodType, input: unknown, base: readonly PathSegment[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const relative = issue.path.map(toSegment);
    const path = [...base, ...relative];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownKeys(schema, relative);
        for (const key of issue.keys) {
          out.push(configError([...path, key], `unknown key "${key}"${suggestionSuffix(key, known)}`));
        }
        break;
      }
      case 'invalid_type': {
        const actual = valueAt(input, relative);
        const last = relative[relative.length - 1];
        if (actual === undefined) {
          out.push(configError(path, typeof last === 'string' ? `required key "${last}" is missing` : 'is required'));
        } else {
          const expected = EXPECTED[issue.expected] ?? issue.expected;
          out.push(configError(path, `must be ${expected}, got ${jsonType(actual)}`));
        }
        break;
      }
      case 'invalid_value': {
        const actual = valueAt(input, relative);
        const options = issue.values.map((v) => JSON.stringify(v));
        const got = typeof actual === 'string' ? JSON.stringify(actual) : jsonType(actual);
        const hint =
          typeof actual === 'string'
            ? suggestionSuffix(
                actual,
                issue.values.filter((v): v is string => typeof v === 'string'),
              )
            : '';
        out.push(configError(path, `must be one of ${options.join(', ')}, got ${got}${hint}`));
        break;
      }
      default:
        out.push(configError(path, issue.message));
    }
  }
  return out;
}

function toSegment(key: PropertyKey): PathSegment {
  return typeof key === 'symbol' ? String(key) : key;
}

function valueAt(input: unknown, path: readonly PathSegment[]): unknown {
  let current = input;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (isPlainObject(current) && Object.hasOwn(current, segment)) current = current[segment];
    else return undefined;
  }
  return current;
}

/** The keys an object schema accepts at `path`, so an unknown key can be matched against them. */
function knownKeys(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let current: unknown = schema;
  for (const segment of path) {
    current = unwrapOptional(current);
    if (current instanceof z.ZodObject) {
      const shape = current.shape as Record<string, unknown>;
      current = Object.hasOwn(shape, segment) ? shape[segment] : undefined;
    } else if (current instanceof z.ZodRecord) {
      current = current.valueType;
    } else if (current instanceof z.ZodArray) {
      current = current.element;
    } else {
      return [];
    }
  }
  current = unwrapOptional(current);
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrapOptional(schema: unknown): unknown {
  let current = schema;
  while (current instanceof z.ZodOptional) current = current.unwrap();
  return current;
}
