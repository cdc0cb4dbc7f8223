import { GatewayError } from '../../errors.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import type { OperationContext } from '../context.js';

export function connectionFor(ctx: OperationContext, server: string): DownstreamConnection {
  const connection = ctx.pool.get(server);
  // The snapshot and the pool are swapped together on reload; a gap means the server was
  // removed between the policy check and here.
  if (!connection) throw new GatewayError('SERVER_NOT_FOUND', `Server '${server}' not found in configured servers`, { server });
  return connection;
}
