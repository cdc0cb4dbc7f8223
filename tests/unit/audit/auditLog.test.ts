// JsonlAuditSink queues records and writes them in batches of whole lines; nothing queued
// may be lost on close() or flushSync(), and the order of calls is the order of lines. The
// promise write() returns settles only once the record's line is in the file (group commit).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlAuditSink } from '../../../src/audit/auditLog.js';
import { isoTimestamp, type AuditRecord } from '../../../src/audit/record.js';
import { createLogger } from '../../../src/log.js';
import { waitFor } from '../../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir } from '../../helpers/tmp.js';

afterAll(cleanupTmpDirs);

function record(i: number): AuditRecord {
  return {
    ts: isoTimestamp(),
    id: `id-${i}`,
    agent: 'a',
    identity_source: 'argument',
    operation: 'execute_tool',
    server: 's',
    tool: 't',
    decision: 'ALLOW',
    code: null,
    rule: null,
    latency_ms: i,
    arg_keys: [],
    args_sha256: null,
    isError: false,
  };
}

const lines = (path: string): AuditRecord[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);

describe('JsonlAuditSink', () => {
  it('writes every record written before close(), in order, as whole lines', async () => {
    const path = join(makeTmpDir(), 'audit.jsonl');
    const sink = new JsonlAuditSink(path, createLogger('silent'));
    for (let i = 0; i < 500; i++) void sink.write(record(i));
    await sink.close();
    const raw = readFileSync(path, 'utf8');
    expect(raw.endsWith('\n')).toBe(true);
    expect(lines(path).map((r) => r.id)).toEqual(Array.from({ length: 500 }, (_, i) => `id-${i}`));
    void sink.write(record(999)); // after close: ignored
    expect(lines(path)).toHaveLength(500);
  });

  it('writes queued records on its own shortly after, without close()', async () => {
    const path = join(makeTmpDir(), 'audit.jsonl');
    const sink = new JsonlAuditSink(path, createLogger('silent'));
    void sink.write(record(1));
    void sink.write(record(2));
    await waitFor(() => {
      try {
        return lines(path).length === 2;
      } catch {
        return false;
      }
    });
    void sink.write(record(3));
    await waitFor(() => lines(path).length === 3);
    await sink.close();
  });

  it('flushSync() writes what is queued', async () => {
    const path = join(makeTmpDir(), 'audit.jsonl');
    const sink = new JsonlAuditSink(path, createLogger('silent'));
    void sink.write(record(1));
    await waitFor(() => {
      try {
        return lines(path).length === 1;
      } catch {
        return false;
      }
    });
    void sink.write(record(2));
    void sink.write(record(3));
    sink.flushSync();
    expect(lines(path).map((r) => r.id)).toEqual(['id-1', 'id-2', 'id-3']);
    await sink.close();
  });
});

describe('JsonlAuditSink group commit', () => {
  it("write()'s promise settles once that line is in the file; a burst shares few writes", async () => {
    const path = join(makeTmpDir(), 'audit.jsonl');
    const sink = new JsonlAuditSink(path, createLogger('silent'));
    const first = sink.write(record(0));
    expect(first).toBeInstanceOf(Promise);
    await first;
    expect(lines(path).map((r) => r.id)).toEqual(['id-0']);
    const burst = Array.from({ length: 100 }, (_, i) => sink.write(record(i + 1)));
    // One batch for the whole burst: they were all queued before its write started.
    expect(new Set(burst).size).toBe(1);
    await burst[99];
    expect(lines(path)).toHaveLength(101);
    // While a write is in flight, later records wait for the next batch, not a timer.
    const a = sink.write(record(200));
    await Promise.resolve();
    const b = sink.write(record(201));
    expect(b).not.toBe(a);
    await b;
    expect(
      lines(path)
        .map((r) => r.id)
        .slice(-2),
    ).toEqual(['id-200', 'id-201']);
    await sink.close();
  });

  it('a file ending in a torn line (an earlier crash) gets a newline before the first new line', async () => {
    const path = join(makeTmpDir(), 'audit.jsonl');
    writeFileSync(path, '{"ts":"2026-01-01T00:00:00.000Z","id":"old"}\n{"ts":"2026-01-01T00:00:0');
    const sink = new JsonlAuditSink(path, createLogger('silent'));
    await sink.write(record(1));
    await sink.close();
    const raw = readFileSync(path, 'utf8').split('\n');
    expect(raw).toHaveLength(4);
    expect(JSON.parse(raw[2]!)).toMatchObject({ id: 'id-1' });
  });
});

describe('JsonlAuditSink writes every line', () => {
  it('writes text beyond ASCII byte for byte', async () => {
    const path = join(makeTmpDir(), 'audit.jsonl');
    const sink = new JsonlAuditSink(path, createLogger('silent'));
    const tools = ['é', '🙂 ok', '\u2028', 'x"\\'];
    for (const [i, tool] of tools.entries()) void sink.write({ ...record(i), tool });
    await sink.close();
    expect(lines(path).map((r) => r.tool)).toEqual(tools);
  });

  it('records queued after a flushSync() in the same turn are written before their promise settles', async () => {
    const path = join(makeTmpDir(), 'audit.jsonl');
    const sink = new JsonlAuditSink(path, createLogger('silent'));
    const first = sink.write(record(1));
    sink.flushSync();
    const second = sink.write(record(2));
    await first;
    expect(lines(path).map((r) => r.id)).toEqual(['id-1', 'id-2']);
    await second;
    const third = sink.write(record(3));
    await third;
    expect(lines(path).map((r) => r.id)).toEqual(['id-1', 'id-2', 'id-3']);
    await sink.close();
  });

  it('a record whose copied arguments cannot be serialized is written without them', async () => {
    const path = join(makeTmpDir(), 'audit.jsonl');
    const sink = new JsonlAuditSink(path, createLogger('silent'));
    await sink.write({ ...record(1), args: { n: 1n } });
    await sink.write(record(2));
    await sink.close();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['id'])).toEqual(['id-1', 'id-2']);
    expect(lines[0]).not.toHaveProperty('args');
  });
});

describe('isoTimestamp', () => {
  it('is toISOString of the given or current millisecond', () => {
    for (const ms of [0, 1, 1_700_000_000_123, 1_700_000_000_123, 1_700_000_000_124]) {
      expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
    }
    const before = Date.now();
    const now = Date.parse(isoTimestamp());
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('agrees with toISOString for any millisecond, in any order (the cached second is reused or replaced)', () => {
    const ms = fc.oneof(
      fc.integer({ min: -8.64e15 - 2000, max: 8.64e15 + 2000 }),
      fc.constantFrom(8.64e15, -8.64e15, 8.64e15 + 1, -8.64e15 - 1),
      fc.integer({ min: 1.7e12, max: 1.7e12 + 5000 }),
      fc.double({ min: -1e13, max: 1e13, noNaN: true }),
    );
    fc.assert(
      fc.property(fc.array(ms, { minLength: 1, maxLength: 20 }), (values) => {
        for (const value of values) {
          if (Number.isNaN(new Date(value).getTime())) expect(() => isoTimestamp(value)).toThrow(RangeError);
          else expect(isoTimestamp(value)).toBe(new Date(value).toISOString());
        }
      }),
      { numRuns: 500 },
    );
  });
});
