// Request params are checked against the SDK's schema before the SDK sees the request.
//
// Why: the SDK parses a request's params inside its handler wrapper, and a failed parse
// becomes -32603 Internal error carrying zod's JSON dump of the issues (for tools/call,
// -32602 with the same dump). A client that sent `"arguments": "x"` must get -32602 with a
// message naming the field, over stdio and over HTTP alike.

import { isJSONRPCRequest, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { Transport, JSONRPCMessage } from '@modelcontextprotocol/server';
import { typeOf } from './arguments.js';

interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly expected?: string;
  readonly errors?: readonly (readonly Issue[])[];
}

/** What `safeParse` of a zod 4 schema returns, as far as this file reads it. */
export interface ParamsSchema {
  safeParse(value: unknown): { success: true } | { success: false; error: { issues: readonly Issue[] } };
}

/**
 * After `connect(transport)`: requests whose method has a schema in `schemas` and whose
 * params fail it are answered with -32602 here and never reach the SDK.
 */
export function refuseInvalidParams(transport: Transport, schemas: ReadonlyMap<string, ParamsSchema>): void {
  const deliver = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const problem = isJSONRPCRequest(message) ? invalidParamsMessage(schemas.get(message.method), message) : undefined;
    if (problem === undefined || !isJSONRPCRequest(message)) {
      deliver?.(message, extra);
      return;
    }
    const answer: JSONRPCMessage = { jsonrpc: '2.0', id: message.id, error: { code: ProtocolErrorCode.InvalidParams, message: problem } };
    transport.send(answer).catch((err: unknown) => transport.onerror?.(err as Error));
  };
}

/** "Invalid params: arguments must be an object, got string", or undefined when the request passes. */
export function invalidParamsMessage(schema: ParamsSchema | undefined, request: { method: string; params?: unknown }): string | undefined {
  if (schema === undefined) return undefined;
  const retry = retryProblem(request.params);
  if (retry !== undefined) return `Invalid params: ${retry}`;
  const parsed = schema.safeParse(request);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  return issue === undefined ? 'Invalid params' : `Invalid params: ${describeIssue(issue, request)}`;
}

function describeIssue(issue: Issue, request: unknown): string {
  const path = issue.path[0] === 'params' && issue.path.length > 1 ? issue.path.slice(1) : issue.path;
  const field = path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join('') || 'params';
  const value = valueAt(request, issue.path);
  if (issue.code === 'invalid_type' && issue.expected !== undefined) {
    if (value === undefined) return `${field} is required`;
    return `${field} must be ${noun(issue.expected)}, got ${typeOf(value)}`;
  }
  if (issue.code === 'invalid_union' && issue.errors !== undefined) {
    const expected = issue.errors.flatMap((branch) => branch.filter((i) => i.code === 'invalid_type' && i.path.length === 0).map((i) => i.expected ?? ''));
    if (expected.length === issue.errors.length && expected.every((e) => e !== '')) {
      return `${field} must be ${[...new Set(expected.map(noun))].join(' or ')}, got ${typeOf(value)}`;
    }
  }
  return `${field}: ${issue.message}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function noun(expected: string): string {
  switch (expected) {
    case 'record':
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'boolean':
      return 'true or false';
    case 'int':
    case 'integer':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

/**
 * A 2026 retry's `inputResponses` (an object of answers, each an object) and `requestState`
 * (a string), on any request: a malformed one is refused here, not handed to a downstream.
 */
function retryProblem(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  const record = params as Record<string, unknown>;
  if ('inputResponses' in record) {
    const responses = record['inputResponses'];
    if (typeof responses !== 'object' || responses === null || Array.isArray(responses)) {
      return `inputResponses must be an object, got ${typeOf(responses)}`;
    }
    for (const [key, answer] of Object.entries(responses)) {
      if (typeof answer !== 'object' || answer === null || Array.isArray(answer))
        return `inputResponses.${key.length > 64 ? `${key.slice(0, 64)}…` : key} must be an object, got ${typeOf(answer)}`;
    }
  }
  if ('requestState' in record && typeof record['requestState'] !== 'string') return `requestState must be a string, got ${typeOf(record['requestState'])}`;
  return undefined;
}
