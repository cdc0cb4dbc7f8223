import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { UpstreamSession } from '../serverRequests.js';
import { errorMessage } from '../../values.js';

// Tells each client that a list changed only when what it was shown changed. A session's
// answer to tools/list, resources/list (+ templates) and prompts/list is remembered as a
// fingerprint; after something that may change them (a downstream list_changed, a restart,
// a reload) the lists are computed again for that session's agent and compared. Triggers are
// coalesced: one check runs `debounceMs` after the last of a burst.

export type ListKind = 'tools' | 'resources' | 'prompts';

export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64');
}

export interface ListChangeOptions {
  readonly debounceMs: number;
  readonly logger: Logger;
  /** The session's current answer for `kind`, as its list handler would give it. */
  readonly current: (session: UpstreamSession, kind: ListKind) => Promise<unknown>;
}

export class ListChanges {
  readonly #options: ListChangeOptions;
  readonly #seen = new Map<UpstreamSession, Partial<Record<ListKind, string>>>();
  /** Sessions that left: a list answered after they did (a slow tools/list) must not bring them back. */
  readonly #gone = new WeakSet<UpstreamSession>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: ListChangeOptions) {
    this.#options = options;
  }

  /** The session was just shown `answer` for `kind`. */
  shown(session: UpstreamSession, kind: ListKind, answer: unknown): void {
    if (this.#gone.has(session)) return;
    let seen = this.#seen.get(session);
    if (!seen) {
      seen = {};
      this.#seen.set(session, seen);
    }
    seen[kind] = fingerprint(answer);
  }

  forget(session: UpstreamSession): void {
    this.#seen.delete(session);
    this.#gone.add(session);
  }

  /** Something may have changed: check every session after the debounce. */
  schedule(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#check();
    }, this.#options.debounceMs);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #check(): Promise<void> {
    if (this.#running) {
      // A trigger during a check: run once more afterwards, as it may have missed it.
      this.#again = true;
      return;
    }
    this.#running = this.#checkAll();
    try {
      await this.#running;
    } finally {
      this.#running = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.schedule();
      }
    }
  }

  async #checkAll(): Promise<void> {
    let notified = 0;
    await Promise.all(
      [...this.#seen].map(async ([session, seen]) => {
        for (const kind of Object.keys(seen) as ListKind[]) {
          if (this.#closed) return;
          let now: string;
          try {
            now = fingerprint(await this.#options.current(session, kind));
          } catch (err) {
            this.#options.logger.debug({ err: errorMessage(err), kind }, 'could not recompute a list');
            continue;
          }
          if (seen[kind] === now || !this.#seen.has(session)) continue;
          seen[kind] = now;
          notified++;
          this.#options.logger.debug({ session: session.id, kind }, 'visible list changed; notifying the client');
          session.notifyListChanged?.(kind).catch((err: unknown) => {
            this.#options.logger.debug({ err, session: session.id, kind }, `could not send notifications/${kind}/list_changed`);
          });
        }
      }),
    );
    this.#options.logger.debug({ sessions: this.#seen.size, notified }, 'visible lists checked');
  }
}
