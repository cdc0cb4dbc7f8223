// Response helpers of the HTTP mode: the error body `{error, code}` and the security headers
// every response carries (raw ones included). The status of each gateway error code is in
// CODE_MEANINGS (errors.ts).
import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';

/** Codes of the HTTP layer itself, besides the gateway's tool-error codes (src/errors.ts). */
export type HttpErrorCode =
  | ErrorCode
  | 'UNAUTHENTICATED'
  | 'INSUFFICIENT_SCOPE'
  | 'FORBIDDEN_ORIGIN'
  | 'FORBIDDEN_HOST'
  | 'NOT_FOUND'
  | 'SESSION_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'SHUTTING_DOWN'
  | 'REQUEST_TIMEOUT'
  | 'HEADERS_TOO_LARGE';

/** An HTTP answer that is not a success; thrown by handlers, written by the pipeline. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: HttpErrorCode;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;

  constructor(status: number, code: HttpErrorCode, message: string, headers: Record<string, string | readonly string[]> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export interface SecurityHeaderOptions {
  readonly tls: boolean;
}

// Built once: every request sets them, so none builds them again.
const PLAIN_HEADERS: readonly (readonly [string, string])[] = Object.freeze([
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
  ['Referrer-Policy', 'no-referrer'],
  ['Cache-Control', 'no-store'],
] as const);
const TLS_HEADERS: readonly (readonly [string, string])[] = Object.freeze([
  ...PLAIN_HEADERS,
  ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'] as const,
]);
const PLAIN_LIST: readonly string[] = Object.freeze(PLAIN_HEADERS.flat());
const TLS_LIST: readonly string[] = Object.freeze(TLS_HEADERS.flat());

/** The security headers of every answer, whoever writes it. */
function securityHeaders(options: SecurityHeaderOptions): readonly (readonly [string, string])[] {
  return options.tls ? TLS_HEADERS : PLAIN_HEADERS;
}

/** The same, as the flat name, value, name, value... list writeHead takes. */
export function securityHeaderList(options: SecurityHeaderOptions): readonly string[] {
  return options.tls ? TLS_LIST : PLAIN_LIST;
}

/** Set on a response that someone else writes (the SDK's /mcp answers, /metrics), before anything else. */
export function setSecurityHeaders(res: ServerResponse, options: SecurityHeaderOptions): void {
  for (const [name, value] of securityHeaders(options)) res.setHeader(name, value);
}

/**
 * Moves a flat name, value... list onto a response that another writer will answer. The list
 * is emptied: what is set on the response from then on (a later limiter's headers) is not
 * overwritten by the same list again if an error answer follows.
 */
export function moveHeaderList(res: ServerResponse, list: string[]): void {
  for (let i = 0; i < list.length; i += 2) res.setHeader(list[i]!, list[i + 1]!);
  list.length = 0;
}

/**
 * A whole HTTP/1.1 answer as bytes for a socket, for a request Node could not parse (no
 * ServerResponse exists then): the error body, the security headers, and the connection closed.
 */
export function rawErrorResponse(statusLine: string, code: HttpErrorCode, message: string, options: SecurityHeaderOptions): string {
  const body = JSON.stringify({ error: message, code });
  const headers: (readonly [string, string])[] = [
    ['Content-Type', 'application/json'],
    ...securityHeaders(options),
    ['Content-Length', String(Buffer.byteLength(body))],
    ['Connection', 'close'],
  ];
  return `HTTP/1.1 ${statusLine}\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${body}`;
}

const NO_HEADERS: Readonly<Record<string, string | readonly string[]>> = Object.freeze({});

/** A JSON answer for a response whose other headers (the security headers first) are already set on it. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | readonly string[]> = {}): void {
  writeJson(res, status, body, [], headers);
}

/**
 * A JSON answer in one writeHead and one end: `head` (a flat name, value... list: the security
 * headers, the limiter's) and then `headers`, which replace a `head` entry of the same name.
 * Headers already set on `res` stay unless replaced; Node merges both (writeHead).
 */
export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  head: readonly string[],
  headers: Readonly<Record<string, string | readonly string[]>> = NO_HEADERS,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  const list: (string | readonly string[])[] = [];
  let replaced: Set<string> | undefined;
  for (const name in headers) (replaced ??= new Set()).add(name.toLowerCase());
  for (let i = 0; i < head.length; i += 2) if (replaced === undefined || !replaced.has(head[i]!.toLowerCase())) list.push(head[i]!, head[i + 1]!);
  for (const name in headers) list.push(name, headers[name]!);
  list.push('Content-Type', 'application/json; charset=utf-8', 'Content-Length', String(Buffer.byteLength(text)));
  res.writeHead(status, list as string[]);
  res.end(text);
}

/** Seconds a 429 without a more precise Retry-After asks the client to wait (a per-identity cap: until one of its sessions ends). */
const DEFAULT_RETRY_AFTER_S = '5';

/** An error answer; `head` as writeJson's. */
export function sendError(res: ServerResponse, err: HttpError, head: readonly string[] = []): void {
  // Every 429 says when to come back, whichever layer refused.
  const headers: Record<string, string | readonly string[]> = { ...err.headers };
  if (err.status === 429 && !('Retry-After' in headers) && !res.hasHeader('Retry-After') && !head.includes('Retry-After')) {
    headers['Retry-After'] = DEFAULT_RETRY_AFTER_S;
  }
  writeJson(res, err.status, { error: err.message, code: err.code }, head, headers);
}

/** A JSON-RPC error answer on /mcp (no request id: the message was refused before it was read as one). */
export function sendJsonRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}
