import type { Result } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { ServerSpec } from '../../config/types.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import { isNotFoundAnswer } from '../../downstream/failureMapping.js';
import { GatewayError } from '../../errors.js';
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
    if (err instanceof GatewayError && isNotFoundAnswer(err.cause)) throw notFound();
    throw err;
  } finally {
    release();
  }
}
