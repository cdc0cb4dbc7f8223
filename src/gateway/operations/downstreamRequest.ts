import type { InputRequiredResult, Result } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import type { ServerSpec } from '../../config/types.js';
import { isInputRequiredResult, type DownstreamConnection } from '../../downstream/connection.js';
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
  const forward = ctx.forward;
  try {
    if (forward === undefined) {
      // No MCP peer (REST): a server that asks for input cannot be answered.
      const result = await connection.request(request, schema, {
        signal: ctx.signal,
        timeoutMs: callTimeoutMs(ctx.settings, spec.timeoutMs),
        allowInputRequired: true,
      });
      if (isInputRequiredResult(result))
        throw new GatewayError('INPUT_REQUIRED', `Server '${spec.name}' asked for input, which this caller cannot give`, { server: spec.name });
      return result;
    }
    // A 2026 retry's answers and state go back into the params, untouched.
    const params = {
      ...request.params,
      ...(forward.inputResponses !== undefined ? { inputResponses: { ...forward.inputResponses } } : {}),
      ...(forward.requestState !== undefined ? { requestState: forward.requestState } : {}),
    };
    return await connection.request({ method: request.method, params }, schema, {
      signal: ctx.signal,
      timeoutMs: callTimeoutMs(ctx.settings, spec.timeoutMs),
      meta: { ...forward.meta },
      allowInputRequired: true,
    });
  } catch (err) {
    throw explainNotFound(err, notFound);
  } finally {
    release();
  }
}

function explainNotFound(err: unknown, notFound: () => GatewayError): unknown {
  return err instanceof GatewayError && isNotFoundAnswer(err.cause) ? notFound() : err;
}
