import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { AuditRecord } from './record.js';

export interface AuditSink {
  /** False when records go nowhere, so callers can skip building them. */
  readonly enabled: boolean;
  write(record: AuditRecord): void;
  /** Flushes buffered lines; idempotent. */
  close(): Promise<void>;
  /** Last-resort flush on a synchronous exit path. */
  flushSync(): void;
}

/** Audit disabled (`--audit-log off`). */
export class NullAuditSink implements AuditSink {
  readonly enabled = false;
  write(): void {}
  async close(): Promise<void> {}
  flushSync(): void {}
}

/** Collects records in memory, for tests. */
export class MemoryAuditSink implements AuditSink {
  readonly enabled = true;
  readonly records: AuditRecord[] = [];
  write(record: AuditRecord): void {
    this.records.push(record);
  }
  async close(): Promise<void> {}
  flushSync(): void {}
}

type SonicBoom = ReturnType<typeof pino.destination>;

/**
 * JSON Lines, appended. Each record is serialized to one whole line and handed to
 * SonicBoom (pino's writer) in a single write, so concurrent calls can never interleave
 * partial lines. Writes are asynchronous and buffered: a call never waits on the disk.
 * Durability: lines reach the OS as soon as the previous write completes; on a normal
 * exit or close() the buffer is flushed; a SIGKILL or power loss can lose the lines still
 * in the buffer (at most the last few milliseconds of calls). No fsync per line.
 */
export class JsonlAuditSink implements AuditSink {
  readonly enabled = true;
  readonly #stream: SonicBoom;
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;
  #failed = false;

  constructor(path: string, logger: Logger) {
    this.#logger = logger;
    mkdirSync(dirname(path), { recursive: true });
    this.#stream = pino.destination({ dest: path, append: true, sync: false, mkdir: true });
    this.#stream.on('error', (err: Error) => {
      // Writing the audit log must never fail a call; report once and carry on.
      if (!this.#failed) this.#logger.error({ err, path }, 'audit log write failed');
      this.#failed = true;
    });
  }

  write(record: AuditRecord): void {
    if (this.#closing) return;
    try {
      this.#stream.write(JSON.stringify(record) + '\n');
    } catch (err) {
      if (!this.#failed) this.#logger.error({ err }, 'audit log write failed');
      this.#failed = true;
    }
  }

  flushSync(): void {
    try {
      this.#stream.flushSync();
    } catch {
      // the stream may not be open yet or already closed; nothing more can be done
    }
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      const done = (): void => resolve();
      this.#stream.once('close', done);
      this.#stream.once('error', done);
      try {
        this.#stream.end();
      } catch {
        resolve();
      }
    });
    return this.#closing;
  }
}
