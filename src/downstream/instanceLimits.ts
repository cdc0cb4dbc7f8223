// Limits on isolated instances, checked before anything is spawned: per owner (an HTTP
// caller's identity), per server and in total.

import { GatewayError } from '../errors.js';

export interface InstanceLimits {
  /** Idle timeout of an instance when its calls set none, in seconds. */
  readonly defaultTimeoutS: number;
  /** Seconds between sweeps. */
  readonly cleanupIntervalS: number;
  readonly maxPerServer: number;
  readonly maxTotal: number;
  /** Instances one owner (an HTTP caller's identity) may hold at most. Default: a quarter of maxTotal. */
  readonly maxPerOwner?: number;
}

/** The counts a new instance would be added to. */
export interface InstanceCounts {
  readonly server: string;
  readonly owner: string | undefined;
  /** Instances the owner holds (0 without an owner). */
  readonly owned: number;
  readonly perServer: number;
  readonly total: number;
}

/** Throws TOO_MANY_SESSIONS_FOR_IDENTITY or TOO_MANY_SESSIONS when one more instance is too many. */
export function refuseOverLimit(counts: InstanceCounts, limits: InstanceLimits, maxPerOwner: number): void {
  const { server, owned, perServer } = counts;
  // First, so that the caller at its own cap hears that, not that the gateway is full.
  if (counts.owner !== undefined && owned >= maxPerOwner) {
    throw new GatewayError(
      'TOO_MANY_SESSIONS_FOR_IDENTITY',
      `This caller already holds ${owned} isolated instances, its limit (max_sessions_per_identity); end a session or retry later`,
      { server },
    );
  }
  if (perServer >= limits.maxPerServer) {
    throw new GatewayError(
      'TOO_MANY_SESSIONS',
      `Server '${server}' already runs ${perServer} instances, its limit (max_sessions_per_service); end a session or retry later`,
      { server },
    );
  }
  if (counts.total >= limits.maxTotal) {
    throw new GatewayError(
      'TOO_MANY_SESSIONS',
      `The gateway already runs ${counts.total} isolated instances, its limit (max_total_sessions); end a session or retry later`,
      { server },
    );
  }
}
