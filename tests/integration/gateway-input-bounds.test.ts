// The gateway's own bounds, in process (issue 13, items 2 and 3): a call whose arguments the
// audit cannot hash still answers and still writes its one audit line; audit fields are
// clipped; calls to tools the gateway does not offer share one metrics entry, however many
// names callers invent.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildGateway, closeGateways, ECHO_SERVERS, testExtra, testSession } from '../helpers/inProcessGateway.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';

afterEach(closeGateways);
afterAll(cleanupTmpDirs);

const RULES = { agents: { alice: { allow: { servers: ['*'] } } } };
const extra = testExtra();

describe('gateway input bounds in process', () => {
  it('arguments the audit cannot hash: the call answers and its line is written without the hash', async () => {
    const { gateway, audit } = buildGateway(ECHO_SERVERS, RULES);
    // A BigInt passes the depth check but no JSON serializer takes it.
    const result = await gateway.callTool('list_servers', { agent_id: 'alice', extra: { n: 10n } }, extra, testSession());
    expect(result.isError).toBeFalsy();
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ operation: 'list_servers', agent: 'alice', decision: 'ALLOW', arg_keys: [], args_sha256: null });
  });

  it('every caller-supplied audit field is clipped; at most 64 argument keys of at most 128 characters', async () => {
    const { gateway, audit } = buildGateway(ECHO_SERVERS, RULES);
    const args: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) args[`${i}-`.padEnd(1000, 'k')] = i;
    await gateway.callTool(
      'execute_tool',
      { agent_id: 'alice', server: 'echo', tool: 'x'.repeat(256), args },
      extra,
      testSession({ auditSessionId: 's'.repeat(10_000) }),
    );
    const line = audit.records[0]!;
    expect(line).toMatchObject({ code: 'TOOL_NOT_FOUND', tool: 'x'.repeat(256) });
    expect(line.arg_keys).toHaveLength(64);
    for (const key of line.arg_keys) expect(key.length).toBeLessThanOrEqual(129);
    expect(line.session_id!.length).toBeLessThanOrEqual(257);
    expect(JSON.stringify(line).length).toBeLessThan(12_000);
  });

  it('tools the gateway does not offer share one metrics entry', async () => {
    const { gateway } = buildGateway(ECHO_SERVERS, RULES, { debug: true });
    for (let i = 0; i < 100; i++) await gateway.callTool(`made-up-${i}`, {}, extra, testSession()).catch(() => undefined);
    const operations = Object.keys((gateway.status('alice')['metrics'] as { by_operation: object }).by_operation);
    expect(operations).toEqual(['(unknown tool)']);
  });
});
