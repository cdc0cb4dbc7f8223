// Reading a JSON request body with a size bound: 415 before reading a non-JSON body, 413 when
// the declared or the received size passes the limit, 400 naming the problem for JSON that
// does not parse or nests deeper than MAX_MESSAGE_DEPTH.
//
// An over-limit body is read to its end (and thrown away) before the 413 goes out: a client
// still writing to a socket the server has closed sees a reset instead of the answer. Past
// DRAIN_CAP_BYTES more, the gateway stops reading and closes the connection after answering.
import type { IncomingMessage } from 'node:http';
import { HttpError } from './respond.js';
import { MAX_MESSAGE_DEPTH, nestsDeeperThan } from '../jsonDepth.js';
import { errorMessage } from '../values.js';

const DRAIN_CAP_BYTES = 64 * 1024 * 1024;

export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = header.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function tooLarge(maxBytes: number, close: boolean): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `Request body is larger than the limit of ${maxBytes} bytes`, close ? { Connection: 'close' } : {});
}

/** The whole body, or an HttpError 413. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes + DRAIN_CAP_BYTES) {
      req.pause();
      reject(tooLarge(maxBytes, true));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > maxBytes;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      fn();
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) over = true;
      if (over) {
        chunks.length = 0;
        if (size > maxBytes + DRAIN_CAP_BYTES) {
          req.pause();
          finish(() => reject(tooLarge(maxBytes, true)));
        }
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(() => (over ? reject(tooLarge(maxBytes, false)) : resolve(Buffer.concat(chunks))));
    const onError = (err: Error): void => finish(() => reject(err));
    const onAborted = (): void => finish(() => reject(new Error('request aborted')));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('aborted', onAborted);
  });
}

/** Parses JSON text: the value, or why it is refused (bad JSON, or nested deeper than MAX_MESSAGE_DEPTH). */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; reason: 'syntax' | 'depth'; message: string } {
  if (text.trim() === '') return { ok: false, reason: 'syntax', message: 'Invalid JSON: the request body is empty' };
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    return { ok: false, reason: 'syntax', message: `Invalid JSON: ${errorMessage(err)}` };
  }
  if (nestsDeeperThan(value, MAX_MESSAGE_DEPTH)) return { ok: false, reason: 'depth', message: `Invalid JSON: nested deeper than ${MAX_MESSAGE_DEPTH} levels` };
  return { ok: true, value };
}

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', "Content-Type must be 'application/json'");
  }
  const parsed = parseJsonText((await readBody(req, maxBytes)).toString('utf8'));
  if (!parsed.ok) throw new HttpError(400, 'INVALID_ARGUMENT', parsed.message);
  return parsed.value;
}
