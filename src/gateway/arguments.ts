import { GatewayError } from '../errors.js';

// Meta-tool arguments arrive from a model: validate by hand so every message names the
// field and says what was expected. Unknown extra keys are ignored.

export type Args = Readonly<Record<string, unknown>>;

/** What a caller calls the gateway's argument fields where its words differ (REST: `service` for `server`). */
export type FieldNames = Readonly<Partial<Record<string, string>>>;

export function asArgs(raw: unknown): Args {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('arguments', 'must be an object');
  return raw as Args;
}

export function requiredString(args: Args, field: string, hint: string, names?: FieldNames): string {
  const value = args[field];
  if (value === undefined || value === null || value === '') throw invalid(field, `is required (${hint})`, names);
  if (typeof value !== 'string') throw invalid(field, `must be a string, got ${typeOf(value)}`, names);
  return value;
}

export function optionalString(args: Args, field: string): string | undefined {
  const value = args[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(field, `must be a string, got ${typeOf(value)}`);
  return value;
}

export function optionalBoolean(args: Args, field: string): boolean {
  const value = args[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalid(field, `must be true or false, got ${typeOf(value)}`);
  return value;
}

export function optionalInteger(args: Args, field: string, min: number): number | undefined {
  const value = args[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(field, `must be an integer, got ${typeOf(value)}`);
  if (value < min) throw invalid(field, `must be at least ${min}, got ${value}`);
  return value;
}

export function optionalObject(args: Args, field: string, names?: FieldNames): Record<string, unknown> {
  const value = args[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(field, `must be an object, got ${typeOf(value)}`, names);
  return value as Record<string, unknown>;
}

/** `names` is a comma-separated string in the reference's contract; an array is accepted too. */
export function optionalNameList(args: Args, field: string): string[] | undefined {
  const value = args[field];
  if (value === undefined || value === null) return undefined;
  let parts: unknown[];
  if (typeof value === 'string') parts = value.split(',');
  else if (Array.isArray(value)) parts = value;
  else throw invalid(field, `must be a comma-separated string or an array of strings, got ${typeOf(value)}`);
  const names: string[] = [];
  for (const [i, part] of parts.entries()) {
    if (typeof part !== 'string') throw invalid(`${field}[${i}]`, `must be a string, got ${typeOf(part)}`);
    const trimmed = part.trim();
    if (trimmed !== '') names.push(trimmed);
  }
  return names.length === 0 ? undefined : names;
}

export function invalid(field: string, message: string, names?: FieldNames): GatewayError {
  return new GatewayError('INVALID_ARGUMENT', `Invalid argument '${names?.[field] ?? field}': ${message}`);
}

/** The JSON type of a value for "got ..." messages (the value itself is never echoed). */
export function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
