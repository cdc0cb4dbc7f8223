import { describe, expect, it } from 'vitest';
import { argumentDepthProblem, MAX_ARGUMENT_DEPTH, nameProblem } from '../../../src/gateway/inputBounds.js';
import { nestsDeeperThan } from '../../../src/jsonDepth.js';

/** `levels` nested objects, the outermost level 1. */
function nested(levels: number): unknown {
  let value: unknown = { leaf: 1 };
  for (let i = 1; i < levels; i++) value = i % 2 === 0 ? { v: value } : [0, value];
  return value;
}

describe('nestsDeeperThan', () => {
  it.each([
    [1, 0, true],
    [1, 1, false],
    [64, 64, false],
    [65, 64, true],
  ])('%i levels against a limit of %i: %s', (levels, limit, expected) => {
    expect(nestsDeeperThan(nested(levels), limit)).toBe(expected);
  });

  it('scalars nest nothing', () => {
    for (const v of [null, undefined, 0, 'x', true]) expect(nestsDeeperThan(v, 0)).toBe(false);
  });

  it('a million levels: answered without exhausting the stack', () => {
    expect(nestsDeeperThan(nested(1_000_000), MAX_ARGUMENT_DEPTH)).toBe(true);
  });

  it('a cycle is infinitely deep', () => {
    const a: Record<string, unknown> = {};
    a['self'] = a;
    expect(nestsDeeperThan(a, MAX_ARGUMENT_DEPTH)).toBe(true);
  });

  it('looks at every branch, not only the first', () => {
    expect(nestsDeeperThan({ shallow: 1, deep: nested(64) }, 64)).toBe(true);
    expect(nestsDeeperThan([nested(2), nested(63)], 64)).toBe(false);
  });
});

describe('argumentDepthProblem and nameProblem', () => {
  const code = (op: string, args: Record<string, unknown>, fromArgs = true) =>
    (argumentDepthProblem(op, args, fromArgs) ?? (fromArgs ? nameProblem(op, args) : undefined))?.code;

  it('execute_tool: the downstream arguments may nest 64 levels below the call', () => {
    expect(code('execute_tool', { server: 'echo', tool: 't', args: nested(64) })).toBeUndefined();
    expect(code('execute_tool', { server: 'echo', tool: 't', args: nested(65) })).toBe('INVALID_ARGUMENT');
    expect(argumentDepthProblem('execute_tool', { server: 'echo', tool: 't', args: nested(65) }, true)?.message).toMatch(/^Invalid argument 'args'/);
    expect(code('execute_tool', { server: 'echo', tool: 't', other: nested(65) })).toBe('INVALID_ARGUMENT');
  });

  it('other calls and native calls: the arguments object is level 1', () => {
    expect(code('list_servers', { x: nested(63) })).toBeUndefined();
    expect(code('list_servers', { x: nested(64) })).toBe('INVALID_ARGUMENT');
    expect(code('native_call', { x: nested(64) }, false)).toBe('INVALID_ARGUMENT');
  });

  it('server names follow the config syntax; tool names are bounded; agent ids as the rules file allows', () => {
    expect(code('get_server_tools', { server: 'a'.repeat(64) })).toBeUndefined();
    expect(code('get_server_tools', { server: 'a'.repeat(65) })).toBe('INVALID_ARGUMENT');
    expect(code('read_resource', { server: 'my server' })).toBe('INVALID_ARGUMENT');
    expect(code('execute_tool', { server: 'db', tool: 'fs/read file' })).toBeUndefined();
    expect(code('execute_tool', { server: 'db', tool: 'x'.repeat(257) })).toBe('INVALID_ARGUMENT');
    expect(code('execute_tool', { server: 'db', tool: 'a\u0085b' })).toBe('INVALID_ARGUMENT');
    expect(code('list_servers', { agent_id: 'Any Name, even with spaces' })).toBeUndefined();
    expect(code('list_servers', { agent_id: 'x'.repeat(257) })).toBe('INVALID_AGENT_ID');
    expect(code('list_servers', { agent_id: 'x\u001b[2J' })).toBe('INVALID_AGENT_ID');
    // Empty and non-string values are left to the fields' own checks (required, type).
    expect(code('execute_tool', { server: '', tool: 5, agent_id: '' })).toBeUndefined();
    // Native calls' arguments are the downstream's: their `server` means nothing to the gateway.
    expect(code('native_call', { server: 'my server' }, false)).toBeUndefined();
  });

  it('messages never echo the name', () => {
    const message = nameProblem('get_server_tools', { server: `${'s'.repeat(10_000)}\n{"forged":1}` })?.message ?? '';
    expect(message.length).toBeLessThan(200);
    expect(message).not.toContain('\n');
  });
});
