// The body of a POST /mcp, read before the SDK's transport sees it, so that the gateway can
// count what it asks for (a tools/call costs one unit of the `call` rate-limit class, as
// REST's POST /services/:name/call does) and refuse what it will not serve:
//
// - a JSON-RPC batch (an array): the protocol versions served here dropped batching in
//   2025-06-18; one batch of a hundred tools/call must not pass as one request;
// - JSON nested deeper than MAX_MESSAGE_DEPTH.
//
// Refusals are JSON-RPC errors, as the SDK's own are. A body that is not JSON by its
// Content-Type is refused here too (415), so the SDK never reads a body itself.
import type { IncomingMessage } from 'node:http';
import { isJsonContentType, parseJsonText, readBody } from './body.js';

export type McpBody =
  /** `value`: the parsed message; `method`: its method when it is a request or notification. */
  | { readonly ok: true; readonly value: unknown; readonly method: string | undefined }
  | { readonly ok: false; readonly status: number; readonly rpcCode: number; readonly message: string };

/** JSON-RPC "Invalid Request" and "Parse error". */
const INVALID_REQUEST = -32600;
const PARSE_ERROR = -32700;
/** What the SDK's transport answers its own HTTP-level refusals with. */
const SERVER_ERROR = -32000;

/** Throws HttpError 413 over `maxBytes`. */
export async function readMcpBody(req: IncomingMessage, maxBytes: number): Promise<McpBody> {
  if (!isJsonContentType(req.headers['content-type'])) {
    return { ok: false, status: 415, rpcCode: SERVER_ERROR, message: 'Unsupported Media Type: Content-Type must be application/json' };
  }
  const parsed = parseJsonText((await readBody(req, maxBytes)).toString('utf8'));
  if (!parsed.ok) {
    const depth = parsed.reason === 'depth';
    return { ok: false, status: 400, rpcCode: depth ? INVALID_REQUEST : PARSE_ERROR, message: `${depth ? 'Invalid Request' : 'Parse error'}: ${parsed.message}` };
  }
  const value = parsed.value;
  if (Array.isArray(value)) {
    return { ok: false, status: 400, rpcCode: INVALID_REQUEST, message: 'Invalid Request: JSON-RPC batches are not supported; send one message per request' };
  }
  const method =
    value !== null && typeof value === 'object' && typeof (value as { method?: unknown }).method === 'string' ? (value as { method: string }).method : undefined;
  return { ok: true, value, method };
}
