import { describe, expect, it } from 'vitest';
import { outgoingMeta, stripEnvelope, withMeta } from '../../../src/downstream/envelope.js';

const CAPS = 'io.modelcontextprotocol/clientCapabilities';

describe('outgoing _meta', () => {
  const meta = { traceparent: '00-a-b-01', baggage: 'k=v', [CAPS]: { elicitation: {} } };

  it('carries the caller’s capabilities to a 2026 server only', () => {
    expect(outgoingMeta(meta, 'modern')).toEqual(meta);
    expect(outgoingMeta(meta, 'legacy')).toEqual({ traceparent: '00-a-b-01', baggage: 'k=v' });
    expect(outgoingMeta(meta, undefined)).toEqual({ traceparent: '00-a-b-01', baggage: 'k=v' });
  });

  it('merges into the params’ own _meta, the caller’s keys winning, and leaves params alone without meta', () => {
    const params = { name: 't', _meta: { progressToken: 3, traceparent: 'old' } };
    expect(withMeta(params, { traceparent: 'new' }, 'legacy')).toEqual({ name: 't', _meta: { progressToken: 3, traceparent: 'new' } });
    expect(params._meta.traceparent).toBe('old');
    expect(withMeta(params, undefined, 'modern')).toBe(params);
    expect(withMeta(undefined, { traceparent: 'x' }, 'modern')).toEqual({ _meta: { traceparent: 'x' } });
  });
});

describe('results coming back', () => {
  it('lose the downstream’s reserved _meta keys and cache hints, and keep everything else', () => {
    const result = {
      tools: [],
      ttlMs: 0,
      cacheScope: 'private',
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'down' }, vendor: 1 },
    };
    expect(stripEnvelope(result)).toEqual({ tools: [], _meta: { vendor: 1 } });
    expect(result.ttlMs).toBe(0);
  });

  it('drop a _meta left empty, keep resultType, and pass untouched results through as they are', () => {
    const asked = { resultType: 'input_required', requestState: 's', _meta: { 'io.modelcontextprotocol/serverInfo': {} } };
    expect(stripEnvelope(asked)).toEqual({ resultType: 'input_required', requestState: 's' });
    const plain = { content: [] };
    expect(stripEnvelope(plain)).toBe(plain);
    expect(stripEnvelope(null)).toBeNull();
  });

  it('keep a task’s ttlMs, which is its retention, not a cache hint', () => {
    const task = { taskId: 'task-1', status: 'working', ttlMs: 600_000, _meta: { 'io.modelcontextprotocol/serverInfo': {} } };
    expect(stripEnvelope(task)).toEqual({ taskId: 'task-1', status: 'working', ttlMs: 600_000 });
  });
});
