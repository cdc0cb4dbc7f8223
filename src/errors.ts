// Stable error codes. Tool results carry them in `structuredContent.error.code`, the audit
// log and REST error bodies in `code`, native protocol errors (but invalid params) in
// `data.code`. Renaming one is a breaking change. CODE_MEANINGS says how each front end
// renders each code.

export const ERROR_CODES = [
  'DENIED_BY_POLICY',
  'MISSING_AGENT_ID',
  'INVALID_AGENT_ID',
  'AGENT_MISMATCH',
  'FALLBACK_AGENT_NOT_IN_RULES',
  'NO_FALLBACK_CONFIGURED',
  'SERVER_NOT_FOUND',
  'SERVER_UNAVAILABLE',
  'TOOL_NOT_FOUND',
  'RESOURCE_NOT_FOUND',
  'PROMPT_NOT_FOUND',
  'TIMEOUT',
  'RESULT_TOO_LARGE',
  'INVALID_ARGUMENT',
  'TOO_MANY_SESSIONS',
  'SESSION_CONFLICT',
  'TOO_MANY_SESSIONS_FOR_IDENTITY',
  'INPUT_REQUIRED',
  'TOOL_QUARANTINED',
  'APPROVAL_DENIED',
  'APPROVAL_UNAVAILABLE',
  'AUTH_REQUIRED',
  'INTERNAL_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** JSON-RPC error codes a gateway error becomes on a protocol request (native reads, prompts, completions). */
export const JSON_RPC_INVALID_REQUEST = -32600;
export const JSON_RPC_INVALID_PARAMS = -32602;
export const JSON_RPC_INTERNAL_ERROR = -32603;
/**
 * The "resource not found" code of MCP revisions before 2025-11-25. Still read from servers
 * that send it; never sent: an unknown resource is -32602 on every revision now, and the SDK
 * rewrites a thrown -32002 to -32602 itself.
 */
export const JSON_RPC_LEGACY_RESOURCE_NOT_FOUND = -32002;

/** How each front end and the audit line read a code. */
export interface CodeMeaning {
  /** The REST status of a call that failed with it. */
  readonly http: number;
  /** The JSON-RPC error code of a protocol request that failed with it. */
  readonly jsonRpc: number;
  /** The audit decision of a call that failed with it. */
  readonly decision: 'DENY' | 'TIMEOUT' | 'ERROR';
  /**
   * A native resource or prompt refused with it answers as one that does not exist, so
   * neither can be probed.
   */
  readonly hidesTarget: boolean;
}

function meaning(http: number, jsonRpc: number, decision: CodeMeaning['decision'], hidesTarget = false): CodeMeaning {
  return Object.freeze({ http, jsonRpc, decision, hidesTarget });
}

/** The one place a code's HTTP status, JSON-RPC code and audit decision are chosen. */
export const CODE_MEANINGS: Readonly<Record<ErrorCode, CodeMeaning>> = Object.freeze({
  DENIED_BY_POLICY: meaning(403, JSON_RPC_INVALID_PARAMS, 'DENY', true),
  MISSING_AGENT_ID: meaning(400, JSON_RPC_INVALID_REQUEST, 'DENY'),
  INVALID_AGENT_ID: meaning(403, JSON_RPC_INVALID_REQUEST, 'DENY'),
  AGENT_MISMATCH: meaning(403, JSON_RPC_INVALID_REQUEST, 'DENY'),
  FALLBACK_AGENT_NOT_IN_RULES: meaning(403, JSON_RPC_INVALID_REQUEST, 'DENY'),
  NO_FALLBACK_CONFIGURED: meaning(400, JSON_RPC_INVALID_REQUEST, 'DENY'),
  SERVER_NOT_FOUND: meaning(404, JSON_RPC_INVALID_PARAMS, 'ERROR', true),
  SERVER_UNAVAILABLE: meaning(503, JSON_RPC_INTERNAL_ERROR, 'ERROR'),
  TOOL_NOT_FOUND: meaning(404, JSON_RPC_INTERNAL_ERROR, 'ERROR'),
  RESOURCE_NOT_FOUND: meaning(500, JSON_RPC_INVALID_PARAMS, 'ERROR', true),
  PROMPT_NOT_FOUND: meaning(500, JSON_RPC_INVALID_PARAMS, 'ERROR', true),
  TIMEOUT: meaning(504, JSON_RPC_INTERNAL_ERROR, 'TIMEOUT'),
  RESULT_TOO_LARGE: meaning(502, JSON_RPC_INTERNAL_ERROR, 'ERROR'),
  INVALID_ARGUMENT: meaning(400, JSON_RPC_INVALID_PARAMS, 'ERROR'),
  TOO_MANY_SESSIONS: meaning(503, JSON_RPC_INTERNAL_ERROR, 'ERROR'),
  SESSION_CONFLICT: meaning(409, JSON_RPC_INTERNAL_ERROR, 'ERROR'),
  TOO_MANY_SESSIONS_FOR_IDENTITY: meaning(429, JSON_RPC_INTERNAL_ERROR, 'ERROR'),
  INPUT_REQUIRED: meaning(409, JSON_RPC_INVALID_REQUEST, 'ERROR'),
  // A definition that changed since it was pinned: refused until a human accepts it (pin --accept).
  TOOL_QUARANTINED: meaning(403, JSON_RPC_INVALID_PARAMS, 'DENY'),
  APPROVAL_DENIED: meaning(403, JSON_RPC_INVALID_PARAMS, 'DENY'),
  // Fail closed: a call that needs a human's approval and has nobody to ask is refused.
  APPROVAL_UNAVAILABLE: meaning(403, JSON_RPC_INVALID_PARAMS, 'DENY'),
  // The downstream needs a login the operator has not done: not the caller's credential, so not 401.
  AUTH_REQUIRED: meaning(503, JSON_RPC_INTERNAL_ERROR, 'ERROR'),
  INTERNAL_ERROR: meaning(500, JSON_RPC_INTERNAL_ERROR, 'ERROR'),
});

export interface GatewayErrorDetails {
  readonly rule?: string;
  readonly server?: string;
  readonly tool?: string;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly details: GatewayErrorDetails;

  constructor(code: ErrorCode, message: string, details: GatewayErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.details = details;
  }
}
