import { describe, expect, it } from 'vitest';
import { MemoryAuditSink } from '../../helpers/memoryAuditSink.js';
import { CallMetrics } from '../../../src/audit/callMetrics.js';
import type { InstanceRegistry } from '../../../src/downstream/instances.js';
import type { DownstreamPool } from '../../../src/downstream/pool.js';
import { GatewayError } from '../../../src/errors.js';
import { CallPipeline } from '../../../src/gateway/calls/pipeline.js';
import type { CallEvent } from '../../../src/gateway/options.js';
import type { CallRequest, Operation } from '../../../src/gateway/calls/request.js';
import type { Snapshot } from '../../../src/gateway/context.js';
import { ServerRequestRouter } from '../../../src/gateway/serverRequests.js';
import { createLogger } from '../../../src/log.js';
import { compilePolicy } from '../../../src/policy/engine.js';
import { rules } from '../policy/fixtures.js';

// The call path without a downstream: what each kind of outcome looks like, and that every
// call leaves one audit line and one observer event with the same decision.

function pipeline() {
  const audit = new MemoryAuditSink();
  const events: CallEvent[] = [];
  const logger = createLogger('silent');
  const config = rules({ alice: { allow: { servers: ['echo'] } } });
  const snapshot: Snapshot = { revision: 3, policy: compilePolicy(config), rules: config, servers: new Map(), serverNames: [] };
  const calls = new CallPipeline(
    { defaultTimeoutMs: 1_000, maxTimeoutMs: 2_000, audit, auditArgs: 'hash', onCall: (e) => events.push(e) },
    { snapshot, pool: {} as DownstreamPool, instances: {} as InstanceRegistry },
    new ServerRequestRouter(logger),
    new CallMetrics(),
    logger,
  );
  return { calls, audit, events };
}

function request(args: Record<string, unknown>, more: Partial<CallRequest> = {}): CallRequest {
  return { operation: 'execute_tool', caller: {}, args, ownArgs: true, signal: new AbortController().signal, ...more };
}

const echoAgent: Operation<{ agent: string }> = async (ctx) => ({ agent: ctx.agentId });

describe('CallPipeline.run', () => {
  it('a value, with the agent, ALLOW and an audit line naming the target', async () => {
    const { calls, audit, events } = pipeline();
    const outcome = await calls.run(request({ agent_id: 'alice', server: 'echo', tool: 't', args: { a: 1 } }), echoAgent);
    expect(outcome).toEqual({ kind: 'value', value: { agent: 'alice' }, agent: 'alice', decision: 'ALLOW' });
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({
      agent: 'alice',
      identity_source: 'argument',
      operation: 'execute_tool',
      server: 'echo',
      tool: 't',
      decision: 'ALLOW',
      code: null,
      revision: 3,
      isError: false,
      arg_keys: ['a'],
    });
    expect(events).toEqual([expect.objectContaining({ agent: 'alice', decision: 'ALLOW', code: null, isError: false })]);
  });

  it('identity refused: failed with its code, DENY, the operation never runs', async () => {
    const { calls, audit } = pipeline();
    let ran = false;
    const outcome = await calls.run(request({ agent_id: 'mallory' }), async () => (ran = true));
    expect(ran).toBe(false);
    expect(outcome).toMatchObject({ kind: 'failed', agent: null, decision: 'DENY', error: { code: 'INVALID_AGENT_ID' } });
    expect(audit.records[0]).toMatchObject({ decision: 'DENY', code: 'INVALID_AGENT_ID', requested_agent: 'mallory', isError: true });
  });

  it("an operation's GatewayError decides the audit decision (TIMEOUT)", async () => {
    const { calls, audit } = pipeline();
    const outcome = await calls.run(request({ agent_id: 'alice' }), () => Promise.reject(new GatewayError('TIMEOUT', 'late')));
    expect(outcome).toMatchObject({ kind: 'failed', agent: 'alice', decision: 'TIMEOUT', error: { code: 'TIMEOUT' } });
    expect(audit.records[0]).toMatchObject({ decision: 'TIMEOUT', code: 'TIMEOUT' });
  });

  it('a refusal ends the call once identity is settled', async () => {
    const { calls, audit } = pipeline();
    const refusal = new GatewayError('SESSION_CONFLICT', 'other service');
    const outcome = await calls.run(request({ agent_id: 'alice' }, { refusal, caller: { auditSessionId: 's1' } }), echoAgent);
    expect(outcome).toMatchObject({ kind: 'failed', agent: 'alice', decision: 'ERROR', error: refusal });
    expect(audit.records[0]).toMatchObject({ code: 'SESSION_CONFLICT', session_id: 's1' });
  });

  it('cancelled: no answer, the audit line says CANCELLED', async () => {
    const { calls, audit } = pipeline();
    const controller = new AbortController();
    const reason = new Error('aborted');
    const outcome = await calls.run(request({ agent_id: 'alice' }, { signal: controller.signal }), () => {
      controller.abort();
      return Promise.reject(reason);
    });
    expect(outcome).toEqual({ kind: 'cancelled', reason, agent: 'alice', decision: 'ERROR' });
    expect(audit.records[0]).toMatchObject({ code: 'CANCELLED', decision: 'ERROR', isError: true });
  });

  it('no operation: a protocol error, audited as TOOL_NOT_FOUND', async () => {
    const { calls, audit } = pipeline();
    const outcome = await calls.run(request({}, { operation: 'nope' }), undefined);
    expect(outcome).toMatchObject({ kind: 'protocol', decision: 'ERROR', error: { code: -32602, message: 'Unknown tool: nope' } });
    expect(audit.records[0]).toMatchObject({ code: 'TOOL_NOT_FOUND', isError: true });
  });

  it("messages use the caller's field names", async () => {
    const { calls } = pipeline();
    const outcome = await calls.run(request({ server: 'bad name', args: 'x' }, { fields: { server: 'service', args: 'arguments' } }), echoAgent);
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^Invalid argument 'service'/) } });
  });
});
