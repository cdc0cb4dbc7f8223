// tools/call on a ready client, with its deadline: the idle timeout (restarted by progress)
// and the hard maximum, both reported as TIMEOUT, both cancelling the call downstream. An
// input_required answer (2026) is a result like any other: it goes back to the caller, and
// so is a task (tasks extension), which tasks.ts carries past the SDK Client.
import type { Client, CallToolResult, InputRequiredResult, LoggingLevel } from '@modelcontextprotocol/client';
import { stripEnvelope, withMeta } from './envelope.js';
import { isTaskCreated, takeCarriedTask, type TaskCreated } from './tasks.js';
import { GatewayError } from '../errors.js';
import { clampTimer, TotalTimeoutReason } from './abort.js';
import type { Clock } from './clock.js';
import { isTimeout } from './failureMapping.js';
import { readDirectResult, type DirectCalls } from './directCalls.js';
import { GatewayClient } from './gatewayClient.js';
import { ProcessGroupTransport } from './processGroupTransport.js';

export interface ProgressUpdate {
  progress: number;
  total?: number;
  message?: string;
}

export interface CallOptions {
  /**
   * The caller's abort signal, one per call (the SDK adds a listener to it that it never
   * removes, so a signal shared by many calls would collect one per call).
   */
  signal?: AbortSignal;
  /** Idle timeout: restarted by every progress notification. */
  timeoutMs: number;
  /** Hard limit for the whole call, progress or not. */
  maxTotalTimeoutMs: number;
  /**
   * The timeout the caller set, when `timeoutMs` is what starting the server left of it:
   * timeout messages name this one. Default `timeoutMs`.
   */
  budgetMs?: number;
  onprogress?: (progress: ProgressUpdate) => void;
  /**
   * Merged into the request's `_meta`: the calling client's trace context (traceparent,
   * tracestate, baggage) and its capabilities (io.modelcontextprotocol/clientCapabilities),
   * which only a 2026 server is sent.
   */
  meta?: Record<string, unknown>;
  /** The calling client's answers to an input_required result, on its retry. */
  inputResponses?: Record<string, unknown>;
  /** That input_required result's requestState, byte for byte, on the retry. */
  requestState?: string;
}

/** What tools/call answers: a result, or (2026 servers) a request for the caller's input or a task. */
export type ToolCallResult = CallToolResult | InputRequiredResult | TaskCreated;

/** The answer without what describes the server's link to us (its serverInfo, cache hints). */
function received(result: CallToolResult | InputRequiredResult): ToolCallResult {
  const answer = takeCarriedTask(result);
  return isTaskCreated(answer) ? { ...answer, task: stripEnvelope(answer.task) } : stripEnvelope(answer);
}

/** What a call needs of its connection; one per connection, shared by its calls. */
export interface CallContext {
  readonly server: string;
  readonly clock: Clock;
  /** Aborted when the connection closes for good. */
  readonly lifetime: AbortSignal;
  /** How close() fails the calls that run without an AbortController of ours: one reject per such call. */
  readonly failOnClose: Set<(reason: unknown) => void>;
  /** The server answered on `client`. */
  readonly succeeded: (client: Client) => void;
  /** The connection's current start (tasks are tagged with it, tasks.ts). */
  readonly generation: number;
  /** The log level the gateway's clients asked for; a 2026 server is told it in each request's `_meta`. */
  readonly logLevel: () => LoggingLevel | undefined;
}

/** The tools/call params: the call, the caller's envelope, and the retry fields of an input_required round. */
function callParams(
  client: Client,
  name: string,
  args: Record<string, unknown> | undefined,
  opts: CallOptions,
  logLevel: LoggingLevel | undefined,
): Record<string, unknown> {
  const params: Record<string, unknown> = { name, arguments: args ?? {} };
  if (opts.inputResponses !== undefined) params['inputResponses'] = opts.inputResponses;
  if (opts.requestState !== undefined) params['requestState'] = opts.requestState;
  return withMeta(params, opts.meta, client.getProtocolEra(), logLevel) ?? params;
}

export function requestCall(ctx: CallContext, client: Client, name: string, args: Record<string, unknown> | undefined, opts: CallOptions): Promise<ToolCallResult> {
  // With progress, the SDK's idle timeout can be reset for ever, and a hard maximum above
  // the idle timeout can outlast it: both need the timer below. Otherwise the idle timeout
  // (never above the maximum) already bounds the call, and the cheaper path serves.
  if (opts.onprogress !== undefined || !(opts.timeoutMs <= opts.maxTotalTimeoutMs)) return requestCallBounded(ctx, client, name, args, opts);
  return requestCallPlain(ctx, client, name, args, opts);
}

/**
 * The common call: no progress, idle timeout within the maximum. The caller's own signal
 * goes to the SDK or the direct call (it is per call), so there is no AbortController of ours
 * per call; close() fails the call through failOnClose instead of an abort.
 */
async function requestCallPlain(
  ctx: CallContext,
  client: Client,
  name: string,
  args: Record<string, unknown> | undefined,
  opts: CallOptions,
): Promise<ToolCallResult> {
  const params = callParams(client, name, args, opts, ctx.logLevel());
  const direct = directCallsOf(client);
  const generation = ctx.generation;
  const request: Promise<CallToolResult | InputRequiredResult> = direct
    ? direct.calls.call(params, {
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
        timeoutMs: clampTimer(opts.timeoutMs),
        clock: ctx.clock,
        readResult: (raw) => readDirectResult(direct.client, raw, generation),
      })
    : client.request(
        { method: 'tools/call', params },
        { ...(opts.signal !== undefined ? { signal: opts.signal } : {}), timeout: clampTimer(opts.timeoutMs), allowInputRequired: true },
      );
  let fail: ((reason: unknown) => void) | undefined;
  try {
    const result = await new Promise<CallToolResult | InputRequiredResult>((resolve, reject) => {
      fail = reject;
      ctx.failOnClose.add(reject);
      request.then(resolve, reject);
    });
    ctx.succeeded(client);
    return received(result);
  } catch (err) {
    if (isTimeout(err) && !opts.signal?.aborted && !ctx.lifetime.aborted) {
      // The idle timeout equal to the maximum is the maximum (as the bounded path reports it).
      if (opts.timeoutMs >= opts.maxTotalTimeoutMs) throw totalTimeoutError(ctx.server, name, opts);
      throw idleTimeoutError(ctx.server, name, opts);
    }
    throw err;
  } finally {
    if (fail) ctx.failOnClose.delete(fail);
  }
}

/**
 * Calls past the SDK Client (directCalls.ts) when the server is a process of ours that
 * negotiated 2025-11-25: a 2026 server's envelope and input_required, and the HTTP transports'
 * sessions, stay with the SDK.
 */
function directCallsOf(client: Client): { calls: DirectCalls; client: GatewayClient } | undefined {
  const transport = client.transport;
  if (!(transport instanceof ProcessGroupTransport) || !(client instanceof GatewayClient) || client.getProtocolEra() !== 'legacy') return undefined;
  return { calls: transport.direct, client };
}

async function requestCallBounded(
  ctx: CallContext,
  client: Client,
  name: string,
  args: Record<string, unknown> | undefined,
  opts: CallOptions,
): Promise<ToolCallResult> {
  // A per-call signal: the SDK never removes its abort listener, so the long-lived
  // lifetime signal must not be handed to it directly.
  const call = new AbortController();
  const onCallerAbort = (): void => call.abort(opts.signal?.reason);
  const onLifetimeAbort = (): void => call.abort(ctx.lifetime.reason);
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
  ctx.lifetime.addEventListener('abort', onLifetimeAbort, { once: true });
  // The SDK checks maxTotalTimeout only when progress arrives and then sends no
  // cancellation, so the hard limit is our timer, which aborts (and so cancels downstream).
  const hardLimit = ctx.clock.setTimeout(() => call.abort(new TotalTimeoutReason(`exceeded ${opts.maxTotalTimeoutMs}ms`)), clampTimer(opts.maxTotalTimeoutMs));
  try {
    const result: CallToolResult | InputRequiredResult = await client.request(
      { method: 'tools/call', params: callParams(client, name, args, opts, ctx.logLevel()) },
      {
        signal: call.signal,
        allowInputRequired: true,
        timeout: clampTimer(opts.timeoutMs),
        resetTimeoutOnProgress: true,
        onprogress: opts.onprogress
          ? (p) => {
              const update: ProgressUpdate = { progress: p.progress };
              if (p.total !== undefined) update.total = p.total;
              if (p.message !== undefined) update.message = p.message;
              opts.onprogress?.(update);
            }
          : undefined,
      },
    );
    ctx.succeeded(client);
    return received(result);
  } catch (err) {
    if (call.signal.reason instanceof TotalTimeoutReason && !opts.signal?.aborted) throw totalTimeoutError(ctx.server, name, opts);
    if (isTimeout(err) && !call.signal.aborted) throw idleTimeoutError(ctx.server, name, opts);
    throw err;
  } finally {
    ctx.clock.clearTimeout(hardLimit);
    opts.signal?.removeEventListener('abort', onCallerAbort);
    ctx.lifetime.removeEventListener('abort', onLifetimeAbort);
  }
}

function idleTimeoutError(server: string, tool: string, opts: CallOptions): GatewayError {
  return new GatewayError('TIMEOUT', `Tool execution timed out after ${opts.budgetMs ?? opts.timeoutMs}ms`, { server, tool });
}

function totalTimeoutError(server: string, tool: string, opts: CallOptions): GatewayError {
  return new GatewayError('TIMEOUT', `Tool execution exceeded the maximum of ${opts.maxTotalTimeoutMs}ms`, { server, tool });
}
