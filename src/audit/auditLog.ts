import { appendFileSync, mkdirSync } from 'node:fs';
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

/** Longest a record waits in the queue before it is written. */
const FLUSH_MS = 10;

/**
 * JSON Lines, appended. Records are queued and, at most FLUSH_MS after the first of them,
 * serialized and handed to SonicBoom (pino's writer) as one write of whole lines: concurrent
 * calls can never interleave partial lines, the work happens after the calls have been
 * answered, and a busy gateway makes one write per FLUSH_MS instead of one per call (each
 * asynchronous write costs a thread-pool round trip). Writes are asynchronous and buffered:
 * a call never waits on the disk. Durability: lines reach the OS within FLUSH_MS of their
 * call, or as soon as the previous write completes; close() and flushSync() write every
 * queued line first, so a normal exit loses nothing; a SIGKILL or power loss can lose the
 * lines still queued or buffered (at most the last few milliseconds of calls). No fsync.
 */
export class JsonlAuditSink implements AuditSink {
  readonly enabled = true;
  readonly #stream: SonicBoom;
  readonly #logger: Logger;
  readonly #path: string;
  #closing: Promise<void> | undefined;
  #failed = false;
  /** Records not yet handed to the stream, serialized by #flushQueued. */
  #queued: AuditRecord[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(path: string, logger: Logger) {
    this.#logger = logger;
    this.#path = path;
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
    this.#queued.push(record);
    // Not unref'd: a queued line keeps the process up for at most FLUSH_MS.
    this.#timer ??= setTimeout(this.#flushQueued, FLUSH_MS);
  }

  /** Serializes every queued record and hands the lines to the stream in one write. */
  readonly #flushQueued = (): void => {
    const lines = this.#takeQueued();
    if (lines === '') return;
    try {
      this.#stream.write(lines);
    } catch (err) {
      this.#writeFailed(err);
    }
  };

  /** The queued records as JSON lines ('' when none); the queue is emptied. */
  #takeQueued(): string {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const records = this.#queued;
    if (records.length === 0) return '';
    this.#queued = [];
    let lines = '';
    for (const record of records) {
      try {
        lines += JSON.stringify(record) + '\n';
      } catch (err) {
        this.#writeFailed(err);
      }
    }
    return lines;
  }

  #writeFailed(err: unknown): void {
    if (!this.#failed) this.#logger.error({ err }, 'audit log write failed');
    this.#failed = true;
  }

  /**
   * The synchronous exit path: what the stream buffers, then what is still queued, are
   * written now (the queued lines directly, so they do not wait for an asynchronous write).
   */
  flushSync(): void {
    try {
      this.#stream.flushSync();
    } catch {
      // the stream may not be open yet or already closed; nothing more can be done
    }
    const lines = this.#takeQueued();
    if (lines === '') return;
    try {
      appendFileSync(this.#path, lines);
    } catch (err) {
      this.#writeFailed(err);
    }
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#flushQueued();
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
