// Supervision of one downstream server. Every failure (a start that fails, an exit, a broken
// connection) counts; an answered request, or a connection that stayed up for `stableMs`,
// ends the streak. After n failures in a row the next attempt waits until
// lastFailureAt + min(baseMs * 2^(n-1), maxMs) (0.5 s, 1 s, 2 s, 4 s, ... 30 s). Below
// `failFastAfter` (5) failures a call waits out that delay and then tries (concurrent calls
// share the one attempt); from 5 on the server is failing fast: calls are refused at once with
// a message that says when the next attempt may be made, and the first call after that time
// makes it. Nothing restarts in the background: a server that nobody calls costs nothing.

import { clampTimer } from './abort.js';
import type { Clock } from './clock.js';

/** Restart backoff; see the header comment. */
export interface BackoffPolicy {
  /** Delay after the first failure. Default 500 ms. */
  readonly baseMs: number;
  /** Largest delay. Default 30 000 ms. */
  readonly maxMs: number;
  /** Failures in a row after which calls are refused at once until the retry time. Default 5. */
  readonly failFastAfter: number;
  /** A connection that stayed up this long before breaking starts a new streak. Default 30 000 ms. */
  readonly stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 500, maxMs: 30_000, failFastAfter: 5, stableMs: 30_000 });

/** Delay before the attempt that follows `failures` failures in a row (0 when there were none). */
export function backoffDelay(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (failures <= 0) return 0;
  // 2^(n-1) overflows nothing before the cap: the exponent is bounded first.
  const exponent = Math.min(failures - 1, 30);
  return Math.min(policy.baseMs * 2 ** exponent, policy.maxMs);
}

/** The failure streak of one connection and the waits it imposes. */
export class Supervision {
  readonly policy: BackoffPolicy;
  readonly #clock: Clock;
  /** Connection attempts made after a failure. */
  restarts = 0;
  /** Failures in a row; see the header comment. */
  consecutiveFailures = 0;
  #lastFailureAt: number | undefined;
  /** clock.now() when the current client became ready. */
  #readyAt: number | undefined;

  constructor(policy: Partial<BackoffPolicy> | undefined, clock: Clock) {
    this.policy = { ...DEFAULT_BACKOFF, ...policy };
    this.#clock = clock;
  }

  /** Whether a client was ever ready. */
  get wasReady(): boolean {
    return this.#readyAt !== undefined;
  }

  /** When a failed server may be tried again (the caller knows whether it is failed). */
  retryAt(): number | undefined {
    if (this.#lastFailureAt === undefined) return undefined;
    return this.#lastFailureAt + backoffDelay(this.consecutiveFailures, this.policy);
  }

  /** Whether `retryAt`, the retry time of a failed server, refuses calls at once now. */
  refusesUntil(retryAt: number | undefined): retryAt is number {
    return retryAt !== undefined && this.consecutiveFailures >= this.policy.failFastAfter && this.#clock.now() < retryAt;
  }

  /** Counts a failure; true when this one starts failing fast (worth a log line). */
  recordFailure(): boolean {
    this.consecutiveFailures++;
    this.#lastFailureAt = this.#clock.now();
    return this.consecutiveFailures === this.policy.failFastAfter;
  }

  recordReady(): void {
    this.#readyAt = this.#clock.now();
  }

  /** A connection that served for a while before breaking is a new incident, not a streak. */
  recordBroken(): void {
    if (this.#readyAt !== undefined && this.#clock.now() - this.#readyAt >= this.policy.stableMs) this.consecutiveFailures = 0;
  }

  /** The server answered: whatever failed before is over. */
  recordSuccess(): void {
    this.consecutiveFailures = 0;
  }

  /** Milliseconds from now until `at`. */
  until(at: number): number {
    return at - this.#clock.now();
  }

  /** Sleeps out the backoff before an attempt; `signal` (the connection's lifetime) cuts it short. */
  wait(ms: number, signal: AbortSignal, closedError: () => Error): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(closedError());
        return;
      }
      const onAbort = (): void => {
        this.#clock.clearTimeout(timer);
        reject(closedError());
      };
      // A waiting call keeps its client (and so the process) busy; the wait itself must not.
      const timer = this.#clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, clampTimer(ms));
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  failFastMessage(server: string, lastError: string | undefined, retryAt: number): string {
    const seconds = Math.max(1, Math.ceil((retryAt - this.#clock.now()) / 1000));
    const last = lastError === undefined ? '' : ` Last error: ${lastError}`;
    return (
      `Server '${server}' is marked failed after ${this.consecutiveFailures} failures in a row; ` +
      `next retry at ${new Date(retryAt).toISOString()} (in ${seconds} s).${last}`
    );
  }
}
