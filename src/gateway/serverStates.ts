// Each configured server as the outside sees it: get_gateway_status, REST /health and the
// Prometheus scrape all read this one projection, so they never disagree about a server.
import type { ConnectionState } from '../downstream/connection.js';
import type { OAuthStatus } from '../downstream/oauthProvider.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { redactCredentials, redactSecrets } from '../redact.js';
import type { Snapshot } from './context.js';

export interface ServerState {
  readonly name: string;
  readonly transport: string | null;
  /** 'idle' for a server not started yet (lazy start). */
  readonly state: ConnectionState;
  readonly pid: number | null;
  /** The protocol revision negotiated with the server (kept while it restarts); null before the first start. */
  readonly protocolVersion: string | null;
  readonly toolsCached: number | null;
  /** Restarts since the connection was created (cumulative). */
  readonly restarts: number;
  readonly consecutiveFailures: number;
  /** While failed: the time (the connection clock's, real time outside tests) before which no new attempt is made. */
  readonly nextRetryAt: number | null;
  /** Calls are refused at once until nextRetryAt. */
  readonly failingFast: boolean;
  /** Redacted: it may quote a downstream's output. */
  readonly lastError: string | null;
  /** A hosted server's OAuth login ('login_required': run `agent-mcp-gateway login`); null when none is known. */
  readonly auth: OAuthStatus | null;
}

/** The servers of `snapshot`, in file order, with their connections' state in `pool`. */
export function serverStatesOf(snapshot: Snapshot, pool: DownstreamPool): ServerState[] {
  return snapshot.serverNames.map((name) => {
    const c = pool.get(name);
    const spec = snapshot.servers.get(name);
    return {
      name,
      transport: spec?.transport ?? null,
      state: c?.state ?? 'idle',
      pid: c?.pid ?? null,
      protocolVersion: c?.protocolVersion ?? null,
      toolsCached: c?.cachedToolCount ?? null,
      restarts: c?.restarts ?? 0,
      consecutiveFailures: c?.consecutiveFailures ?? 0,
      nextRetryAt: c?.nextRetryAt ?? null,
      failingFast: c?.failingFast ?? false,
      // A configuration error is the gateway's own message (JSON paths such as `env.TOKEN: ...`,
      // never a value), which the key=value reading of redactSecrets would garble.
      lastError: c?.lastError === undefined ? null : spec?.configError !== undefined ? redactCredentials(c.lastError) : redactSecrets(c.lastError),
      auth: c?.auth ?? null,
    };
  });
}
