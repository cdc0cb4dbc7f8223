// A clock the test moves by hand: downstream supervision, backoff and sweeps (Clock) and the
// config watcher's debounce (Timers) run on it, so no test sleeps to see time pass.
import type { Clock, ClockTimer } from '../../src/downstream/clock.js';

interface Timer {
  readonly at: number;
  readonly fn: () => void;
}

/** A clock that stands still until advance() moves it; due timers fire in order. */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }

  clearTimeout(timer: ClockTimer): void {
    this.#timers.delete(timer as number);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the time forward by `ms`, firing every timer due by then, earliest first. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: [number, Timer] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= target && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = target;
  }

  /** Moves the time to the earliest pending timer and fires it; false when none is pending. */
  advanceToNext(): boolean {
    let at: number | undefined;
    for (const t of this.#timers.values()) if (at === undefined || t.at < at) at = t.at;
    if (at === undefined) return false;
    this.advance(Math.max(0, at - this.#now));
    return true;
  }
}
