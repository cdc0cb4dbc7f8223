import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { protocolError } from '../../../src/protocolError.js';
import { toolResult } from '../../../src/gateway/results.js';

describe('toolResult: a call outcome as tools/call answers it', () => {
  it('a value is the result itself', () => {
    const value = { content: [{ type: 'text' as const, text: 'hi' }] };
    expect(toolResult({ kind: 'value', value, agent: 'a', decision: 'ALLOW' })).toBe(value);
  });

  it('a failure is an isError result with the stable code', () => {
    const error = new GatewayError('DENIED_BY_POLICY', 'no', { rule: 'agents.a.deny.servers[0]', server: 's' });
    expect(toolResult({ kind: 'failed', error, agent: 'a', decision: 'DENY' })).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'no' }],
      structuredContent: { error: { code: 'DENIED_BY_POLICY', message: 'no', rule: 'agents.a.deny.servers[0]', server: 's' } },
    });
  });

  it('a cancelled call and a protocol error have no result: they are thrown', () => {
    const reason = new Error('aborted');
    expect(() => toolResult({ kind: 'cancelled', reason, agent: null, decision: 'ERROR' })).toThrow(reason);
    const error = protocolError(-32602, 'Unknown tool: x');
    expect(() => toolResult({ kind: 'protocol', error, agent: null, decision: 'ERROR' })).toThrow(error);
  });
});
