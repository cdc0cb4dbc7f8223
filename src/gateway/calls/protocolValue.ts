// How a request answered with a value (not a tool result) renders its outcome: the value, or
// a JSON-RPC error. Native reads, prompts, completions and the tasks/* requests share it.
import { CODE_MEANINGS, JSON_RPC_INVALID_PARAMS, type GatewayError } from '../../errors.js';
import { protocolError } from '../../protocolError.js';
import type { CallOutcome } from './request.js';

/**
 * A native request's outcome as the protocol answers it: the value, or a JSON-RPC error. A
 * resource or prompt the agent may not use answers exactly as one that does not exist, so
 * neither can be probed.
 */
export function protocolValue<T>(outcome: CallOutcome<T>, what: { resource?: string; prompt?: string }): T {
  switch (outcome.kind) {
    case 'value':
      return outcome.value;
    case 'cancelled':
      throw outcome.reason;
    case 'protocol':
      throw outcome.error;
    case 'failed':
      throw asProtocolError(outcome.error, what);
  }
}

function asProtocolError(error: GatewayError, what: { resource?: string; prompt?: string }): Error {
  const meaning = CODE_MEANINGS[error.code];
  if (meaning.hidesTarget && what.resource !== undefined) {
    return protocolError(JSON_RPC_INVALID_PARAMS, `Resource not found: ${what.resource}`, { uri: what.resource });
  }
  if (meaning.hidesTarget && what.prompt !== undefined) return protocolError(JSON_RPC_INVALID_PARAMS, `Unknown prompt: ${what.prompt}`);
  // Invalid params say what is wrong in the message; the others carry the gateway's code.
  return protocolError(meaning.jsonRpc, error.message, meaning.jsonRpc === JSON_RPC_INVALID_PARAMS ? undefined : { code: error.code });
}
