// Defaults of the HTTP mode's connection and session limits, in one pure module so that the
// CLI's flag table can show them without loading the server.

export interface HttpConnectionLimits {
  /** A client must have sent its request headers within this (408 after). */
  readonly headersTimeoutMs: number;
  /** ... and its whole request, body included (408 after). Not the time the answer takes. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections at most; one more is closed at once, unanswered. */
  readonly maxConnections: number;
}

export const HTTP_LIMIT_DEFAULTS: HttpConnectionLimits = Object.freeze({
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 2_048,
});

export const DEFAULT_MAX_MCP_SESSIONS = 1_000;
export const DEFAULT_MCP_IDLE_TIMEOUT_MS = 60 * 60_000;

/** How long a stopping HTTP gateway lets requests in flight finish (--drain-timeout-ms). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
