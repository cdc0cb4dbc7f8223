// Time as the downstream layer sees it: supervision, backoff, fail-fast windows, call and
// connect bounds, drain waits and the instance sweep all read it, so tests can move it
// instead of sleeping.

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
