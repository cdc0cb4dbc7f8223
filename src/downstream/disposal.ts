// Closing a connection's old clients: in the background when one is dropped, awaited by
// close() so that no process outlives the pool, and killed at once on the last-resort exit.

import type { Logger } from 'pino';
import type { Client, Transport } from '@modelcontextprotocol/client';
import type { Clock } from './clock.js';
import { terminateSession } from './httpSession.js';
import { ProcessGroupTransport } from './processGroupTransport.js';
import { errorMessage } from '../values.js';

export class Disposal {
  readonly #log: Logger;
  readonly #clock: Clock;
  /** Old clients being shut down. */
  readonly #disposing = new Set<Promise<void>>();
  /** Every stdio transport whose process group may still exist, for killSync(). */
  readonly #processes = new Set<ProcessGroupTransport>();

  constructor(log: Logger, clock: Clock) {
    this.#log = log;
    this.#clock = clock;
  }

  /** A new transport: if it starts a process, killSync() covers it until it is disposed. */
  track(transport: Transport): void {
    if (transport instanceof ProcessGroupTransport) this.#processes.add(transport);
  }

  /** Closes a client in the background; settled() waits for every one of these. */
  dispose(client: Client, transport: Transport, endSession: boolean): void {
    const done = this.disposeAndWait(client, transport, endSession);
    this.#disposing.add(done);
    void done.finally(() => this.#disposing.delete(done));
  }

  async disposeAndWait(client: Client, transport: Transport, endSession = false): Promise<void> {
    try {
      if (endSession) await terminateSession(transport, this.#clock);
      await client.close();
    } catch (err) {
      this.#log.debug({ err: errorMessage(err) }, 'error while closing downstream client');
    }
    // client.close() is a no-op once the transport closed on its own; make sure of the process.
    await transport.close().catch(() => {});
    if (transport instanceof ProcessGroupTransport) this.#processes.delete(transport);
  }

  /** Resolves when every client handed to dispose() is closed. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#disposing]);
  }

  /** SIGKILL every process group now (the last-resort exit path). */
  killSync(): void {
    for (const transport of this.#processes) transport.killSync();
  }
}
