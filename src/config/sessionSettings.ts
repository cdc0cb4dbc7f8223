// Gateway-wide settings of isolated server instances (SignalWire's `session` block): how
// long an idle one lives, how often expired ones are swept, how many may run, and where
// their sandbox folders go.

export interface SessionSettings {
  /** Idle timeout of an instance when the call sets none, in seconds. */
  readonly defaultTimeoutS: number;
  /** Seconds between sweeps that close expired and dead instances. */
  readonly cleanupIntervalS: number;
  /** Isolated instances of one server at most; one more is refused (503). */
  readonly maxSessionsPerService: number;
  /** Isolated instances of all servers at most. */
  readonly maxTotalSessions: number;
  /** Isolated instances one HTTP identity may start at most (429 beyond); default a quarter of maxTotalSessions. */
  readonly maxSessionsPerIdentity?: number;
  /** Each sandboxed instance gets its own folder below this one. `~/` is expanded by the CLI. */
  readonly sandboxDir: string;
}

/**
 * A per-identity cap (isolated instances, /mcp sessions) when none is set: a quarter of the
 * total, so that one caller never takes every slot and at least four always fit.
 */
export function defaultPerIdentityCap(total: number): number {
  return Math.max(1, Math.floor(total / 4));
}

const DEFAULT_SANDBOX_DIR = '~/.cache/agent-mcp-gateway/sandbox';

export const DEFAULT_SESSION_SETTINGS: SessionSettings = Object.freeze({
  defaultTimeoutS: 300,
  cleanupIntervalS: 60,
  maxSessionsPerService: 100,
  maxTotalSessions: 500,
  sandboxDir: DEFAULT_SANDBOX_DIR,
});
