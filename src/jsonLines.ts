// Newline-delimited JSON framing for both stdio pipes: requests from the client on our
// stdin, and each downstream server's stdout.
//
// Why not the SDK's ReadBuffer: it concatenates the whole buffer with every new chunk and
// searches it from the start for a newline, so one line of n bytes arriving in 64 KiB chunks
// costs O(n²) (a 63 MB result measured 32.7 s of CPU, with every other server's calls stuck
// behind it); past its limit it clears itself and throws, after which the rest of the line
// is parsed as garbage and the StdioServerTransport closes. Here a partial line is a list of
// chunks, only each new chunk is searched, and bytes are copied once, when the line is
// complete. A line over the limit is reported and then skipped up to its newline, whatever
// its length, without holding any of it.

export type JsonLine =
  /** One complete line that is JSON (any JSON value: the caller decides what a message is). */
  | { readonly kind: 'json'; readonly value: unknown }
  /** One complete line that is not JSON; `text` is its start, for logs. */
  | { readonly kind: 'notJson'; readonly text: string }
  /** A line just passed `maxLineBytes`; the rest of it is being skipped. */
  | { readonly kind: 'overflow' }
  /** The end of that over-long line arrived. `head` and `tail` are its first and last bytes. */
  | { readonly kind: 'tooLong'; readonly head: string; readonly tail: string };

/** How much of a line is kept for logs and for finding the id of an over-long request. */
const EDGE_BYTES = 256;
const NEWLINE = 0x0a;

export class JsonLineReader {
  readonly #maxLineBytes: number;
  /** The partial line: slices of the chunks it arrived in, not yet copied. */
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** Inside an over-long line: everything up to the next newline is dropped. */
  #skipping = false;
  #head = '';
  /** The last EDGE_BYTES of the skipped line seen so far. */
  #tail: Buffer = Buffer.alloc(0);
  #ready: JsonLine[] = [];
  #readAt = 0;

  constructor(maxLineBytes: number) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes <= 0) throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    this.#maxLineBytes = maxLineBytes;
  }

  get maxLineBytes(): number {
    return this.#maxLineBytes;
  }

  append(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      this.#endLine(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) this.#hold(chunk.subarray(start));
  }

  /** The next line read, or undefined when none is complete yet. */
  next(): JsonLine | undefined {
    if (this.#readAt >= this.#ready.length) return undefined;
    const line = this.#ready[this.#readAt++];
    if (this.#readAt === this.#ready.length) {
      this.#ready = [];
      this.#readAt = 0;
    }
    return line;
  }

  /** Drops everything held, complete lines included. */
  clear(): void {
    this.#parts = [];
    this.#partBytes = 0;
    this.#skipping = false;
    this.#tail = Buffer.alloc(0);
    this.#ready = [];
    this.#readAt = 0;
  }

  #hold(part: Buffer): void {
    if (this.#skipping) {
      this.#keepTail(part);
      return;
    }
    if (this.#partBytes + part.length > this.#maxLineBytes) {
      this.#startSkipping(part);
      return;
    }
    this.#parts.push(part);
    this.#partBytes += part.length;
  }

  #endLine(last: Buffer): void {
    if (this.#skipping) {
      this.#keepTail(last);
      this.#skipping = false;
      this.#ready.push({ kind: 'tooLong', head: this.#head, tail: this.#tail.toString('utf8') });
      this.#tail = Buffer.alloc(0);
      return;
    }
    const bytes = this.#partBytes + last.length;
    if (bytes > this.#maxLineBytes) {
      this.#startSkipping(last);
      this.#endLine(Buffer.alloc(0));
      return;
    }
    const line = this.#parts.length === 0 ? last : Buffer.concat([...this.#parts, last], bytes);
    this.#parts = [];
    this.#partBytes = 0;
    const parsed = parseLine(line);
    if (parsed !== undefined) this.#ready.push(parsed);
  }

  #startSkipping(part: Buffer): void {
    this.#head = firstBytes([...this.#parts, part], EDGE_BYTES).toString('utf8');
    this.#parts = [];
    this.#partBytes = 0;
    this.#skipping = true;
    this.#tail = Buffer.alloc(0);
    this.#keepTail(part);
    this.#ready.push({ kind: 'overflow' });
  }

  #keepTail(part: Buffer): void {
    if (part.length >= EDGE_BYTES) {
      this.#tail = Buffer.from(part.subarray(part.length - EDGE_BYTES));
    } else if (part.length > 0) {
      const joined = Buffer.concat([this.#tail, part]);
      this.#tail = joined.subarray(Math.max(0, joined.length - EDGE_BYTES));
    }
  }
}

/** undefined for a blank line, which is no message at all. */
function parseLine(line: Buffer): JsonLine | undefined {
  const text = line.toString('utf8');
  try {
    return { kind: 'json', value: JSON.parse(text) };
  } catch {
    if (/^\s*$/.test(text)) return undefined;
    return { kind: 'notJson', text: text.length > EDGE_BYTES ? `${text.slice(0, EDGE_BYTES)}…` : text };
  }
}

function firstBytes(parts: readonly Buffer[], n: number): Buffer {
  const out: Buffer[] = [];
  let bytes = 0;
  for (const part of parts) {
    if (bytes >= n) break;
    const taken = part.subarray(0, n - bytes);
    out.push(taken);
    bytes += taken.length;
  }
  return Buffer.concat(out, bytes);
}
