// Time as the downstream layer sees it: supervision, backoff, fail-fast windows, a call's
// hard maximum, the connect bound, drain waits and the instance sweep all read it, so tests
// can move it instead of sleeping. The SDK's own request timeouts (a listing's bound, a
// call's idle timeout on the SDK Client) run on the machine's timers whatever the clock; a call
// made past the Client (directCalls.ts) times out on this clock.

/** An opaque timer, as returned by Clock.setTimeout. */
export type ClockTimer = unknown;

export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
  /**
   * Runs `fn` once after `ms`. The timer never keeps the process alive: whatever waits on it
   * is owned by something that close() ends.
   */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

/** The machine's clock; unref'd timers. */
export const realClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(timer: ClockTimer): void {
    clearTimeout(timer as NodeJS.Timeout);
  },
});
