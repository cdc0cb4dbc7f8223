// A call's timeout covers the whole call. Waiting for the server to start and initialize (or
// for the caller's isolated instance to start) spends from it, and what is left bounds the
// request. The start itself is shared by every caller and is not cut short by one caller's
// deadline: it goes on in the background (within the connect bound), so a later call may find
// the server ready.
import { clampTimer } from '../../downstream/abort.js';
import { GatewayError } from '../../errors.js';
import type { CallSettings } from '../context.js';

/**
 * The timeout of a call: the one asked for, else the gateway default, capped by the hard
 * maximum (which also bounds the total when progress keeps resetting the timer).
 */
export function callTimeoutMs(settings: CallSettings, requested?: number): number {
  return Math.min(requested ?? settings.defaultTimeoutMs, settings.maxTimeoutMs);
}

export type Phase = 'starting' | 'listing its tools' | 'finding the tool';

export class CallDeadline {
  readonly timeoutMs: number;
  readonly #server: string;
  readonly #tool: string;
  readonly #started = performance.now();
  readonly #timer: NodeJS.Timeout;
  readonly #caller: AbortSignal | undefined;
  #expired = false;
  /** Told when the deadline passes: before()'s waits, and the signal once someone asked for it. */
  readonly #onExpiry = new Set<() => void>();
  #signal: AbortSignal | undefined;
  /** Time spent waiting on a human (an approval), which the timeout does not cover. */
  #excludedMs = 0;

  constructor(timeoutMs: number, target: { server: string; tool: string }, callerSignal?: AbortSignal) {
    this.timeoutMs = timeoutMs;
    this.#server = target.server;
    this.#tool = target.tool;
    this.#caller = callerSignal;
    this.#timer = setTimeout(() => {
      this.#expired = true;
      for (const fire of [...this.#onExpiry]) fire();
    }, clampTimer(timeoutMs));
    this.#timer.unref();
  }

  /**
   * Fires at the deadline or when the caller cancels. Built on first use: a warm call never
   * asks for it, and an AbortSignal.any per call was a visible share of a REST call's CPU.
   */
  get signal(): AbortSignal {
    if (this.#signal === undefined) {
      const expiry = new AbortController();
      if (this.#expired) expiry.abort();
      else this.#onExpiry.add(() => expiry.abort());
      this.#signal = this.#caller ? AbortSignal.any([this.#caller, expiry.signal]) : expiry.signal;
    }
    return this.#signal;
  }

  /** What signal.aborted would say, without building the signal. */
  get #lapsed(): boolean {
    return this.#expired || this.#caller?.aborted === true;
  }

  /** Milliseconds since the call started. */
  get spentMs(): number {
    return performance.now() - this.#started - this.#excludedMs;
  }

  /** `ms` the call spent waiting on a human: it does not count against the timeout. */
  exclude(ms: number): void {
    this.#excludedMs += ms;
  }

  /** What is left for the request itself; at least 1 ms, so a request is never sent without a bound. */
  remainingMs(): number {
    return Math.max(1, Math.floor(this.timeoutMs - this.spentMs));
  }

  /**
   * `pending` (a start other calls may share), unless the deadline passes or the caller
   * cancels first: then TIMEOUT (or the caller's abort), and a value `pending` yields later
   * goes to `late` (a lease that must be given back).
   */
  async before<T>(pending: Promise<T>, phase: Phase, late?: (value: T) => void): Promise<T> {
    if (!this.#lapsed) {
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new Error('deadline'));
        this.#onExpiry.add(onAbort);
        this.#caller?.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([pending, aborted]);
      } catch (err) {
        // The start failed on its own before the deadline: that failure is the answer.
        if (!this.#lapsed) throw err;
      } finally {
        if (onAbort) {
          this.#onExpiry.delete(onAbort);
          this.#caller?.removeEventListener('abort', onAbort);
        }
      }
    }
    pending.then(late ?? ignore, ignore);
    throw this.failure(phase);
  }

  /** The error for a call whose deadline signal fired during `phase`: TIMEOUT, or the caller's own abort. */
  failure(phase: Phase): unknown {
    if (this.#caller?.aborted) return this.#caller.reason;
    if (phase === 'finding the tool') {
      return new GatewayError('TIMEOUT', `Tool execution timed out after ${this.timeoutMs}ms: the agent's servers were still starting to list '${this.#tool}'`, {
        tool: this.#tool,
      });
    }
    const after = phase === 'starting' ? '. The start goes on in the background; a later call may find the server ready' : '';
    return new GatewayError('TIMEOUT', `Tool execution timed out after ${this.timeoutMs}ms: server '${this.#server}' was still ${phase}${after}`, {
      server: this.#server,
      tool: this.#tool,
    });
  }

  /** Stops the timer; call when the call is over. */
  dispose(): void {
    clearTimeout(this.#timer);
  }
}

function ignore(): void {}
