// The parts of a request and a result that describe the exchange rather than its content.
// Going down: the calling client's `_meta` (trace context always; its capabilities, under a
// reserved io.modelcontextprotocol/ key, only where the server reads them per request).
// Coming back: the downstream's own identity and cache hints, which describe the gateway's
// link to it, not what the gateway tells its clients.

import { LOG_LEVEL_META_KEY, type LoggingLevel } from '@modelcontextprotocol/client';
import type { ProtocolEra } from './negotiation.js';
import { RESERVED_META_PREFIX } from '../toolResultShape.js';
import { isPlainObject } from '../values.js';

/** Result fields a 2026 server adds to list and read results (SEP-2549). */
const CACHE_HINT_FIELDS = ['ttlMs', 'cacheScope'] as const;

/**
 * The `_meta` for a request to a server reached in `era`: a 2025 server learned the
 * client's capabilities at initialize, so the reserved keys are left out for it.
 */
export function outgoingMeta(meta: Readonly<Record<string, unknown>>, era: ProtocolEra | undefined): Record<string, unknown> {
  if (era === 'modern') return { ...meta };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (!key.startsWith(RESERVED_META_PREFIX)) out[key] = value;
  }
  return out;
}

/** `params` with `meta` merged into its `_meta` (meta wins), for a server reached in `era`. */
export function withMeta(
  params: Record<string, unknown> | undefined,
  meta: Readonly<Record<string, unknown>> | undefined,
  era: ProtocolEra | undefined,
  logLevel?: LoggingLevel,
): Record<string, unknown> | undefined {
  // logging/setLevel is gone from 2026-07-28: the level rides in each request instead.
  const level = era === 'modern' && logLevel !== undefined ? { [LOG_LEVEL_META_KEY]: logLevel } : undefined;
  if (meta === undefined && level === undefined) return params;
  const own = isPlainObject(params?.['_meta']) ? params['_meta'] : {};
  return { ...params, _meta: { ...own, ...(meta === undefined ? {} : outgoingMeta(meta, era)), ...level } };
}

/**
 * `result` without the reserved `_meta` keys (the downstream's serverInfo) and without cache
 * hints. `resultType` stays: on an input_required result it is what the result is.
 */
export function stripEnvelope<T>(result: T): T {
  if (!isPlainObject(result)) return result;
  const meta = result['_meta'];
  const reserved = isPlainObject(meta) ? Object.keys(meta).filter((key) => key.startsWith(RESERVED_META_PREFIX)) : [];
  // A task's ttlMs (tasks extension) is how long the server keeps it, not a cache hint.
  const hints = 'taskId' in result ? [] : CACHE_HINT_FIELDS.filter((field) => field in result);
  if (reserved.length === 0 && hints.length === 0) return result;
  const out: Record<string, unknown> = { ...result };
  for (const field of hints) delete out[field];
  if (reserved.length > 0 && isPlainObject(meta)) {
    const kept = { ...meta };
    for (const key of reserved) delete kept[key];
    if (Object.keys(kept).length > 0) out['_meta'] = kept;
    else delete out['_meta'];
  }
  return out as T;
}
