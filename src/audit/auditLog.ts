import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { constants } from 'node:buffer';
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

/** Settled: a reaction on it runs at the end of the current turn, as a microtask. */
const SETTLED = Promise.resolve();

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
export class JsonlAuditSink implements AuditSink {
  readonly enabled = true;
  readonly #logger: Logger;
  readonly #path: string;
  readonly #fd: number;
  #closing: Promise<void> | undefined;
  #failed = false;
  /** Records not yet handed to write(2): the open batch. */
  #records: AuditRecord[] = [];
  /**
   * Settles once the open batch is written: the reaction that writes it is queued with the
   * batch's first record, and its promise is the one every call of the batch waits on.
   */
  #written: Promise<void> | undefined;
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
    this.#records.push(record);
    return (this.#written ??= SETTLED.then(this.#flush));
  }

  /**
   * Hands the open batch to write(2). A batch already written (flushSync, close) leaves nothing
   * open, or a newer batch, which is then written early: either way a batch is written before
   * the reaction queued with it settles, so before any of its calls answers.
   */
  readonly #flush = (): void => {
    this.#written = undefined;
    const records = this.#records;
    if (records.length === 0) return;
    this.#records = [];
    this.#writeNow(this.#serialize(records));
  };

  /**
   * write(2) can take fewer bytes than asked (a full disk, a signal); the rest follows. A string
   * is handed over as it is (node encodes it straight into the write's buffer), and turned into
   * bytes only for what a short write left.
   */
  #writeNow(data: string | Buffer): void {
    try {
      if (typeof data === 'string') {
        const written = writeSync(this.#fd, data);
        if (written < Buffer.byteLength(data, 'utf8')) this.#writeFrom(Buffer.from(data, 'utf8'), written);
      } else {
        this.#writeFrom(data, 0);
      }
      this.#writeSucceeded();
    } catch (err) {
      this.#writeFailed(err);
    }
  }

  #writeFrom(bytes: Buffer, offset: number): void {
    for (let at = offset; at < bytes.length;) at += writeSync(this.#fd, bytes, at);
  }

  /**
   * The batch's lines as one string; as one buffer of per-line buffers only when the lines
   * together pass a string's limit (huge copied arguments, --audit-args full).
   */
  #serialize(records: readonly AuditRecord[]): string | Buffer {
    const lines: string[] = this.#needsNewline ? ['\n'] : [];
    this.#needsNewline = false;
    let chars = lines.length;
    for (const record of records) {
      const line = this.#line(record);
      lines.push(line);
      chars += line.length;
    }
    if (chars <= constants.MAX_STRING_LENGTH) return lines.length === 1 ? (lines[0] as string) : lines.join('');
    return Buffer.concat(lines.map((line) => Buffer.from(line, 'utf8')));
  }

  #line(record: AuditRecord): string {
    try {
      return JSON.stringify(record) + '\n';
    } catch (err) {
      // Only the copied arguments (--audit-args full) can be this large: the line goes without them.
      this.#logger.error({ err, path: this.#path }, 'audit line written without its arguments');
      const { args: _dropped, ...rest } = record;
      return JSON.stringify(rest) + '\n';
    }
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
