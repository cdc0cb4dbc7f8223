import { closeSync, fstatSync, mkdirSync, openSync, readSync, write, writeSync } from 'node:fs';
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
 * batch is written as one write(2) of whole lines as soon as no other write is in flight
 * (at the end of the current turn, so the records of one burst share it). Each call's reply
 * waits for the write of its batch, so a call the client has seen answered has its line in
 * the kernel: a kill -9 of the gateway loses only lines of calls not yet answered, and never
 * tears a line (no partial line is ever handed over). While one write is in flight, every
 * record arriving meanwhile joins the next batch: a busy gateway makes one write per
 * thread-pool round trip, not one per call, and an idle one adds one round trip to a call.
 * No fsync: a power loss can still lose what the kernel had not written to disk.
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
  /** The batch whose write(2) is in flight. */
  #inFlight: Promise<void> | undefined;
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
    if (!this.#scheduled && this.#inFlight === undefined) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
    return batch.written;
  }

  /** Starts the write(2) of the open batch; the next batch starts when this one is done. */
  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch = this.#open;
    if (batch.records.length === 0) return;
    this.#open = newBatch();
    const data = this.#serialize(batch.records);
    this.#inFlight = new Promise<void>((done) => {
      this.#writeAll(data, 0, (err) => {
        if (err) this.#writeFailed(err);
        else this.#writeSucceeded();
        this.#inFlight = undefined;
        batch.resolve();
        done();
        if (this.#open.records.length > 0) this.#flush();
      });
    });
  };

  /** write(2) can take fewer bytes than asked (a full disk, a signal); the rest follows. */
  #writeAll(data: Buffer, offset: number, cb: (err: Error | null) => void): void {
    write(this.#fd, data, offset, data.length - offset, null, (err, n) => {
      if (err) cb(err);
      else if (offset + n < data.length) this.#writeAll(data, offset + n, cb);
      else cb(null);
    });
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

  /**
   * The synchronous exit path: what is queued is written now. A write still in flight in the
   * thread pool holds only lines of calls not yet answered.
   */
  flushSync(): void {
    const batch = this.#open;
    if (batch.records.length === 0) return;
    this.#open = newBatch();
    const data = this.#serialize(batch.records);
    try {
      for (let offset = 0; offset < data.length;) offset += writeSync(this.#fd, data, offset);
    } catch (err) {
      this.#writeFailed(err);
    }
    batch.resolve();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#inFlight !== undefined || this.#open.records.length > 0) {
        if (this.#inFlight === undefined) this.#flush();
        await this.#inFlight;
      }
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
