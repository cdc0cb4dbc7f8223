// What a child process writes besides the protocol: the last stderr lines, kept within
// bounds, and rate limits for logging its output.

import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { redactSecrets } from '../redact.js';

/** stderr memory bounds: a flooding server costs at most this much. */
const STDERR_MAX_LINES = 50;
const STDERR_MAX_BYTES = 64 * 1024;
const STDERR_MAX_LINE_CHARS = 4 * 1024;

/** Allows `perSecond` events per wall-clock second and counts the rest. */
export class RateLimit {
  #windowStart = 0;
  #used = 0;
  #suppressed = 0;
  constructor(private readonly perSecond: number) {}

  /** Returns whether to emit, and how many were suppressed since the last emitted one. */
  take(): { ok: boolean; suppressed: number } {
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#used = 0;
    }
    if (this.#used >= this.perSecond) {
      this.#suppressed++;
      return { ok: false, suppressed: 0 };
    }
    this.#used++;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    return { ok: true, suppressed };
  }
}

/** The last lines a process wrote, bounded in both lines and bytes. */
class LineRing {
  readonly #lines: string[] = [];
  #bytes = 0;

  push(line: string): void {
    const kept = line.length > STDERR_MAX_LINE_CHARS ? `${line.slice(0, STDERR_MAX_LINE_CHARS)}…` : line;
    this.#lines.push(kept);
    this.#bytes += kept.length;
    while (this.#lines.length > STDERR_MAX_LINES || (this.#bytes > STDERR_MAX_BYTES && this.#lines.length > 1)) {
      this.#bytes -= this.#lines.shift()?.length ?? 0;
    }
  }

  tail(n: number): string[] {
    return n <= 0 ? [] : this.#lines.slice(-n);
  }
}

/** A child's stderr: its last lines for messages, each line logged at debug (rate-limited). */
export class StderrCollector {
  readonly #log: Logger;
  readonly #server: string;
  readonly #lines = new LineRing();
  #partial = '';
  readonly #decoder = new StringDecoder('utf8');
  readonly #logLimit: RateLimit;

  constructor(log: Logger, server: string, logLinesPerSecond: number) {
    this.#log = log;
    this.#server = server;
    this.#logLimit = new RateLimit(logLinesPerSecond);
  }

  /** The last `lines` lines (an unterminated last line included), newline-joined. */
  tail(lines: number): string {
    const out = this.#lines.tail(lines);
    const partial = this.#partial.replace(/\r$/, '');
    if (partial !== '') {
      out.push(partial);
      if (out.length > lines) out.shift();
    }
    return out.join('\n');
  }

  write(chunk: Buffer): void {
    const text = this.#partial + this.#decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.#line(text.slice(start, nl));
      start = nl + 1;
    }
    let rest = text.slice(start);
    // A writer that never sends a newline must not grow this without bound.
    if (rest.length > STDERR_MAX_LINE_CHARS) {
      this.#line(rest);
      rest = '';
    }
    this.#partial = rest;
  }

  /** The stream ended: an unterminated last line counts as a line. */
  flush(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest !== '') this.#line(rest);
  }

  #line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    this.#lines.push(line);
    if (!this.#log.isLevelEnabled('debug')) return;
    const limit = this.#logLimit.take();
    if (limit.ok) {
      this.#log.debug({ server: this.#server, suppressed: limit.suppressed || undefined }, `stderr: ${clip(redactSecrets(line), 1000)}`);
    }
  }
}

/** Secrets are redacted before clipping, so a cut never leaves half a secret unmatched. */
function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
