// Which protocol era a downstream speaks: 2026-07-28 when it offers it (server/discover),
// 2025-11-25 otherwise, decided per connection attempt so a restarted (maybe upgraded) server
// is asked again.
//
// The probe runs in place on our own transport (ProcessGroupTransport looks stdio-shaped to
// the SDK, so a silent legacy server falls back to initialize on the same process). A legacy
// server that exits on the unknown request is started once more with the verdict given.

import { SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import type { ConnectOptions, VersionNegotiationOptions } from '@modelcontextprotocol/client';
export type { ProtocolEra } from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/types.js';
import type { ExitInfo } from './processGroupTransport.js';

/**
 * Longest wait for a server/discover answer. A live server answers at once (even a legacy
 * one, with an error); only a legacy server that ignores unknown requests makes us wait.
 */
const MAX_PROBE_TIMEOUT_MS = 3_000;

/** The verdict that skips the probe: a plain 2025 initialize. */
export const LEGACY_PRIOR: NonNullable<ConnectOptions['prior']> = { kind: 'legacy' };

/** How the client of one attempt negotiates; `connectTimeoutMs` bounds the whole start. */
export function versionNegotiationFor(spec: ServerSpec, connectTimeoutMs: number): VersionNegotiationOptions {
  // The SSE transport is 2025-only: there is no modern era to find.
  if (spec.transport === 'sse') return { mode: 'legacy' };
  // At most half the start's bound, so a silent server leaves time for initialize after it.
  return { mode: 'auto', probe: { timeoutMs: Math.max(1, Math.min(MAX_PROBE_TIMEOUT_MS, Math.floor(connectTimeoutMs / 2))) } };
}

/**
 * A start that failed because the process ended while the server/discover probe was out:
 * what a 2025 server that exits on any request before initialize does. (A server that dies
 * at start looks the same; its second start fails the same way and is reported as usual.)
 */
export function exitedOnProbe(err: unknown, exit: ExitInfo | undefined): boolean {
  return err instanceof SdkError && err.code === SdkErrorCode.EraNegotiationFailed && exit !== undefined && exit.error === undefined;
}
