// The requests being answered, so a graceful close can wait for them (bounded) before it
// drops the connections. A long-lived stream (GET /mcp) stops counting once it is known as one.
import type { IncomingMessage, ServerResponse } from 'node:http';

export class InFlightRequests {
  readonly #tracked = new WeakSet<IncomingMessage>();
  #count = 0;
  #drained: (() => void) | undefined;
  /** Set by close(): new requests get 503 and idle connections close as their requests end. */
  draining = false;

  get count(): number {
    return this.#count;
  }

  /** Counts `req` until its response closes; then `ended` runs (if it was still counted). */
  track(req: IncomingMessage, res: ServerResponse, ended: () => void): void {
    this.#count++;
    this.#tracked.add(req);
    res.once('close', () => {
      if (!this.#tracked.delete(req)) return;
      this.#count--;
      ended();
      if (this.#count === 0) this.#drained?.();
    });
  }

  untrack(req: IncomingMessage): void {
    if (!this.#tracked.delete(req)) return;
    this.#count--;
    if (this.#count === 0) this.#drained?.();
  }

  /** Resolves when no request is counted any more, or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#drained = resolve;
      setTimeout(resolve, timeoutMs).unref();
    });
  }
}
