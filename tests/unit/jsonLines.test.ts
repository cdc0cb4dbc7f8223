import { ReadBuffer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JsonLineReader, type JsonLine } from '../../src/jsonLines.js';

function drain(reader: JsonLineReader): JsonLine[] {
  const out: JsonLine[] = [];
  for (let line = reader.next(); line !== undefined; line = reader.next()) out.push(line);
  return out;
}

function feed(reader: JsonLineReader, text: string | Buffer, chunkBytes: number): JsonLine[] {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const out: JsonLine[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) {
    reader.append(bytes.subarray(i, i + chunkBytes));
    out.push(...drain(reader));
  }
  return out;
}

/** Bytes copied by Buffer.concat while `fn` runs: the framing's copying cost, counted instead of timed. */
function bytesConcatenated(fn: () => void): number {
  const original = Buffer.concat.bind(Buffer);
  let copied = 0;
  const spy = vi.spyOn(Buffer, 'concat').mockImplementation((list, totalLength) => {
    const result = original(list, totalLength);
    copied += result.length;
    return result;
  });
  try {
    fn();
  } finally {
    spy.mockRestore();
  }
  return copied;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('JsonLineReader', () => {
  const input = '{"a":1}\n{"b":"é ü"}\r\n\n   \nnot json\n[1,2]\n"s"\n';
  const expected: JsonLine[] = [
    { kind: 'json', value: { a: 1 } },
    { kind: 'json', value: { b: 'é ü' } },
    { kind: 'notJson', text: 'not json' },
    { kind: 'json', value: [1, 2] },
    { kind: 'json', value: 's' },
  ];

  it.each([1, 2, 3, 5, 7, 64, 1024])('reads the same lines whatever the chunk size (%i bytes)', (chunk) => {
    expect(feed(new JsonLineReader(1024), input, chunk)).toEqual(expected);
  });

  it('holds a partial line until its newline arrives', () => {
    const reader = new JsonLineReader(1024);
    reader.append(Buffer.from('{"a":'));
    expect(reader.next()).toBeUndefined();
    reader.append(Buffer.from('2}\n{"b"'));
    expect(drain(reader)).toEqual([{ kind: 'json', value: { a: 2 } }]);
  });

  it.each([1, 100, 4096])('reports a line over the limit once, skips it to its newline, then reads on (chunks of %i)', (chunk) => {
    const long = `{"jsonrpc":"2.0","id":7,"method":"x","params":{"p":"${'x'.repeat(5000)}"}}`;
    const lines = feed(new JsonLineReader(1000), `{"ok":1}\n${long}\n{"ok":2}\n`, chunk);
    expect(lines.map((l) => l.kind)).toEqual(['json', 'overflow', 'tooLong', 'json']);
    const tooLong = lines[2] as Extract<JsonLine, { kind: 'tooLong' }>;
    expect(tooLong.head.startsWith('{"jsonrpc":"2.0","id":7,')).toBe(true);
    expect(tooLong.tail.endsWith('xx"}}')).toBe(true);
    expect(tooLong.head.length).toBeLessThanOrEqual(256);
    expect(lines[3]).toEqual({ kind: 'json', value: { ok: 2 } });
  });

  it('a line of exactly the limit is read; one byte more is too long', () => {
    const exact = `"${'a'.repeat(98)}"`;
    expect(feed(new JsonLineReader(100), `${exact}\n`, 7)).toEqual([{ kind: 'json', value: 'a'.repeat(98) }]);
    expect(feed(new JsonLineReader(100), `${exact} \n`, 7).map((l) => l.kind)).toEqual(['overflow', 'tooLong']);
  });

  it('a line without end costs no copying once over the limit', () => {
    const reader = new JsonLineReader(64 * 1024);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const copied = bytesConcatenated(() => {
      for (let i = 0; i < 1000; i++) reader.append(chunk);
    });
    // Only the head (256 bytes) and the tail (256 bytes per chunk) are kept.
    expect(copied).toBeLessThan(1000 * 1024);
    expect(drain(reader).map((l) => l.kind)).toEqual(['overflow']);
  });

  it('copies a large line once: the work is linear in its size (the SDK ReadBuffer is quadratic)', () => {
    const chunk = 64 * 1024;
    const lineOf = (bytes: number): Buffer => Buffer.concat([Buffer.from(`"${'x'.repeat(bytes - 2)}"`), Buffer.from('\n')]);
    const ours = (bytes: number): number => {
      const line = lineOf(bytes);
      const reader = new JsonLineReader(bytes + 1);
      return bytesConcatenated(() => {
        expect(feed(reader, line, chunk)).toHaveLength(1);
      });
    };
    const sdk = (bytes: number): number => {
      const line = lineOf(bytes);
      const buffer = new ReadBuffer({ maxBufferSize: bytes + 2 });
      return bytesConcatenated(() => {
        for (let i = 0; i < line.length; i += chunk) buffer.append(line.subarray(i, i + chunk));
      });
    };
    const mib = 1024 * 1024;
    const small = ours(4 * mib);
    const large = ours(8 * mib);
    expect(small).toBeLessThanOrEqual(4 * mib + chunk);
    expect(large).toBeLessThanOrEqual(2 * small + chunk);
    // The measure tells the two apart: the same 8 MiB line costs the SDK's framing ~64x the line.
    expect(sdk(8 * mib)).toBeGreaterThan(32 * 8 * mib);
  });

  it('clear() drops a partial line and any unread lines', () => {
    const reader = new JsonLineReader(1024);
    reader.append(Buffer.from('{"a":1}\n{"b":'));
    reader.clear();
    reader.append(Buffer.from('{"c":3}\n'));
    expect(drain(reader)).toEqual([{ kind: 'json', value: { c: 3 } }]);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new JsonLineReader(0)).toThrow(RangeError);
    expect(() => new JsonLineReader(1.5)).toThrow(RangeError);
  });
});
