// Stable error codes. Tool results carry them in `structuredContent.error.code`, the audit
// log in `code`, and (later) HTTP bodies in `code`. Renaming one is a breaking change.

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
  'INTERNAL_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

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
