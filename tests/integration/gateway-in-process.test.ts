// The Gateway as a library, in this process: an SDK Client over InMemoryTransport for the
// protocol path, and direct callTool with a hand-made session for what HTTP mode builds on
// (a session bound to an agent, a client-chosen session id in the audit, call and reload
// observers). The downstream is our echo fixture, a real child process.
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/gateway/options.js';
import { createUpstreamServer } from '../../src/gateway/upstreamServer.js';
import { ALICE_BOB_RULES, buildGateway, closeGateways, ECHO_SERVERS, testExtra, testSession as session } from '../helpers/inProcessGateway.js';
import { cleanupTmpDirs, writeJson } from '../helpers/tmp.js';
import { codeOf } from '../helpers/results.js';
import { META_TOOL_NAMES } from '../helpers/metaTools.js';

afterEach(closeGateways);
afterAll(cleanupTmpDirs);

function build(observers: { onCall?: (e: CallEvent) => void; onReload?: (file: string, outcome: string) => void } = {}) {
  return buildGateway(ECHO_SERVERS, ALICE_BOB_RULES, observers);
}

const extra = testExtra();

describe('Gateway in process', () => {
  it('serves the meta-tools to an SDK client over InMemoryTransport', async () => {
    const { gateway } = build();
    const { server, detach } = createUpstreamServer(gateway);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'in-process', version: '1.0.0' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(META_TOOL_NAMES);
      const result = await client.request({
        method: 'tools/call',
        params: { name: 'execute_tool', arguments: { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'hi' } } },
      });
      expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);
      // An unknown gateway tool is a JSON-RPC error whose message is said once.
      const err = await client.request({ method: 'tools/call', params: { name: 'nope', arguments: {} } }).catch((e: Error) => e);
      expect(err).toMatchObject({ code: -32602, message: 'Unknown tool: nope' });
    } finally {
      await client.close();
      detach();
    }
  });

  it("binds a session to its agent: that agent's rules apply and another agent_id is AGENT_MISMATCH", async () => {
    const { gateway } = build();
    const bound = session({ boundAgent: 'bob' });
    const asBob = await gateway.callTool('execute_tool', { server: 'echo', tool: 'echo', args: { message: 'x' } }, extra, bound);
    expect(codeOf(asBob)).toBe('DENIED_BY_POLICY');
    const claimAlice = await gateway.callTool('execute_tool', { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'x' } }, extra, bound);
    expect(codeOf(claimAlice)).toBe('AGENT_MISMATCH');
    // An unbound session still takes agent_id.
    const unbound = await gateway.callTool('execute_tool', { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'x' } }, extra, session());
    expect(unbound.isError).not.toBe(true);
  });

  it('records a client-chosen session id in the audit line and tells the call observer', async () => {
    const events: CallEvent[] = [];
    const { gateway, audit } = build({ onCall: (e) => events.push(e) });
    await gateway.callTool(
      'execute_tool',
      { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'x' } },
      extra,
      session({ auditSessionId: 'call-42' }),
    );
    await gateway.callTool('execute_tool', { agent_id: 'bob', server: 'echo', tool: 'echo', args: { message: 'x' } }, extra, session());
    expect(audit.records.map((r) => r.session_id)).toEqual(['call-42', undefined]);
    expect(events).toMatchObject([
      { operation: 'execute_tool', agent: 'alice', server: 'echo', tool: 'echo', decision: 'ALLOW', code: null, isError: false, sessionId: 'call-42' },
      { operation: 'execute_tool', agent: 'bob', server: 'echo', tool: 'echo', decision: 'DENY', code: 'DENIED_BY_POLICY', isError: true },
    ]);
    expect(events[1]).not.toHaveProperty('sessionId');
    expect(events[0]!.latencyMs).toBeGreaterThan(0);
  });

  it('tells the reload observer of each file tried, success or failure; a throwing observer changes nothing', async () => {
    const seen: string[] = [];
    const { gateway, rules } = build({
      onReload: (file, outcome) => {
        seen.push(`${file}:${outcome}`);
        throw new Error('observer bug');
      },
    });
    expect(gateway.reload(undefined, 'test').revision).toBe(2);
    writeJson(rules, { agents: { alice: { alow: {} } } });
    expect(gateway.reload(['gateway_rules'], 'test').failed).toEqual(['gateway_rules']);
    expect(seen).toEqual(['mcp_config:success', 'gateway_rules:success', 'gateway_rules:failure']);
    expect(gateway.status('alice')['revision']).toBe(2);
  });
});
