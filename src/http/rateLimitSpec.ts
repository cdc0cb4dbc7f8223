// Rate-limit settings as SignalWire's gateway writes them: the notation of the Python
// `limits` library that flask-limiter uses ("200 per day", "30 per minute", "10/second",
// lists joined by ";", "," or "|"). Pure: no I/O, no process, no limiter library.

import { redactUrl } from '../redact.js';

/** The route classes that carry their own limits (SignalWire's default, tools, call, session_delete). */
export type RouteClass = 'default' | 'tools' | 'call' | 'session_delete';

export const ROUTE_CLASSES: readonly RouteClass[] = ['default', 'tools', 'call', 'session_delete'];

/** One quota: at most `limit` requests per fixed window of `windowSeconds`. */
export interface RateLimitRule {
  readonly limit: number;
  readonly windowSeconds: number;
  /** Normalized notation, e.g. "30 per minute", "10 per 2 hours" (for logs and docs). */
  readonly text: string;
}

/** A rate-limit setting that cannot be used; the message names the setting. */
export class RateLimitSpecError extends Error {
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'RateLimitSpecError';
    this.field = field;
  }
}

const UNIT_SECONDS = { second: 1, minute: 60, hour: 3600, day: 86_400 } as const;
type Unit = keyof typeof UNIT_SECONDS;

/** The in-memory store times windows with setTimeout, whose longest delay is 2^31-1 ms (~24.8 days). */
export const MAX_WINDOW_SECONDS = 24 * 86_400;
const MAX_LIMIT = 1_000_000_000;

// One item of the list, as `limits` accepts it: amount, "/" or "per", an optional
// multiplier, a unit with an optional plural "s". Case-insensitive, spaces optional.
const ITEM = /^(\d+)\s*(?:\/|per)\s*(?:(\d+)\s*)?([a-z]+?)s?$/i;
const SEPARATORS = /[;,|]/;
const EXPECTED = '"<n> per second|minute|hour|day" (or "<n>/minute", "<n> per <m> hours"; lists separated by ";")';

/**
 * Parses one setting: a string with one or more items, or a list of such strings (the form
 * of SignalWire's `default_limits`). Throws RateLimitSpecError naming `field` (the flag,
 * env var or config path the value came from). Exact duplicates are dropped, since they
 * would count each request twice against the same quota.
 *
 * Accepted as `limits` does: "30 per minute", "30/minute", "30 per minutes", "30 PER
 * MINUTE", "10 per 2 hours", "10/2minute". Not accepted: month and year (`limits` has them,
 * but its month is 30 days and its year 360; windows here stay within 24 days), zero, and
 * anything else.
 */
export function parseRateLimits(spec: string | readonly string[], field: string): RateLimitRule[] {
  const parts: Array<{ text: string; where: string }> = [];
  if (typeof spec === 'string') {
    parts.push({ text: spec, where: field });
  } else if (Array.isArray(spec)) {
    if (spec.length === 0) throw new RateLimitSpecError(field, `an empty list sets no limit; expected ${EXPECTED}`);
    spec.forEach((text: unknown, i) => {
      if (typeof text !== 'string') throw new RateLimitSpecError(`${field}[${i}]`, `expected a string like ${EXPECTED}`);
      parts.push({ text, where: `${field}[${i}]` });
    });
  } else {
    throw new RateLimitSpecError(field, `expected a string like ${EXPECTED}`);
  }

  const rules: RateLimitRule[] = [];
  for (const part of parts) {
    const items = part.text.split(SEPARATORS).map((s) => s.trim());
    if (items.every((s) => s === '')) throw new RateLimitSpecError(part.where, `empty; expected ${EXPECTED}`);
    for (const item of items) {
      if (item === '') throw new RateLimitSpecError(part.where, `"${part.text}" has an empty item; expected ${EXPECTED}`);
      const rule = parseItem(item, part.where);
      if (!rules.some((r) => r.limit === rule.limit && r.windowSeconds === rule.windowSeconds)) rules.push(rule);
    }
  }
  return rules;
}

function parseItem(item: string, where: string): RateLimitRule {
  const m = ITEM.exec(item);
  const unit = m?.[3]?.toLowerCase();
  if (!m || unit === undefined || !isUnit(unit)) {
    const hint = unit === 'month' || unit === 'year' ? ` (${unit} windows are not supported)` : '';
    throw new RateLimitSpecError(where, `"${item}" is not ${EXPECTED}${hint}`);
  }
  const limit = Number(m[1]);
  const multiple = m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new RateLimitSpecError(where, `"${item}": the amount must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  if (!Number.isSafeInteger(multiple) || multiple < 1) {
    throw new RateLimitSpecError(where, `"${item}": the window multiplier must be a whole number of at least 1`);
  }
  const windowSeconds = multiple * UNIT_SECONDS[unit];
  if (windowSeconds > MAX_WINDOW_SECONDS) {
    throw new RateLimitSpecError(where, `"${item}": windows longer than 24 days are not supported`);
  }
  const text = multiple === 1 ? `${limit} per ${unit}` : `${limit} per ${multiple} ${unit}s`;
  return Object.freeze({ limit, windowSeconds, text });
}

function isUnit(s: string): s is Unit {
  return Object.hasOwn(UNIT_SECONDS, s);
}

/** The IETF RateLimit-Policy item of one rule: "30;w=60". */
export function policyItem(rule: RateLimitRule): string {
  return `${rule.limit};w=${rule.windowSeconds}`;
}

/**
 * Defaults, per authenticated identity (per client IP before authentication). SignalWire's
 * (200/day and 50/hour per endpoint, 10 calls/minute, all per client IP) stop a single
 * voice-agent host after ten tool calls a minute across all its phone calls, and fail its
 * own docker health check after 50 probes an hour. Ours assume one identity may be a whole
 * fleet sharing a credential: 1200 calls a minute is 20 per second, e.g. 100 concurrent
 * conversations each calling a tool every 5 seconds. Only per-minute windows, so a burst
 * costs at most a minute of waiting, never a day. They still stop a runaway loop or a
 * credential-stuffing client within a minute.
 */
export const DEFAULT_RATE_LIMIT_SPECS: Readonly<Record<RouteClass, string>> = Object.freeze({
  default: '6000 per minute',
  tools: '3000 per minute',
  call: '1200 per minute',
  session_delete: '600 per minute',
});

/** DEFAULT_RATE_LIMIT_SPECS, parsed. */
export const DEFAULT_RATE_LIMITS: Readonly<Record<RouteClass, readonly RateLimitRule[]>> = Object.freeze({
  default: parseRateLimits(DEFAULT_RATE_LIMIT_SPECS.default, 'default'),
  tools: parseRateLimits(DEFAULT_RATE_LIMIT_SPECS.tools, 'tools'),
  call: parseRateLimits(DEFAULT_RATE_LIMIT_SPECS.call, 'call'),
  session_delete: parseRateLimits(DEFAULT_RATE_LIMIT_SPECS.session_delete, 'session_delete'),
});

/** Where counters live. `display` is the URL without user name or password: the only form that may be logged. */
export type RateLimitStorage = { readonly kind: 'memory'; readonly display: 'memory' } | { readonly kind: 'redis'; readonly url: string; readonly display: string };

/**
 * Parses the storage setting: "memory" or "memory://" (SignalWire's default), or a
 * redis:// / rediss:// URL (user, password, host, port, /db as ioredis reads them). The
 * error never repeats the value, which may hold a password.
 */
export function parseRateLimitStorage(spec: string, field: string): RateLimitStorage {
  const s = spec.trim();
  if (s === '' || s === 'memory' || s === 'memory://') return { kind: 'memory', display: 'memory' };
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new RateLimitSpecError(field, 'expected "memory" or a redis://[user:password@]host[:port][/db] URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new RateLimitSpecError(field, `unsupported scheme "${url.protocol}"; expected "memory", redis:// or rediss://`);
  }
  if (url.hostname === '') throw new RateLimitSpecError(field, 'the redis URL has no host');
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d+$/.test(url.pathname)) {
    throw new RateLimitSpecError(field, 'the redis URL path must be a database number, e.g. redis://host:6379/0');
  }
  // Shown without credentials or query; the database number stays, a bare "/" goes.
  return { kind: 'redis', url: s, display: redactUrl(url).replace(/\/$/, '') };
}
