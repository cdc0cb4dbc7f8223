import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { AuditRecord } from './record.js';

export interface AuditSink {
  /** False when records go nowhere, so callers can skip building them. */
  readonly enabled: boolean;
  /**
   * Queues the record. The promise, when there is one, settles once its line has been handed
   * to the operating system (or the write failed and was reported): a call's reply waits
   * for it, so no answered call can lose its line to a kill -9.
   */
  write(record: AuditRecord): Promise<void> | undefined;
  /** Flushes buffered lines; idempotent. */
  close(): Promise<void>;
  /** Last-resort flush on a synchronous exit path. */
  flushSync(): void;
}

/** Audit disabled (`--audit-log off`). */
export class NullAuditSink implements AuditSink {
  readonly enabled = false;
  write(): undefined {}
  async close(): Promise<void> {}
  flushSync(): void {}
}

/** Records waiting for the same write(2), and the promise their calls wait on. */
interface Batch {
  readonly records: AuditRecord[];
  readonly written: Promise<void>;
  readonly resolve: () => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  const written = new Promise<void>((r) => (resolve = r));
  return { records: [], written, resolve };
}

/**
 * JSON Lines, appended (O_APPEND), with group commit: a record joins the open batch, and the
 * batch is written at the end of the current turn (a microtask), so the records of one burst
 * share one write(2) of whole lines. Each call's reply waits for the write of its batch, so a
 * call the client has seen answered has its line in the kernel: a kill -9 of the gateway
 * loses only lines of calls not yet answered, and never tears a line (no partial line is ever
 * handed over). No fsync: a power loss can still lose what the kernel had not written to disk.
 *
 * The write is synchronous: the file is a regular file (checked at open), so write(2) copies
 * into the page cache and returns in microseconds, while the thread pool's round trip added
 * about 0.1 ms to every reply (issue 20: the audit's share of a call's critical path).
 *
 * Not pino's SonicBoom (which this used before): its write() only buffers and tells nobody
 * when the bytes reached the kernel, which is exactly what a reply has to wait for.
 */
const NEWLINE = Buffer.from('\n');

export class JsonlAuditSink implements AuditSink {
  readonly enabled = true;
  readonly #logger: Logger;
  readonly #path: string;
  readonly #fd: number;
  #closing: Promise<void> | undefined;
  #failed = false;
  /** Records not yet handed to write(2). */
  #open: Batch = newBatch();
  #scheduled = false;
  /** A line torn by an earlier crash is ended before the first new line, so each new line parses. */
  #needsNewline: boolean;

  constructor(path: string, logger: Logger) {
    this.#logger = logger;
    this.#path = path;
    mkdirSync(dirname(path), { recursive: true });
    // a+: appending, and readable for the one-byte look at how the file ends.
    this.#fd = openSync(path, 'a+', 0o600);
    // A FIFO nobody reads, or a device, would hold every write and so every reply: only files.
    if (!fstatSync(this.#fd).isFile()) {
      closeSync(this.#fd);
      throw new Error(`${path} is not a regular file`);
    }
    this.#needsNewline = endsInsideLine(this.#fd);
  }

  write(record: AuditRecord): Promise<void> | undefined {
    if (this.#closing) return undefined;
    const batch = this.#open;
    batch.records.push(record);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
    return batch.written;
  }

  /** Hands the open batch to write(2) and lets its calls answer. */
  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch = this.#open;
    if (batch.records.length === 0) return;
    this.#open = newBatch();
    this.#writeNow(this.#serialize(batch.records));
    batch.resolve();
  };

  /** write(2) can take fewer bytes than asked (a full disk, a signal); the rest follows. */
  #writeNow(data: Buffer): void {
    try {
      for (let offset = 0; offset < data.length;) offset += writeSync(this.#fd, data, offset);
      this.#writeSucceeded();
    } catch (err) {
      this.#writeFailed(err);
    }
  }

  /** One buffer per line, so one huge line (full arguments) cannot push the batch past a string's limit. */
  #serialize(records: readonly AuditRecord[]): Buffer {
    const lines: Buffer[] = this.#needsNewline ? [NEWLINE] : [];
    this.#needsNewline = false;
    for (const record of records) {
      try {
        lines.push(Buffer.from(JSON.stringify(record) + '\n', 'utf8'));
      } catch (err) {
        // Only the copied arguments (--audit-args full) can be this large: the line goes without them.
        this.#logger.error({ err, path: this.#path }, 'audit line written without its arguments');
        const { args: _dropped, ...rest } = record;
        lines.push(Buffer.from(JSON.stringify(rest) + '\n', 'utf8'));
      }
    }
    return Buffer.concat(lines);
  }

  #writeFailed(err: unknown): void {
    // Writing the audit log must never fail a call; report once per outage and carry on.
    if (!this.#failed) this.#logger.error({ err, path: this.#path }, 'audit log write failed');
    this.#failed = true;
    // Part of a batch may have reached the file: end that torn line before the next one.
    try {
      this.#needsNewline = endsInsideLine(this.#fd);
    } catch {
      this.#needsNewline = true;
    }
  }

  #writeSucceeded(): void {
    if (!this.#failed) return;
    this.#failed = false;
    this.#logger.warn({ path: this.#path }, 'audit log writes work again; lines of the calls in between are lost');
  }

  /** The synchronous exit path: what is queued is written now. */
  flushSync(): void {
    this.#flush();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#flush();
      try {
        closeSync(this.#fd);
      } catch {
        // already closed
      }
    })();
    return this.#closing;
  }
}

/** True when the file is not empty and its last byte is not a newline. */
function endsInsideLine(fd: number): boolean {
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } catch {
    return false;
  }
}
