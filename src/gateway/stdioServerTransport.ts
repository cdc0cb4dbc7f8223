// The server side of MCP over stdio: JSON-RPC messages, one per line, from the client on
// stdin; answers on stdout.
//
// Why not the SDK's StdioServerTransport: its line framing is quadratic (see jsonLines.ts);
// one line over its 10 MiB buffer makes it close itself, which the gateway has to take for
// the client leaving (every downstream stopped); and a line that is not JSON, or JSON that is
// not JSON-RPC, is only reported to onerror, so the client waits for its own timeout. Here
// each of those gets the JSON-RPC 2.0 answer (-32700, -32600) whenever an id is known, and
// the gateway keeps serving. Writing stays as the SDK does it (serializeMessage, 'drain').

import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/core';
import { serializeMessage, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { Transport, JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';
import { JsonLineReader } from '../jsonLines.js';
import { isPlainObject } from '../values.js';

/** Default for --max-message-bytes: the same as --max-body-bytes over HTTP, and the SDK's own stdio limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

export interface StdioServerTransportOptions {
  /** Longest request line accepted, in bytes; a longer one is answered with -32600 and skipped. */
  readonly maxMessageBytes: number;
  readonly logger: Logger;
}

export class LineStdioServerTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;

  readonly #stdin: Readable;
  readonly #stdout: Writable;
  readonly #reader: JsonLineReader;
  readonly #log: Logger;
  #started = false;
  #closed = false;
  #outputBroken = false;
  readonly #waitingForDrain: (() => void)[] = [];

  constructor(stdin: Readable, stdout: Writable, opts: StdioServerTransportOptions) {
    this.#stdin = stdin;
    this.#stdout = stdout;
    this.#reader = new JsonLineReader(opts.maxMessageBytes);
    this.#log = opts.logger;
    this.firstSend = new Promise((resolve) => (this.#sent = resolve));
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('LineStdioServerTransport already started');
    this.#started = true;
    this.#stdin.on('data', this.#onData);
    this.#stdin.on('error', this.#onError);
    this.#stdout.on('drain', this.#onDrain);
    this.#stdout.on('error', this.#onOutputError);
  }

  /** Resolves once the first message was handed to stdout: the client has had its first answer. */
  readonly firstSend: Promise<void>;
  #sent: (() => void) | undefined;

  send(message: JSONRPCMessage): Promise<void> {
    this.#sent?.();
    this.#sent = undefined;
    if (this.#outputBroken) return Promise.resolve();
    this.#coalesce();
    if (this.#stdout.write(serializeMessage(message))) return Promise.resolve();
    // The client is not reading: stop reading its requests until it has taken the answers,
    // so a client that only writes cannot grow the gateway's output buffer without bound.
    this.#stdin.pause();
    return new Promise<void>((resolve) => this.#waitingForDrain.push(resolve));
  }

  #corked = false;

  /**
   * The answers produced in one turn of the event loop (with 16 calls in flight, a chunk of
   * requests answered from one chunk of results) leave in one writev(2) instead of one
   * write(2) each: every write to the pipe wakes the client, and on a loaded machine each
   * wake-up costs both processes a context switch. The uncork runs once the turn's
   * microtasks are done, so a lone answer leaves in the same turn as before.
   */
  #coalesce(): void {
    if (this.#corked) return;
    this.#corked = true;
    this.#stdout.cork();
    process.nextTick(this.#uncork);
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.#stdout.uncork();
  };

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stdin.off('data', this.#onData);
    this.#stdin.off('error', this.#onError);
    this.#stdout.off('drain', this.#onDrain);
    // Still listening for 'error': a write already queued may fail after close.
    // Paused only when nobody else reads stdin (as the SDK's transport does).
    if (this.#stdin.listenerCount('data') === 0) this.#stdin.pause();
    this.#reader.clear();
    this.onclose?.();
  }

  readonly #onError = (error: Error): void => {
    this.onerror?.(error);
  };

  readonly #onDrain = (): void => {
    const waiting = this.#waitingForDrain.splice(0);
    for (const resolve of waiting) resolve();
    if (!this.#closed) this.#stdin.resume();
  };

  /** EPIPE and the like: the client is gone, as when stdin ends (and an unhandled 'error' would crash). */
  readonly #onOutputError = (error: Error): void => {
    if (this.#outputBroken) return;
    this.#outputBroken = true;
    this.#log.warn({ err: error }, 'stdout: cannot write to the client; closing');
    const waiting = this.#waitingForDrain.splice(0);
    for (const resolve of waiting) resolve();
    void this.close();
  };

  readonly #onData = (chunk: Buffer): void => {
    this.#reader.append(chunk);
    for (let line = this.#reader.next(); line !== undefined && !this.#closed; line = this.#reader.next()) {
      switch (line.kind) {
        case 'json':
          this.#onJson(line.value);
          break;
        case 'notJson':
          this.#log.debug('stdin: a line that is not JSON, answered with a parse error (-32700)');
          this.#answerError(null, ProtocolErrorCode.ParseError, 'Parse error: the line is not valid JSON');
          break;
        case 'overflow':
          this.#log.warn(
            { limit: this.#reader.maxLineBytes },
            'stdin: a message longer than --max-message-bytes; skipping it up to its end, then answering with an error (-32600)',
          );
          break;
        case 'tooLong':
          this.#answerError(
            recoverId(line.head, line.tail),
            ProtocolErrorCode.InvalidRequest,
            `Invalid Request: the message is longer than ${this.#reader.maxLineBytes} bytes (the gateway's --max-message-bytes)`,
          );
          break;
      }
    }
  };

  /**
   * Offered each JSON value read, before it is parsed as JSON-RPC; true: it was taken, and
   * onmessage never sees it (stdioFastCalls.ts).
   */
  intercept: ((value: unknown) => boolean) | undefined;

  #onJson(value: unknown): void {
    if (this.intercept?.(value) === true) return;
    this.dispatch(value);
  }

  /** A JSON value read, to onmessage once it is known to be JSON-RPC (else answered with -32600). */
  dispatch(value: unknown): void {
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (parsed.success) {
      try {
        this.onmessage?.(parsed.data);
      } catch (err) {
        this.onerror?.(err as Error);
      }
      return;
    }
    const problem = describeInvalid(value);
    // A notification or a response gets no answer, even an invalid one (JSON-RPC 2.0, section 5).
    if (problem.answer) this.#answerError(problem.id, ProtocolErrorCode.InvalidRequest, `Invalid Request: ${problem.reason}`);
    this.#log.debug({ reason: problem.reason, answered: problem.answer }, 'stdin: a message that is not valid JSON-RPC');
  }

  #answerError(id: RequestId | null, code: number, message: string): void {
    // The SDK's message types require an id; JSON-RPC 2.0 answers with null when none could be read.
    const answer = { jsonrpc: '2.0', id, error: { code, message } } as unknown as JSONRPCMessage;
    void this.send(answer).catch((err: unknown) => this.onerror?.(err as Error));
  }
}

/** A JSON-RPC id as the SDK's schema takes it: a string or an integer. */
export function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

interface InvalidMessage {
  readonly reason: string;
  readonly answer: boolean;
  readonly id: RequestId | null;
}

/** Why a JSON value is not a JSON-RPC message, and whether (and with which id) to answer. */
export function describeInvalid(value: unknown): InvalidMessage {
  if (!isPlainObject(value)) {
    return { reason: Array.isArray(value) ? 'batches are not supported; send one JSON object per line' : 'a message must be a JSON object', answer: true, id: null };
  }
  const hasId = Object.hasOwn(value, 'id');
  const id = isRequestId(value.id) ? value.id : null;
  const isNotification = !hasId && typeof value.method === 'string';
  const isResponse = !Object.hasOwn(value, 'method') && (Object.hasOwn(value, 'result') || Object.hasOwn(value, 'error'));
  const answer = !isNotification && !isResponse;
  if (value.jsonrpc !== '2.0') return { reason: '"jsonrpc" must be "2.0"', answer, id };
  if (typeof value.method !== 'string' && !isResponse) return { reason: '"method" must be a string', answer, id };
  if (hasId && !isRequestId(value.id)) return { reason: '"id" must be a string or an integer', answer, id };
  if (Object.hasOwn(value, 'params') && !isPlainObject(value.params)) return { reason: '"params" must be an object', answer, id };
  return { reason: 'not a JSON-RPC 2.0 request, notification or response', answer, id };
}

const ID_VALUE = String.raw`(-?\d{1,16}|"(?:[^"\\]|\\.){0,256}")`;
/** The id as the first member, or right after "jsonrpc" (how most clients write it). */
const ID_AT_HEAD = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID_VALUE}`);
/** The id as the last member, right before the closing brace (how the SDK writes it). */
const ID_AT_TAIL = new RegExp(String.raw`"id"\s*:\s*${ID_VALUE}\s*\}\s*$`);

/** The id of a request too long to parse, when its first or last bytes show it; else null. */
export function recoverId(head: string, tail: string): RequestId | null {
  const found = ID_AT_HEAD.exec(head)?.[1] ?? ID_AT_TAIL.exec(tail)?.[1];
  if (found === undefined) return null;
  try {
    const id: unknown = JSON.parse(found);
    return isRequestId(id) ? id : null;
  } catch {
    return null;
  }
}
