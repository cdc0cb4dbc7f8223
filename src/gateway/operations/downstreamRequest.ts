import { ErrorCode, McpError, type Result } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { ServerSpec } from '../../config/types.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import { GatewayError, JSON_RPC_RESOURCE_NOT_FOUND } from '../../errors.js';
import type { OperationContext } from '../context.js';
import { callTimeoutMs } from './deadline.js';

/**
 * A non-tool request (resources/read, prompts/get, completion/complete) to a downstream, as a
 * call: the server's timeout, the caller's cancellation, and the call tracked so the server's
 * own requests reach this caller. A server answering "not found" gets `notFound()`.
 */
export async function downstreamRequest<T extends z.ZodType<Result>>(
  ctx: OperationContext,
  connection: DownstreamConnection,
  spec: ServerSpec,
  request: { method: string; params: Record<string, unknown> },
  schema: T,
  notFound: () => GatewayError,
): Promise<z.infer<T>> {
  const release = ctx.trackCall(spec.name);
  try {
    return await connection.request(request, schema, {
      signal: ctx.signal,
      timeoutMs: callTimeoutMs(ctx.settings, spec.timeoutMs),
    });
  } catch (err) {
    const cause = err instanceof GatewayError ? err.cause : undefined;
    if (
      cause instanceof McpError &&
      (cause.code === JSON_RPC_RESOURCE_NOT_FOUND || (cause.code === ErrorCode.InvalidParams && /not found|unknown/i.test(cause.message)))
    ) {
      throw notFound();
    }
    throw err;
  } finally {
    release();
  }
}
