// Which protocol era a downstream speaks: 2026-07-28 when it offers it (server/discover),
// 2025-11-25 otherwise, decided per connection attempt so a restarted (maybe upgraded) server
// is asked again.
//
// The probe runs in place on our own transport (ProcessGroupTransport looks stdio-shaped to
// the SDK, so a silent legacy server falls back to initialize on the same process). A legacy
// server that exits on the unknown request is started once more with the verdict given; a
// 2026-only server too slow to answer the probe in time refuses the 2025 fallback, and is
// started once more with a probe that may take the whole start.

import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import type { ConnectOptions, VersionNegotiationOptions } from '@modelcontextprotocol/client';
export type { ProtocolEra } from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/types.js';
import type { ExitInfo } from './processGroupTransport.js';

/**
 * Longest wait for a server/discover answer. A live server answers at once (even a legacy
 * one, with an error); only a legacy server that ignores unknown requests makes us wait.
 */
const MAX_PROBE_TIMEOUT_MS = 3_000;

/** JSON-RPC error of a server that does not speak the requested protocol version. */
const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/**
 * How one start finds the era: `probe` (server/discover, 2025 if the answer says so or
 * does not come soon), `legacy` (straight to initialize: the server dies on the probe), or
 * `patient` (the probe may take the whole start: the server refused 2025 after a probe it
 * was too slow to answer).
 */
export type EraPlan = 'probe' | 'legacy' | 'patient';

/** How the client of one start negotiates; `connectTimeoutMs` bounds the whole start. */
export function versionNegotiationFor(spec: ServerSpec, plan: EraPlan, connectTimeoutMs: number): VersionNegotiationOptions {
  // The SSE transport is 2025-only: there is no modern era to find.
  if (spec.transport === 'sse') return { mode: 'legacy' };
  if (plan === 'patient') return { mode: 'auto', probe: { timeoutMs: Math.max(1, connectTimeoutMs) } };
  // At most half the start's bound, so a silent server leaves time for initialize after it.
  return { mode: 'auto', probe: { timeoutMs: Math.max(1, Math.min(MAX_PROBE_TIMEOUT_MS, Math.floor(connectTimeoutMs / 2))) } };
}

/** The connect options of a start made with `plan`. */
export function connectPrior(plan: EraPlan): Pick<ConnectOptions, 'prior'> {
  return plan === 'legacy' ? { prior: { kind: 'legacy' } } : {};
}

/**
 * What a failed probing start of a stdio server says to try next, if anything: `legacy`
 * when the process ended on the probe, `patient` when it refused the 2025 initialize that
 * followed a probe it did not answer in time (a slow 2026-only server).
 */
export function retryPlan(err: unknown, exit: ExitInfo | undefined): EraPlan | undefined {
  if (exitedOnProbe(err, exit)) return 'legacy';
  if (exit === undefined && err instanceof ProtocolError && err.code === UNSUPPORTED_PROTOCOL_VERSION) return 'patient';
  return undefined;
}

/**
 * A start that failed because the process ended while the server/discover probe was out:
 * what a 2025 server that exits on any request before initialize does. (A server that dies
 * at start looks the same; its second start fails the same way and is reported as usual.)
 */
function exitedOnProbe(err: unknown, exit: ExitInfo | undefined): boolean {
  return err instanceof SdkError && err.code === SdkErrorCode.EraNegotiationFailed && exit !== undefined && exit.error === undefined;
}
