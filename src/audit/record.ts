import { hash } from 'node:crypto';
import type { IdentitySource } from '../policy/types.js';

export type AuditDecision = 'ALLOW' | 'DENY' | 'ERROR' | 'TIMEOUT';

/** How a call that needed a human's approval was decided (gateway/calls/approval.ts). */
export type ApprovalAudit = 'once' | 'session' | 'remembered' | 'denied' | 'unavailable';

/** One line of the audit log: one gateway tool call, whatever its outcome. Field names are a contract. */
export interface AuditRecord {
  readonly ts: string;
  readonly id: string;
  readonly revision?: number;
  readonly agent: string | null;
  /** The agent_id the caller claimed, on calls refused before an identity was settled, and on `sole` calls that named another. */
  readonly requested_agent?: string;
  readonly identity_source: IdentitySource | null;
  readonly operation: string;
  readonly server: string | null;
  readonly tool: string | null;
  readonly decision: AuditDecision;
  readonly code: string | null;
  readonly rule: string | null;
  readonly latency_ms: number;
  readonly arg_keys: readonly string[];
  readonly args_sha256: string | null;
  readonly args?: unknown;
  readonly isError: boolean;
  readonly session_id?: string;
  /** Present on calls that needed a human's approval: what was decided, and how. */
  readonly approval?: ApprovalAudit;
  /** On a pinning event (operation `pin`): the kind of item and what happened to it. */
  readonly pin?: { readonly kind: 'tool' | 'prompt'; readonly event: 'new' | 'changed' | 'too-deep' | 'name-too-long' | 'too-many' | 'removed' | 'trusted' };
}

/** JSON with object keys sorted at every depth, so equal arguments always hash alike. */
export function canonicalJson(value: unknown): string {
  // Most arguments already have their keys in order (one key, or a few written sorted):
  // those need no sorted copy.
  return JSON.stringify(isSorted(value) ? value : sortKeys(value));
}

/** True when JSON.stringify(value) already lists every object's keys sorted. */
function isSorted(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(isSorted);
  // Anything but a plain object (a Date, a Map) takes the original path, whatever that gives.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let previous: string | undefined;
  for (const key of Object.keys(value)) {
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    if (!isSorted((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    // No prototype: a `__proto__` key (JSON.parse makes it an own key) stays a key, and is hashed.
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function hashArgs(args: unknown): string {
  return hash('sha256', canonicalJson(args ?? {}), 'hex');
}

/** The furthest time from 1970 a Date holds, either way. */
const MAX_DATE_MS = 8.64e15;
let lastMs = Number.NaN;
let lastIso = '';
let secondMs = Number.NaN;
/** `YYYY-MM-DDTHH:MM:SS.` of the second that starts at secondMs. */
let secondPrefix = '';

/**
 * `new Date(ms).toISOString()`, formatted once per second: calls within the same second
 * share its text and add only their milliseconds (and those in the same millisecond share the
 * whole string).
 */
export function isoTimestamp(ms: number = Date.now()): string {
  if (ms === lastMs) return lastIso;
  // A fraction of a millisecond, or a time Date cannot hold (never from Date.now()), is left to
  // Date, which truncates the one and throws on the other.
  if (!Number.isInteger(ms) || Math.abs(ms) > MAX_DATE_MS) return new Date(ms).toISOString();
  const remainder = ms % 1000;
  const millis = remainder < 0 ? remainder + 1000 : remainder;
  const second = ms - millis;
  if (second !== secondMs) {
    // Whatever the year's width, the text ends in `mmmZ`.
    secondPrefix = new Date(second).toISOString().slice(0, -4);
    secondMs = second;
  }
  lastMs = ms;
  return (lastIso = secondPrefix + (millis < 10 ? '00' : millis < 100 ? '0' : '') + millis + 'Z');
}
