import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../../src/policy/engine.js';
import { resolveIdentity, type IdentityInput } from '../../../src/policy/identity.js';
import type { IdentityResult } from '../../../src/policy/types.js';
import { signalWireRules, SIGNALWIRE_AGENT } from '../../../src/config/signalwireConfig.js';
import { R0_AGENTS, rules } from './fixtures.js';

const STRICT = compilePolicy(rules(R0_AGENTS, true));
const LENIENT = compilePolicy(rules(R0_AGENTS, false));
const { default: _omitted, ...WITHOUT_DEFAULT } = R0_AGENTS;
const LENIENT_NO_DEFAULT = compilePolicy(rules(WITHOUT_DEFAULT, false));

const MISSING_MESSAGE = "Missing required parameter 'agent_id'. All tool calls must include agent identity.";
const HELP =
  "Either provide 'agent_id' in your tool calls, or ask the user to configure the gateway fallback settings. " +
  'See gateway documentation for configuration options.';

const ok = (agentId: string, source: string): IdentityResult => ({ ok: true, agentId, source }) as IdentityResult;

interface Case {
  name: string;
  input: IdentityInput;
  expected: IdentityResult | { ok: false; code: string; message?: string | RegExp; rule?: string };
}

// Reference §D.3, numbered as there, plus the cases the issue adds.
const CASES: Case[] = [
  {
    name: '33 strict: a missing id is refused and the fallback env var is ignored',
    input: { policy: STRICT, fallbackAgent: 'researcher' },
    expected: { ok: false, code: 'MISSING_AGENT_ID', message: MISSING_MESSAGE, rule: 'defaults.deny_on_missing_agent' },
  },
  {
    name: '34 lenient: a missing id uses GATEWAY_DEFAULT_AGENT',
    input: { policy: LENIENT, fallbackAgent: 'researcher' },
    expected: ok('researcher', 'env_default'),
  },
  {
    name: '35 lenient: a fallback agent missing from the rules is an error, not a fall-through to default',
    input: { policy: LENIENT, fallbackAgent: 'nonexistent' },
    expected: {
      ok: false,
      code: 'FALLBACK_AGENT_NOT_IN_RULES',
      message: `Missing 'agent_id' parameter and fallback agent 'nonexistent' is not configured in gateway rules.\n${HELP}`,
    },
  },
  {
    name: '36 lenient, no env: the agent named default',
    input: { policy: LENIENT },
    expected: ok('default', 'default_agent'),
  },
  {
    name: '37 lenient, no env, no default agent',
    input: { policy: LENIENT_NO_DEFAULT },
    expected: {
      ok: false,
      code: 'NO_FALLBACK_CONFIGURED',
      message: `Missing 'agent_id' parameter and no fallback agent configured.\n${HELP}`,
    },
  },
  {
    name: '38 an empty agent_id counts as missing (strict)',
    input: { policy: STRICT, requested: '' },
    expected: { ok: false, code: 'MISSING_AGENT_ID', message: MISSING_MESSAGE },
  },
  { name: '38 an empty agent_id counts as missing (lenient)', input: { policy: LENIENT, requested: '' }, expected: ok('default', 'default_agent') },
  { name: '38 a null agent_id counts as missing', input: { policy: LENIENT, requested: null }, expected: ok('default', 'default_agent') },
  {
    name: '38 an empty GATEWAY_DEFAULT_AGENT counts as unset',
    input: { policy: LENIENT, fallbackAgent: '' },
    expected: ok('default', 'default_agent'),
  },
  {
    name: '38 an empty GATEWAY_DEFAULT_AGENT counts as unset (no default agent)',
    input: { policy: LENIENT_NO_DEFAULT, fallbackAgent: '' },
    expected: { ok: false, code: 'NO_FALLBACK_CONFIGURED' },
  },
  {
    name: '39 an explicit agent_id wins over GATEWAY_DEFAULT_AGENT',
    input: { policy: LENIENT, requested: 'backend', fallbackAgent: 'researcher' },
    expected: ok('backend', 'argument'),
  },
  { name: 'an explicit known agent_id under strict rules', input: { policy: STRICT, requested: 'admin' }, expected: ok('admin', 'argument') },
  { name: '"default" may be named explicitly', input: { policy: STRICT, requested: 'default' }, expected: ok('default', 'argument') },

  // C.1-1: an unknown explicit id is refused whatever deny_on_missing_agent says.
  {
    name: 'unknown explicit id, strict',
    input: { policy: STRICT, requested: 'nobody' },
    expected: { ok: false, code: 'INVALID_AGENT_ID', message: "Unknown agent_id 'nobody': it is not configured in the gateway rules" },
  },
  {
    name: 'unknown explicit id, lenient, with fallbacks available',
    input: { policy: LENIENT, requested: 'nobody', fallbackAgent: 'researcher' },
    expected: { ok: false, code: 'INVALID_AGENT_ID', message: "Unknown agent_id 'nobody': it is not configured in the gateway rules" },
  },
  { name: 'ids are compared exactly (no trimming)', input: { policy: LENIENT, requested: 'backend ' }, expected: { ok: false, code: 'INVALID_AGENT_ID' } },
  { name: 'ids are compared exactly (no case folding)', input: { policy: LENIENT, requested: 'Backend' }, expected: { ok: false, code: 'INVALID_AGENT_ID' } },
  { name: 'a prototype name is not an agent', input: { policy: LENIENT, requested: 'constructor' }, expected: { ok: false, code: 'INVALID_AGENT_ID' } },
  { name: '__proto__ is not an agent', input: { policy: LENIENT, requested: '__proto__' }, expected: { ok: false, code: 'INVALID_AGENT_ID' } },
  {
    name: 'a number is not an agent id',
    input: { policy: LENIENT, requested: 42 },
    expected: { ok: false, code: 'INVALID_AGENT_ID', message: 'Invalid agent_id: expected a string, got number' },
  },
  {
    name: 'an object is not an agent id',
    input: { policy: LENIENT, requested: { id: 'backend' } },
    expected: { ok: false, code: 'INVALID_AGENT_ID', message: 'Invalid agent_id: expected a string, got object' },
  },
  {
    name: 'an array is not an agent id',
    input: { policy: LENIENT, requested: ['backend'] },
    expected: { ok: false, code: 'INVALID_AGENT_ID', message: 'Invalid agent_id: expected a string, got array' },
  },
  // The reference treated every falsy value as missing; 0 and false are type errors here.
  { name: 'false is not "missing"', input: { policy: LENIENT, requested: false }, expected: { ok: false, code: 'INVALID_AGENT_ID', message: /got boolean/ } },
  { name: '0 is not "missing"', input: { policy: LENIENT, requested: 0 }, expected: { ok: false, code: 'INVALID_AGENT_ID', message: /got number/ } },

  // Binding (--agent / GATEWAY_AGENT).
  { name: 'bound, no agent_id: acts as the bound agent', input: { policy: STRICT, bound: 'researcher' }, expected: ok('researcher', 'bound') },
  {
    name: 'bound, empty agent_id: acts as the bound agent even under strict rules',
    input: { policy: STRICT, bound: 'researcher', requested: '' },
    expected: ok('researcher', 'bound'),
  },
  { name: 'bound, null agent_id', input: { policy: STRICT, bound: 'researcher', requested: null }, expected: ok('researcher', 'bound') },
  { name: 'bound, the same agent_id', input: { policy: STRICT, bound: 'researcher', requested: 'researcher' }, expected: ok('researcher', 'bound') },
  {
    name: 'bound, another configured agent_id is refused',
    input: { policy: STRICT, bound: 'researcher', requested: 'admin' },
    expected: {
      ok: false,
      code: 'AGENT_MISMATCH',
      message: "This gateway is bound to agent 'researcher'; agent_id 'admin' is not allowed. Omit agent_id or pass 'researcher'.",
    },
  },
  {
    name: 'bound, an unknown agent_id is refused as a mismatch',
    input: { policy: LENIENT, bound: 'researcher', requested: 'nobody' },
    expected: { ok: false, code: 'AGENT_MISMATCH' },
  },
  {
    name: 'bound: the fallback settings play no part',
    input: { policy: LENIENT, bound: 'backend', fallbackAgent: 'researcher' },
    expected: ok('backend', 'bound'),
  },
  {
    name: 'bound to an agent missing from the rules',
    input: { policy: LENIENT, bound: 'ghost' },
    expected: {
      ok: false,
      code: 'INVALID_AGENT_ID',
      message: "This gateway is bound to agent 'ghost', which is not configured in the gateway rules",
    },
  },
  {
    name: 'bound to an agent missing from the rules, naming it explicitly',
    input: { policy: LENIENT, bound: 'ghost', requested: 'ghost' },
    expected: { ok: false, code: 'INVALID_AGENT_ID' },
  },
  {
    name: 'bound to "" fails closed instead of unbinding',
    input: { policy: LENIENT, bound: '', requested: 'admin' },
    expected: { ok: false, code: 'AGENT_MISMATCH' },
  },
  { name: 'bound to "" with no agent_id', input: { policy: LENIENT, bound: '' }, expected: { ok: false, code: 'INVALID_AGENT_ID' } },
  { name: 'bound, a non-string agent_id', input: { policy: STRICT, bound: 'researcher', requested: 7 }, expected: { ok: false, code: 'INVALID_AGENT_ID' } },
];

describe("identity resolution (reference §D.3, the issue's binding)", () => {
  it.each(CASES)('$name', ({ input, expected }) => {
    const result = resolveIdentity(input);
    if (expected.ok) {
      expect(result).toEqual(expected);
      return;
    }
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe(expected.code);
    if (expected.message instanceof RegExp) expect(result.message).toMatch(expected.message);
    else if (expected.message !== undefined) expect(result.message).toBe(expected.message);
    if (expected.rule !== undefined) expect(result.rule).toBe(expected.rule);
  });

  it('only MISSING_AGENT_ID names a rule', () => {
    const results = CASES.map((c) => resolveIdentity(c.input)).filter((r) => !r.ok);
    for (const r of results) {
      if (r.ok) continue;
      if (r.code === 'MISSING_AGENT_ID') expect(r.rule).toBe('defaults.deny_on_missing_agent');
      else expect(r.rule).toBeUndefined();
    }
  });

  it('escapes a hostile agent_id in messages', () => {
    const result = resolveIdentity({ policy: LENIENT, requested: "x'\nERROR forged line" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('INVALID_AGENT_ID');
    expect(result.message).not.toContain('\n');
    expect(result.message).toContain("x\\'\\nERROR forged line");
  });

  it('caps a huge agent_id in messages', () => {
    const result = resolveIdentity({ policy: LENIENT, requested: 'a'.repeat(100_000) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message.length).toBeLessThan(400);
  });
});

describe('resolveIdentity: the sole agent (a SignalWire config.json without rules)', () => {
  const SOLE = compilePolicy(signalWireRules());
  it.each([
    ['no agent_id', undefined],
    ['its own name', SIGNALWIRE_AGENT],
    ["the name SignalWire's skill sends (its agent name)", 'greeter-agent'],
  ])('%s acts as the sole agent', (_label, requested) => {
    expect(resolveIdentity({ policy: SOLE, sole: SIGNALWIRE_AGENT, ...(requested !== undefined ? { requested } : {}) })).toEqual(ok(SIGNALWIRE_AGENT, 'sole'));
  });

  it('a non-string agent_id is still refused', () => {
    expect(resolveIdentity({ policy: SOLE, sole: SIGNALWIRE_AGENT, requested: 7 })).toMatchObject({ ok: false, code: 'INVALID_AGENT_ID' });
  });

  it('--agent still binds, and a sole agent missing from the rules does not widen anything', () => {
    expect(resolveIdentity({ policy: SOLE, sole: SIGNALWIRE_AGENT, bound: 'other', requested: 'x' })).toMatchObject({ ok: false, code: 'AGENT_MISMATCH' });
    expect(resolveIdentity({ policy: STRICT, sole: 'nobody', requested: 'ghost' })).toMatchObject({ ok: false, code: 'INVALID_AGENT_ID' });
  });
});
