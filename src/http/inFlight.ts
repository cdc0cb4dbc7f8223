// The requests being answered, so a graceful close can wait for them (bounded) before it
// drops the connections. A long-lived stream (GET /mcp) stops counting once it is known as one.
import type { IncomingMessage, ServerResponse } from 'node:http';

export class InFlightRequests {
  readonly #tracked = new WeakSet<IncomingMessage>();
  #count = 0;
  #drained: (() => void) | undefined;
  #draining = false;

  get count(): number {
    return this.#count;
  }

  /** True once close() began: new requests get 503 and idle connections close as their requests end. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Resolves when no request is counted any more, or after `timeoutMs`; from now on the server is draining. */
  drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    if (this.#count === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#drained = resolve;
      setTimeout(resolve, timeoutMs).unref();
    });
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
}
