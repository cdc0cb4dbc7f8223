// HTTP sessions of streamable-HTTP downstreams: a server that forgot our session answers 404
// (the connection then starts a fresh one and retries once), and a session we end is
// terminated with a DELETE, bounded so that closing never waits on a slow server.

import type { Transport } from '@modelcontextprotocol/client';
import { withTimeout } from './abort.js';
import type { Clock } from './clock.js';
import { SdkHttpError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const TERMINATE_SESSION_BOUND_MS = 500;

/** The server forgot our session: the request may be retried on a new one. */
export function isSessionExpired(err: unknown): boolean {
  return err instanceof SdkHttpError && err.status === 404;
}

/** Ends the transport's HTTP session, if it has one; never throws. */
export async function terminateSession(transport: Transport, clock: Clock): Promise<void> {
  if (transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined) {
    await withTimeout(transport.terminateSession(), TERMINATE_SESSION_BOUND_MS, clock).catch(() => {});
  }
}
