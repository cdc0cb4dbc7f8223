// The calls running on one connection, so a retired connection can wait for them (drain)
// before it is closed under them.

import type { Clock } from './clock.js';

export class CallTracker {
  readonly #clock: Clock;
  #inFlight = 0;
  readonly #idleWaiters = new Set<() => void>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  begin(): void {
    this.#inFlight++;
  }

  end(): void {
    if (--this.#inFlight === 0 && this.#idleWaiters.size > 0) for (const wake of [...this.#idleWaiters]) wake();
  }

  /**
   * Resolves when no call is running, or after `maxWaitMs`, whichever comes first. "No call"
   * must hold for a turn of the event loop: execute_tool lists tools and then calls, and the
   * moment between the two is not idle.
   */
  drain(maxWaitMs: number): Promise<void> {
    if (this.#inFlight === 0 || maxWaitMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        this.#clock.clearTimeout(timer);
        this.#idleWaiters.delete(onIdle);
        resolve();
      };
      const onIdle = (): void => {
        setImmediate(() => {
          if (this.#inFlight === 0) finish();
        });
      };
      const timer = this.#clock.setTimeout(finish, maxWaitMs);
      this.#idleWaiters.add(onIdle);
    });
  }
}
