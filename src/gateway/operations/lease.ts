import type { ServerSpec } from '../../config/types.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import type { AcquireRequest } from '../../downstream/instances.js';
import { GatewayError } from '../../errors.js';
import type { OperationContext } from '../context.js';

export function connectionFor(ctx: OperationContext, server: string): DownstreamConnection {
  const connection = ctx.pool.get(server);
  // The snapshot and the pool are swapped together on reload; a gap means the server was
  // removed between the policy check and here.
  if (!connection) throw new GatewayError('SERVER_NOT_FOUND', `Server '${server}' not found in configured servers`, { server });
  return connection;
}

export interface Lease {
  readonly connection: DownstreamConnection;
  /** What the server's requests to a client are routed by (see ServerRequestRouter.track). */
  readonly routeKey: string;
  /** Called when the call is over. */
  release(): void;
  /** The error the caller gets for `err` (an isolated instance that died says its state was lost). */
  explain(err: unknown): unknown;
}

/** Leases of shared connections hold nothing per call, so each connection has one (and keeps it for its lifetime: a WeakMap keyed by it). */
const sharedLeases = new WeakMap<DownstreamConnection, Lease>();

/** A server with isolation "shared": its one connection (synchronous, so the common call pays no extra turn or allocation). */
export function sharedLease(ctx: OperationContext, server: string): Lease {
  const connection = connectionFor(ctx, server);
  let lease = sharedLeases.get(connection);
  if (!lease) {
    lease = Object.freeze({ connection, routeKey: server, release: noop, explain: same });
    sharedLeases.set(connection, lease);
  }
  return lease;
}

/** A server with isolation "agent" or "session": the instance of the caller's agent or session, created on first use. */
export function isolatedLease(ctx: OperationContext, spec: ServerSpec): Promise<Lease> {
  return ctx.instances.acquire(acquireRequest(ctx, spec));
}

/** isolatedLease's answer at once when the instance is up and well; undefined: isolatedLease must be awaited. */
export function readyIsolatedLease(ctx: OperationContext, spec: ServerSpec): Lease | undefined {
  return ctx.instances.acquireReady(acquireRequest(ctx, spec));
}

function acquireRequest(ctx: OperationContext, spec: ServerSpec): AcquireRequest {
  // Still configured? (Same check as the shared path.)
  connectionFor(ctx, spec.name);
  const session = spec.isolation === 'session' ? ctx.instanceScope : undefined;
  if (session) {
    return {
      spec,
      scope: session.key,
      label: session.label,
      agentId: ctx.agentId,
      ...(session.timeoutS !== undefined ? { timeoutS: session.timeoutS } : {}),
      ...(session.metadata !== undefined ? { metadata: session.metadata } : {}),
      ...(session.owner !== undefined ? { owner: session.owner } : {}),
    };
  }
  return { spec, scope: agentScopeKey(ctx.agentId), label: `agent ${JSON.stringify(ctx.agentId)}`, agentId: ctx.agentId };
}

/** The scope of the caller's instance of an isolated server: its session's, else its agent's. */
export function isolatedScopeKey(ctx: OperationContext, spec: ServerSpec): string {
  const session = spec.isolation === 'session' ? ctx.instanceScope : undefined;
  return session ? session.key : agentScopeKey(ctx.agentId);
}

function agentScopeKey(agentId: string): string {
  return `agent:${agentId}`;
}

function noop(): void {}

function same(err: unknown): unknown {
  return err;
}
