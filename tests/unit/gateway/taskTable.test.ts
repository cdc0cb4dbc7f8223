import { describe, expect, it } from 'vitest';
import type { DownstreamConnection } from '../../../src/downstream/connection.js';
import { TaskTable, type TaskEntry } from '../../../src/gateway/calls/taskTable.js';

const HOUR = 60 * 60 * 1000;

function entry(connection: object, fields: Partial<TaskEntry> = {}): TaskEntry {
  return {
    owner: 'alice',
    agent: 'alice',
    server: 'alpha',
    tool: 'slow_job',
    connection: connection as DownstreamConnection,
    generation: 1,
    downstreamId: 'task-1',
    ...fields,
  };
}

describe('TaskTable', () => {
  it('gives the same downstream id a different name per server, connection and generation', () => {
    const table = new TaskTable();
    const one = {};
    const two = {};
    const a = table.add(entry(one), 1000);
    const b = table.add(entry(two, { server: 'beta' }), 1000);
    const c = table.add(entry(two, { server: 'beta', generation: 2 }), 1000);
    const d = table.add(entry(one, { downstreamId: 'task-2' }), 1000);
    expect(a).toMatch(/^alpha\/\d+\.task-1$/);
    expect(b).toMatch(/^beta\/\d+\.task-1$/);
    expect(new Set([a, b, c]).size).toBe(3);
    // Same connection and generation: same epoch.
    expect(d.slice(0, d.indexOf('.'))).toBe(a.slice(0, a.indexOf('.')));
  });

  it('finds an id only for its owner, and treats malformed ids as unknown', () => {
    const table = new TaskTable();
    const id = table.add(entry({}), 1000);
    expect(table.find(id, 'alice')?.downstreamId).toBe('task-1');
    expect(table.find(id, 'bob')).toBeUndefined();
    expect(table.find(42, 'alice')).toBeUndefined();
    expect(table.find('x'.repeat(1000), 'alice')).toBeUndefined();
    table.forget(id);
    expect(table.find(id, 'alice')).toBeUndefined();
  });

  it('expires an entry ttlMs after it was last seen, and never later than an hour', () => {
    let now = 0;
    const table = new TaskTable(() => now);
    const short = table.add(entry({}), 1000);
    const long = table.add(entry({}, { downstreamId: 'task-2' }), 10 * HOUR);
    now = 900;
    table.seen(short, 1000);
    now = 1800;
    expect(table.find(short, 'alice')).toBeDefined();
    now = 1900;
    expect(table.find(short, 'alice')).toBeUndefined();
    expect(table.find(long, 'alice')).toBeDefined();
    now = HOUR + 1;
    expect(table.find(long, 'alice')).toBeUndefined();
  });

  it('keeps at most 1000 entries per owner, dropping the one seen longest ago', () => {
    const table = new TaskTable();
    const connection = {};
    const ids = Array.from({ length: 1001 }, (_, i) => table.add(entry(connection, { downstreamId: `task-${i}` }), 1000));
    const other = table.add(entry(connection, { owner: 'bob', downstreamId: 'bob-1' }), 1000);
    expect(table.find(ids[0], 'alice')).toBeUndefined();
    expect(table.find(ids[1], 'alice')).toBeDefined();
    expect(table.find(ids[1000], 'alice')).toBeDefined();
    expect(table.find(other, 'bob')).toBeDefined();
    expect(table.size).toBe(1001);
  });
});
