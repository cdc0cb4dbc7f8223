import type { CallToolResult } from '@modelcontextprotocol/server';
import type { ToolAnswer } from './calls/toolAnswer.js';
import { GatewayError } from '../errors.js';
import { errorMessage } from '../values.js';
import type { CallOutcome } from './calls/request.js';

/**
 * A gateway-made result: the object as structuredContent and the same JSON as text. A
 * caller that already has the JSON (built from cached pieces) passes it as `json`, which
 * must equal JSON.stringify(value).
 */
export function jsonResult(value: Record<string, unknown>, json?: string): CallToolResult {
  return { content: [{ type: 'text', text: json ?? JSON.stringify(value) }], structuredContent: value };
}

/** A gateway-made error the model can read: isError, the message as text, and a stable code. */
export function errorResult(err: GatewayError): CallToolResult {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details.rule !== undefined) error['rule'] = err.details.rule;
  if (err.details.server !== undefined) error['server'] = err.details.server;
  if (err.details.tool !== undefined) error['tool'] = err.details.tool;
  return { isError: true, content: [{ type: 'text', text: err.message }], structuredContent: { error } };
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const message = errorMessage(err);
  return new GatewayError('INTERNAL_ERROR', `Internal gateway error: ${message}`, {}, { cause: err });
}

/** A call's outcome as tools/call answers it; a cancelled call and a protocol error have no result. */
export function toolResult<T extends ToolAnswer>(outcome: CallOutcome<T>): T | CallToolResult {
  switch (outcome.kind) {
    case 'value':
      return outcome.value;
    case 'failed':
      return errorResult(outcome.error);
    case 'cancelled':
      throw outcome.reason;
    case 'protocol':
      throw outcome.error;
  }
}
