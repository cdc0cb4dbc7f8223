// The audit line of a call: its fields, their order and the argument hash are a contract
// (readers of the log, and lines compared across versions). Built field by field for speed
// (issue 20), the line must read exactly as the record built from spreads did.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callRecord, clip, type CallFacts } from '../../../src/audit/callRecord.js';
import { hashArgs } from '../../../src/audit/record.js';
import { createLogger } from '../../../src/log.js';

const logger = createLogger('silent');

function facts(overrides: Partial<CallFacts>): CallFacts {
  return {
    operation: 'execute_tool',
    args: { agent_id: 'a', server: 's', tool: 't', args: { b: 1, a: [1, { y: 2, x: 1 }] } },
    hashable: true,
    agentId: 'a',
    source: 'argument',
    requestedAgent: undefined,
    server: 's',
    tool: 't',
    rule: undefined,
    latency: 1.23456,
    isError: false,
    revision: 3,
    code: undefined,
    sessionId: undefined,
    decision: 'ALLOW',
    ...overrides,
  };
}

/** The record as it was built before issue 20, from spreads: the reference for the order of fields. */
function reference(a: CallFacts, auditArgs: 'hash' | 'full'): Record<string, unknown> {
  const recorded = a.operation === 'execute_tool' ? (a.args['args'] ?? {}) : a.args;
  const keys = recorded !== null && typeof recorded === 'object' && !Array.isArray(recorded) ? Object.keys(recorded) : [];
  return {
    ts: 'T',
    id: 'I',
    revision: a.revision,
    agent: a.agentId,
    ...(a.requestedAgent !== undefined ? { requested_agent: clip(a.requestedAgent) } : {}),
    identity_source: a.source,
    operation: clip(a.operation),
    server: a.server === undefined ? null : clip(a.server),
    tool: a.tool === undefined ? null : clip(a.tool),
    decision: a.decision,
    code: a.code ?? null,
    rule: a.rule === undefined ? null : clip(a.rule),
    latency_ms: Math.round(a.latency * 1000) / 1000,
    isError: a.isError,
    ...(a.sessionId !== undefined ? { session_id: clip(a.sessionId) } : {}),
    ...(a.approval !== undefined ? { approval: a.approval } : {}),
    arg_keys: keys.slice(0, 64).map((k) => (k.length > 128 ? `${k.slice(0, 128)}…` : k)),
    args_sha256: a.hashable ? hashArgs(recorded) : null,
    ...(auditArgs === 'full' && a.hashable ? { args: recorded } : {}),
  };
}

/** The line, with the two fields that differ at every call fixed. */
function line(a: CallFacts, auditArgs: 'hash' | 'full' = 'hash'): string {
  const record = callRecord(a, auditArgs, logger);
  expect(record.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  expect(record.id).toMatch(/^[0-9a-f-]{36}$/);
  return JSON.stringify({ ...record, ts: 'T', id: 'I' });
}

describe('callRecord', () => {
  it('an allowed execute_tool call: every field, in order, the downstream arguments hashed', () => {
    expect(line(facts({}))).toBe(
      '{"ts":"T","id":"I","revision":3,"agent":"a","identity_source":"argument","operation":"execute_tool","server":"s","tool":"t",' +
        '"decision":"ALLOW","code":null,"rule":null,"latency_ms":1.235,"isError":false,"arg_keys":["b","a"],' +
        '"args_sha256":"a4d2ebfd32405c197a72cf91fb2a5e9f07ec215d062488d1637268daec663ae8"}',
    );
  });

  it('the optional fields in their places, clipped keys, and the copied arguments (--audit-args full)', () => {
    const long = 'k'.repeat(130);
    const a = facts({
      args: { server: 's', tool: 't', args: { [long]: 'v', z: 'ü' } },
      agentId: null,
      source: null,
      requestedAgent: 'mallory',
      tool: undefined,
      rule: 'r1',
      latency: 0.0004,
      isError: true,
      revision: 1,
      code: 'INVALID_AGENT_ID',
      sessionId: 'sess',
      decision: 'DENY',
      approval: 'once',
    });
    expect(line(a, 'full')).toBe(
      '{"ts":"T","id":"I","revision":1,"agent":null,"requested_agent":"mallory","identity_source":null,"operation":"execute_tool",' +
        '"server":"s","tool":null,"decision":"DENY","code":"INVALID_AGENT_ID","rule":"r1","latency_ms":0,"isError":true,' +
        `"session_id":"sess","approval":"once","arg_keys":["${'k'.repeat(128)}…","z"],` +
        `"args_sha256":"94d584129a53a1e8c1dd5869ffc7d9e8f1480b18ae80b6c5df6dc7bd86eae4a0","args":{"${long}":"v","z":"ü"}}`,
    );
  });

  it('lists the first 64 keys; arguments refused as too deep are neither hashed nor copied', () => {
    const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`key${i}`, i]));
    const record = callRecord(facts({ operation: 'list_servers', args: many, hashable: false }), 'full', logger);
    expect(record.arg_keys).toEqual(Object.keys(many).slice(0, 64));
    expect(record.args_sha256).toBeNull();
    expect(record).not.toHaveProperty('args');
  });

  it('arguments the hashing cannot describe: the line goes without them', () => {
    const record = callRecord(facts({ args: { args: { n: 1n } }, sessionId: 's2' }), 'full', logger);
    expect(Object.keys(record).slice(-3)).toEqual(['session_id', 'arg_keys', 'args_sha256']);
    expect(record).toMatchObject({ arg_keys: [], args_sha256: null });
    expect(record).not.toHaveProperty('args');
  });

  it('writes the same line as the record built from spreads did, whatever the facts', () => {
    const text = fc.option(fc.string({ maxLength: 300 }), { nil: undefined });
    const facts = fc.record({
      operation: fc.constantFrom('execute_tool', 'list_servers', 'o"p\\'),
      args: fc.dictionary(fc.string({ maxLength: 140 }), fc.jsonValue(), { maxKeys: 70 }),
      hashable: fc.boolean(),
      agentId: fc.option(fc.string(), { nil: null }),
      source: fc.constantFrom(null, 'argument', 'bound', 'sole', 'fallback'),
      requestedAgent: text,
      server: text,
      tool: text,
      rule: text,
      latency: fc.double({ noNaN: true, noDefaultInfinity: true, min: 0, max: 1e9 }),
      isError: fc.boolean(),
      revision: fc.nat(),
      code: fc.option(fc.constantFrom('TIMEOUT', 'INVALID_AGENT_ID'), { nil: undefined }),
      sessionId: text,
      decision: fc.constantFrom('ALLOW', 'DENY', 'ERROR', 'TIMEOUT'),
      approval: fc.option(fc.constantFrom('once', 'session', 'remembered', 'denied', 'unavailable'), { nil: undefined }),
    }) as fc.Arbitrary<CallFacts>;
    fc.assert(
      fc.property(facts, fc.constantFrom('hash', 'full'), (a, auditArgs) => {
        expect(line(a, auditArgs as 'hash' | 'full')).toBe(JSON.stringify(reference(a, auditArgs as 'hash' | 'full')));
      }),
      { numRuns: 300 },
    );
  });
});
