// tools/call on a ready stdio server of the 2025-11-25 era, past the SDK Client.
//
// Why: through client.request every answer is parsed against the JSON-RPC message schema,
// then the SDK's message-kind guards (each one a zod parse), its result codec and the result
// schema: most of the gateway's CPU per relayed call in the profiles (docs/performance.md,
// issue 20). A call here writes its request on the transport's pipe with an id of its own and
// takes its answer from the transport's line reader before any of that runs. What the Client
// gave the call is kept: the idle timeout and the caller's abort both send
// notifications/cancelled; the connection's close fails the call; an error answer becomes the
// same ProtocolError; a result is read as the Client reads it (readDirectResult). Progress,
// task-augmented calls, 2026 servers and HTTP keep the SDK's path (toolCall.ts chooses).

import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/client';
import { isPlainToolResult } from '../toolResultShape.js';
import { isPlainObject } from '../values.js';
import type { Clock, ClockTimer } from './clock.js';
import type { GatewayClient } from './gatewayClient.js';
import { carriedTaskResult } from './tasks.js';

export interface DirectCallOptions {
  readonly signal?: AbortSignal;
  /** No answer within this: the call is cancelled downstream and fails with the SDK's RequestTimeout. */
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** How the Client would read the answer's result (readDirectResult). */
  readonly readResult: (raw: Record<string, unknown>) => Outcome;
}

type Outcome = { readonly result: CallToolResult } | { readonly error: unknown };

interface Pending {
  readonly readResult: (raw: Record<string, unknown>) => Outcome;
  settle(outcome: Outcome): void;
}

/**
 * Ids of direct calls are strings under this prefix: the SDK Client numbers its own requests,
 * so an answer can never be taken by the wrong side.
 */
const ID_PREFIX = 'gw-';

export class DirectCalls {
  readonly #pending = new Map<string, Pending>();
  readonly #write: (message: JSONRPCMessage) => Promise<void>;
  #next = 0;

  /** `write` puts one message on the server's stdin (the transport's own send). */
  constructor(write: (message: JSONRPCMessage) => Promise<void>) {
    this.#write = write;
  }

  call(params: Record<string, unknown>, opts: DirectCallOptions): Promise<CallToolResult> {
    const id = `${ID_PREFIX}${this.#next++}`;
    return new Promise<CallToolResult>((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(asSdkError(opts.signal.reason));
        return;
      }
      const onAbort = (): void => cancel(opts.signal?.reason);
      const pending: Pending = {
        readResult: opts.readResult,
        settle: (outcome) => {
          this.#pending.delete(id);
          opts.clock.clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          if ('result' in outcome) resolve(outcome.result);
          else reject(outcome.error);
        },
      };
      const cancel = (reason: unknown): void => {
        if (this.#pending.get(id) !== pending) return;
        pending.settle({ error: asSdkError(reason) });
        void this.#write({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: String(reason) } }).catch(() => undefined);
      };
      this.#pending.set(id, pending);
      const timer: ClockTimer = opts.clock.setTimeout(
        () => cancel(new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout: opts.timeoutMs })),
        opts.timeoutMs,
      );
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.#write({ jsonrpc: '2.0', id, method: 'tools/call', params }).catch((err: unknown) => {
        if (this.#pending.get(id) === pending) pending.settle({ error: err });
      });
    });
  }

  /**
   * Offered every JSON line the server wrote, before the transport parses it as JSON-RPC.
   * True: it answered a direct call (or one given up on) and was consumed; false: the SDK's.
   */
  take(value: unknown): boolean {
    if (!isPlainObject(value)) return false;
    const id = value['id'];
    if (typeof id !== 'string' || !id.startsWith(ID_PREFIX) || 'method' in value) return false;
    const pending = this.#pending.get(id);
    // The late answer of a call that timed out or was cancelled: nobody waits for it.
    if (pending === undefined) return true;
    const answer = answerOf(value);
    if (answer === undefined) return false;
    pending.settle('raw' in answer ? pending.readResult(answer.raw) : answer);
    return true;
  }

  /** The connection closed: every call in flight fails with `reason`. */
  closeAll(reason: unknown): void {
    for (const pending of [...this.#pending.values()]) pending.settle({ error: reason });
  }
}

/** What a JSON-RPC answer carries; undefined when it is not a well-formed answer. */
function answerOf(message: Record<string, unknown>): { raw: Record<string, unknown> } | { error: unknown } | undefined {
  if (message['jsonrpc'] !== '2.0' || 'result' in message === 'error' in message) return undefined;
  const error = message['error'];
  if (error !== undefined) {
    if (!isPlainObject(error) || !Number.isSafeInteger(error['code']) || typeof error['message'] !== 'string') return undefined;
    return { error: ProtocolError.fromError(error['code'] as number, error['message'], error['data']) };
  }
  const raw = message['result'];
  return isPlainObject(raw) ? { raw } : undefined;
}

/**
 * A direct call's result as the SDK path would have handed it over: a task answer carried as
 * tasks.ts carries it (and a forged carrying key removed), `resultType` dropped as the 2025
 * codec drops it, the common shape taken as is (toolResultShape.ts), any other read and
 * validated by the Client's own codec (`InvalidResult` when invalid).
 */
export function readDirectResult(client: GatewayClient, raw: Record<string, unknown>, generation: number): Outcome {
  const carried = carriedTaskResult(raw, generation);
  let plain = carried;
  if ('resultType' in plain) {
    plain = { ...carried };
    delete plain['resultType'];
  }
  if (isPlainToolResult(plain)) return { result: plain as CallToolResult };
  const checked = client.checkToolResult(carried);
  return checked.ok ? { result: checked.value } : { error: checked.error };
}

/** What the SDK Client rejects a cancelled request with. */
function asSdkError(reason: unknown): SdkError {
  return reason instanceof SdkError ? reason : new SdkError(SdkErrorCode.RequestTimeout, String(reason));
}
