// Per-key trailing debounce: every event restarts that key's timer, and the key is reported
// once it has been quiet for the whole window. Keys never delay each other. The timers are
// given, so that tests move time themselves instead of sleeping.

import type { Clock } from '../downstream/clock.js';

/** The timer half of a Clock: realClock's (unref'd), or a stand-in that a test advances by hand. */
export type Timers = Pick<Clock, 'setTimeout' | 'clearTimeout'>;

export class KeyedDebounce<K> {
  readonly #pending = new Map<K, unknown>();
  readonly #quietMs: number;
  readonly #timers: Timers;
  readonly #onQuiet: (key: K) => void;

  constructor(quietMs: number, timers: Timers, onQuiet: (key: K) => void) {
    this.#quietMs = quietMs;
    this.#timers = timers;
    this.#onQuiet = onQuiet;
  }

  /** An event for `key`: its report waits until `quietMs` pass without another one. */
  poke(key: K): void {
    const pending = this.#pending.get(key);
    if (pending !== undefined) this.#timers.clearTimeout(pending);
    const handle = this.#timers.setTimeout(() => {
      this.#pending.delete(key);
      this.#onQuiet(key);
    }, this.#quietMs);
    this.#pending.set(key, handle);
  }

  /** Drops every pending report. */
  cancel(): void {
    for (const handle of this.#pending.values()) this.#timers.clearTimeout(handle);
    this.#pending.clear();
  }
}
