// SEP-2243: a tool may mark string parameters with `x-mcp-header: <Name>`; a 2026 client over
// HTTP then mirrors each such argument into an `Mcp-Param-<Name>` request header, so that
// proxies can route on it, and the server must check that the header says what the body says
// (a header that disagrees, is missing while the body has the value, or is not valid Base64 in
// its `=?base64?...?=` form is refused with -32020, HTTP 400). The SDK checks only the fixed
// routing headers; these depend on the tools the caller was offered, which only the gateway
// knows.

import type { Tool } from '@modelcontextprotocol/server';
import { isPlainObject } from '../values.js';

/** JSON-RPC's HeaderMismatch (SEP-2243): the SDK answers it with HTTP 400. */
export const HEADER_MISMATCH = -32020;

// A header name token (RFC 9110) without the characters SEP-2243 forbids; anything else is not a mirror to check.
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const BASE64_WRAPPED = /^=\?base64\?(.*)\?=$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why the `Mcp-Param-*` headers of a call disagree with its arguments, or undefined when they agree. */
export function paramHeaderProblem(tool: Tool | undefined, args: unknown, headers: Headers): string | undefined {
  const properties = tool?.inputSchema.properties;
  if (!isPlainObject(properties)) return undefined;
  const values = isPlainObject(args) ? args : {};
  for (const [param, schema] of Object.entries(properties)) {
    const name = isPlainObject(schema) ? schema['x-mcp-header'] : undefined;
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) continue;
    const value = values[param];
    const header = headers.get(`mcp-param-${name}`);
    if (value === undefined || value === null) continue;
    const expected = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    if (expected === undefined) continue;
    if (header === null) return `the body carries ${param} but the Mcp-Param-${name} header is absent`;
    const decoded = decodeHeader(header);
    if (decoded === undefined) return `the Mcp-Param-${name} header is not valid Base64`;
    if (decoded !== expected) return `the Mcp-Param-${name} header does not match ${param} in the body`;
  }
  return undefined;
}

/** A header value as SEP-2243 reads it: Base64 inside `=?base64?...?=`, else the literal text. */
function decodeHeader(value: string): string | undefined {
  const wrapped = BASE64_WRAPPED.exec(value);
  if (!wrapped) return value;
  const encoded = wrapped[1]!;
  if (!BASE64.test(encoded)) return undefined;
  return Buffer.from(encoded, 'base64').toString('utf8');
}
