// Which tools/call results, and which `_meta` objects, are known to pass the protocol's schemas
// without parsing them against them (imports nothing but values.ts, so both directions of the
// call path use it).
//
// Why: the SDK parses every result with zod on the client side and again on the server side,
// and that parse is a large share of what a relayed call costs. Almost every result is a list
// of text blocks with an optional isError, structuredContent or _meta: for those the schema can
// only agree, and its output is the value itself (its keys perhaps in another order). Anything
// else (another block type, a block with annotations, a key the common shape lacks, a reserved
// _meta key, an own `__proto__` key) is left to the schema, so no result is ever accepted that
// the schema would refuse or change.

import { isPlainObject } from './values.js';

const RESULT_KEYS = new Set(['content', 'structuredContent', 'isError', '_meta']);
const TEXT_BLOCK_KEYS = new Set(['type', 'text', '_meta']);
/** Keys the specification reserves in `_meta` (serverInfo, clientCapabilities, ...): their values have shapes the schema checks. */
export const RESERVED_META_PREFIX = 'io.modelcontextprotocol/';

/** True when `result` is a tools/call result of the common shape (see above); false: ask the schema. */
export function isPlainToolResult(result: Record<string, unknown>): boolean {
  if (!hasOnlyKeys(result, RESULT_KEYS)) return false;
  const content = result['content'];
  if (!Array.isArray(content)) return false;
  for (const block of content) {
    if (!isPlainObject(block) || block['type'] !== 'text' || typeof block['text'] !== 'string') return false;
    if (!hasOnlyKeys(block, TEXT_BLOCK_KEYS) || !isOptionalMeta(block['_meta'])) return false;
  }
  if (result['isError'] !== undefined && typeof result['isError'] !== 'boolean') return false;
  const structured = result['structuredContent'];
  // The schema reads it as a record, which drops an own `__proto__` key.
  if (structured !== undefined && (!isPlainObject(structured) || Object.hasOwn(structured, '__proto__'))) return false;
  return isOptionalMeta(result['_meta']);
}

/** Own keys all in `keys`; an own `__proto__` key (JSON.parse makes one) is never among them. */
export function hasOnlyKeys(value: Record<string, unknown>, keys: ReadonlySet<string>): boolean {
  for (const key in value) if (!keys.has(key)) return false;
  return !Object.hasOwn(value, '__proto__');
}

/** `_meta` as the schema takes it unchanged: no reserved key, no `__proto__`, a string or integer progress token. */
export function isPlainMeta(meta: unknown): meta is Record<string, unknown> {
  if (!isPlainObject(meta) || Object.hasOwn(meta, '__proto__')) return false;
  for (const key in meta) if (key.startsWith(RESERVED_META_PREFIX)) return false;
  const token = meta['progressToken'];
  return token === undefined || typeof token === 'string' || (typeof token === 'number' && Number.isSafeInteger(token));
}

function isOptionalMeta(meta: unknown): boolean {
  return meta === undefined || isPlainMeta(meta);
}
