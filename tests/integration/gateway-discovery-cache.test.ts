// get_server_tools answers from caches keyed by the cached tool list, the compiled policy
// and the agent: the answers must be exactly what an uncached computation gives (text =
// the JSON of structuredContent), per agent, and follow a rules reload at once.
import { writeFileSync } from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import { ALICE_BOB_RULES, buildGateway, closeGateways, ECHO_SERVERS, testExtra as extra, testSession } from '../helpers/inProcessGateway.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';
import { completed, textOf } from '../helpers/results.js';

afterEach(closeGateways);
afterAll(cleanupTmpDirs);

const build = () => buildGateway(ECHO_SERVERS, ALICE_BOB_RULES);

const session = testSession({ id: 'cache-test' });

const call = async (g: Gateway, args: Record<string, unknown>): Promise<CallToolResult> => completed(await g.callTool('get_server_tools', args, extra(), session));

const names = (r: CallToolResult): string[] => (r.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);

describe('get_server_tools caches', () => {
  it('answers with text equal to the JSON of structuredContent, for every kind of selection', async () => {
    const { gateway } = build();
    const variants: Record<string, unknown>[] = [
      {},
      { max_schema_tokens: 200 },
      { max_schema_tokens: 0 },
      { names: 'echo,add' },
      { names: ['echo', 'nope'] },
      { pattern: 'e*' },
      { pattern: 'e*', max_schema_tokens: 150 },
    ];
    for (const v of variants) {
      for (let round = 0; round < 2; round++) {
        const r = await call(gateway, { agent_id: 'alice', server: 'echo', ...v });
        expect(r.isError, JSON.stringify(v)).not.toBe(true);
        expect(textOf(r), JSON.stringify(v)).toBe(JSON.stringify(r.structuredContent));
        const sc = r.structuredContent as { returned: number; tools: unknown[]; tokens_used: number | null };
        expect(sc.returned).toBe(sc.tools.length);
        if (v['max_schema_tokens'] !== undefined) {
          expect(sc.tokens_used).toBe(sc.tools.reduce<number>((n, t) => n + Math.ceil(JSON.stringify(t).length / 4), 0));
          expect(sc.tokens_used).toBeLessThanOrEqual(v['max_schema_tokens'] as number);
        }
      }
    }
  });

  it('keeps agents apart and follows a rules reload at once', async () => {
    const { gateway, rules } = build();
    const alice = await call(gateway, { agent_id: 'alice', server: 'echo' });
    const bob = await call(gateway, { agent_id: 'bob', server: 'echo' });
    expect(names(alice)).toContain('echo');
    expect(names(bob)).not.toContain('echo');
    expect(names(bob)).toHaveLength(names(alice).length - 1);
    expect((bob.structuredContent as { total_available: number }).total_available).toBe(names(alice).length - 1);

    writeFileSync(rules, JSON.stringify({ agents: { ...ALICE_BOB_RULES.agents, alice: { allow: { servers: ['echo'] }, deny: { tools: { echo: ['add'] } } } } }));
    expect(gateway.reload(['gateway_rules']).applied).toEqual(['gateway_rules']);
    const after = await call(gateway, { agent_id: 'alice', server: 'echo' });
    expect(names(after)).not.toContain('add');
    expect(names(after)).toContain('echo');
    expect(textOf(after)).toBe(JSON.stringify(after.structuredContent));
  });

  it('a cached answer cannot be changed by whoever receives it', async () => {
    const { gateway } = build();
    const first = await call(gateway, { agent_id: 'alice', server: 'echo' });
    expect(() => {
      (first.content as unknown[]).push({ type: 'text', text: 'x' });
    }).toThrow();
    expect(() => {
      (first.structuredContent as { tools: unknown[] }).tools.pop();
    }).toThrow();
    const second = await call(gateway, { agent_id: 'alice', server: 'echo' });
    expect(second.content).toHaveLength(1);
    expect(textOf(second)).toBe(textOf(first));
  });
});
