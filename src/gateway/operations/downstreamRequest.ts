import type { InputRequiredResult, Result } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { ServerSpec } from '../../config/types.js';
import { isInputRequiredResult, type DownstreamConnection } from '../../downstream/connection.js';
import { isNotFoundAnswer } from '../../downstream/failureMapping.js';
import { GatewayError } from '../../errors.js';
import { downstreamEnvelope, inputImpossible } from '../calls/envelope.js';
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
    return await connection.request(request, schema, { signal: ctx.signal, timeoutMs: callTimeoutMs(ctx.settings, spec.timeoutMs) });
  } catch (err) {
    throw explainNotFound(err, notFound);
  } finally {
    release();
  }
}

/**
 * The same for prompts/get and resources/read, which a 2026 server may answer with
 * input_required: that goes back to the caller, whose retry carries its answers here.
 */
export async function downstreamRequestAsking<T extends z.ZodType<Result>>(
  ctx: OperationContext,
  connection: DownstreamConnection,
  spec: ServerSpec,
  request: { method: string; params: Record<string, unknown> },
  schema: T,
  notFound: () => GatewayError,
): Promise<z.infer<T> | InputRequiredResult> {
  const release = ctx.trackCall(spec.name);
  try {
    // A 2026 retry's answers and state go back into the params, untouched.
    const { meta, ...retry } = downstreamEnvelope(ctx.forward);
    const result = await connection.request({ method: request.method, params: { ...request.params, ...retry } }, schema, {
      signal: ctx.signal,
      timeoutMs: callTimeoutMs(ctx.settings, spec.timeoutMs),
      ...(meta !== undefined ? { meta } : {}),
      allowInputRequired: true,
    });
    if (isInputRequiredResult(result) && ctx.forward === undefined) throw inputImpossible(result, spec.name);
    return result;
  } catch (err) {
    throw explainNotFound(err, notFound);
  } finally {
    release();
  }
}

function explainNotFound(err: unknown, notFound: () => GatewayError): unknown {
  return err instanceof GatewayError && isNotFoundAnswer(err.cause) ? notFound() : err;
}
