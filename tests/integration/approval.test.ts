// Annotation rules and approval, in process: the gateway over InMemoryTransport, a real SDK
// client that declares elicitation (or not) and answers as each test says, and the echo
// fixture (a real child process) as the downstream. Its `annotated` tool is read-only; every
// other tool has no annotations, so it counts as destructive and open-world.
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import type { ElicitRequest, ElicitResult } from '@modelcontextprotocol/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createUpstreamServer } from '../../src/gateway/upstreamServer.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { buildGateway, closeGateways, ECHO_SERVERS, testExtra, testSession } from '../helpers/inProcessGateway.js';
import { codeOf, errorOf, textOf } from '../helpers/results.js';
import { cleanupTmpDirs, writeJson } from '../helpers/tmp.js';

afterEach(closeGateways);
afterAll(cleanupTmpDirs);

const RULES = {
  agents: {
    alice: { allow: { servers: ['echo'] }, approve: { tools: { echo: ['echo', 'add'] }, annotations: [{ readOnlyHint: true }] } },
    bob: { allow: { servers: ['echo'] }, deny: { annotations: [{ destructiveHint: true }] } },
    carol: { allow: { servers: ['echo'] } },
  },
};

type Answer = ElicitResult | Error | (() => ElicitResult);

/** An SDK client of the gateway that answers every approval with the next of `answers` and records the questions. */
async function connect(gateway: Gateway, answers: Answer[] | undefined) {
  const { server, detach } = createUpstreamServer(gateway);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'approver', version: '1.0.0' }, answers ? { capabilities: { elicitation: { form: {} } } } : {});
  const asked: ElicitRequest['params'][] = [];
  if (answers) {
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params);
      const answer = answers.shift() ?? { action: 'cancel' };
      if (answer instanceof Error) throw answer;
      return typeof answer === 'function' ? answer() : answer;
    });
  }
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  const call = (agent: string, tool: string, args: Record<string, unknown> = { message: 'hi' }) =>
    client.callTool({ name: 'execute_tool', arguments: { agent_id: agent, server: 'echo', tool, args } });
  const close = async () => {
    await client.close();
    detach();
  };
  return { client, call, asked, close };
}

const once: ElicitResult = { action: 'accept', content: { decision: 'once' } };
const session: ElicitResult = { action: 'accept', content: { decision: 'session' } };

describe('approval through elicitation (2025 client)', () => {
  it('"approve once" forwards the call and asks again next time; the form names agent, server, tool and arguments', async () => {
    const { gateway, audit } = buildGateway(ECHO_SERVERS, RULES);
    const c = await connect(gateway, [once, once]);
    try {
      expect(textOf(await c.call('alice', 'echo'))).toBe('hi');
      expect(textOf(await c.call('alice', 'echo'))).toBe('hi');
      expect(c.asked).toHaveLength(2);
      const form = c.asked[0] as { mode?: string; message: string; requestedSchema: unknown };
      expect(form.mode).toBe('form');
      expect(form.message).toBe(
        'Agent "alice" wants to call a tool that needs your approval.\nServer: echo\nTool: echo\nArguments: message: "hi"\nRule: agents.alice.approve.tools.echo[0]',
      );
      expect(form.requestedSchema).toMatchObject({
        properties: { decision: { oneOf: [{ const: 'once' }, { const: 'session' }, { const: 'deny' }] } },
        required: ['decision'],
      });
      expect(audit.records.map((r) => [r.decision, r.approval, r.rule])).toEqual([
        ['ALLOW', 'once', 'agents.alice.approve.tools.echo[0]'],
        ['ALLOW', 'once', 'agents.alice.approve.tools.echo[0]'],
      ]);
    } finally {
      await c.close();
    }
  });

  it('"approve for this session" is remembered for that tool only, in that session only, until a reload', async () => {
    const { gateway, audit, rules } = buildGateway(ECHO_SERVERS, RULES);
    const c = await connect(gateway, [session, once, once, once]);
    const other = await connect(gateway, [once]);
    try {
      expect(textOf(await c.call('alice', 'echo'))).toBe('hi');
      expect(textOf(await c.call('alice', 'echo'))).toBe('hi');
      expect(c.asked).toHaveLength(1);
      // Another tool of the same server is asked for.
      expect(textOf(await c.call('alice', 'add', { a: 1, b: 2 }))).toBe('3');
      expect(c.asked).toHaveLength(2);
      // Another session is asked.
      expect(textOf(await other.call('alice', 'echo'))).toBe('hi');
      expect(other.asked).toHaveLength(1);
      expect(audit.records.map((r) => r.approval)).toEqual(['session', 'remembered', 'once', 'once']);
      // A reload that changes the rules forgets every approval.
      writeJson(rules, { ...RULES, agents: { ...RULES.agents, dave: { allow: { servers: ['echo'] } } } });
      expect(gateway.reload(['gateway_rules'], 'test').applied).toEqual(['gateway_rules']);
      expect(textOf(await c.call('alice', 'echo'))).toBe('hi');
      expect(c.asked).toHaveLength(3);
    } finally {
      await c.close();
      await other.close();
    }
  });

  it('a reload while the user decides: the approved call is not forwarded under the old rules', async () => {
    const { gateway, audit, rules } = buildGateway(ECHO_SERVERS, RULES);
    const reloadThenApprove = (): ElicitResult => {
      writeJson(rules, { ...RULES, agents: { ...RULES.agents, alice: { allow: { servers: [] } } } });
      expect(gateway.reload(['gateway_rules'], 'test').applied).toEqual(['gateway_rules']);
      return once;
    };
    const c = await connect(gateway, [reloadThenApprove]);
    try {
      const result = await c.call('alice', 'echo', { message: 'late' });
      expect(errorOf(result)).toMatchObject({ code: 'APPROVAL_UNAVAILABLE', server: 'echo', tool: 'echo' });
      expect(textOf(result)).toContain('reloaded');
      expect(audit.records.at(-1)).toMatchObject({ decision: 'DENY', code: 'APPROVAL_UNAVAILABLE' });
      // Under the new rules the agent may not use the server at all.
      expect(codeOf(await c.call('alice', 'echo'))).toBe('DENIED_BY_POLICY');
    } finally {
      await c.close();
    }
  });

  it.each([
    ['decline', { action: 'decline' } as ElicitResult],
    ['cancel', { action: 'cancel' } as ElicitResult],
    ['accept with deny', { action: 'accept', content: { decision: 'deny' } } as ElicitResult],
    ['accept without a decision', { action: 'accept', content: {} } as ElicitResult],
  ])('%s: APPROVAL_DENIED, nothing forwarded', async (_name, answer) => {
    const { gateway, audit } = buildGateway(ECHO_SERVERS, RULES);
    const c = await connect(gateway, [answer]);
    try {
      const result = await c.call('alice', 'echo_args', { marker: 1 });
      // echo_args needs no approval: it would have answered; echo does.
      expect(result.isError).not.toBe(true);
      const denied = await c.call('alice', 'echo');
      expect(errorOf(denied)).toMatchObject({ code: 'APPROVAL_DENIED', rule: 'agents.alice.approve.tools.echo[0]' });
      expect(audit.records.at(-1)).toMatchObject({ decision: 'DENY', code: 'APPROVAL_DENIED', approval: 'denied', tool: 'echo' });
    } finally {
      await c.close();
    }
  });

  it('a client whose answer fails: APPROVAL_UNAVAILABLE (fail closed)', async () => {
    const { gateway, audit } = buildGateway(ECHO_SERVERS, RULES);
    const c = await connect(gateway, [new Error('the user interface crashed')]);
    try {
      expect(codeOf(await c.call('alice', 'echo'))).toBe('APPROVAL_UNAVAILABLE');
      expect(audit.records.at(-1)).toMatchObject({ code: 'APPROVAL_UNAVAILABLE', approval: 'unavailable' });
    } finally {
      await c.close();
    }
  });

  it('a client without elicitation: APPROVAL_UNAVAILABLE, never asked', async () => {
    const { gateway, audit } = buildGateway(ECHO_SERVERS, RULES);
    const c = await connect(gateway, undefined);
    try {
      const result = await c.call('alice', 'echo');
      expect(errorOf(result)).toMatchObject({ code: 'APPROVAL_UNAVAILABLE', rule: 'agents.alice.approve.tools.echo[0]' });
      expect(errorOf(result)!.message).toContain('did not declare the elicitation capability');
      expect(audit.records.at(-1)).toMatchObject({ approval: 'unavailable', decision: 'DENY' });
    } finally {
      await c.close();
    }
  });

  it('a caller with no MCP peer (REST): APPROVAL_UNAVAILABLE', async () => {
    const { gateway } = buildGateway(ECHO_SERVERS, RULES);
    const outcome = await gateway.invoke({
      operation: 'execute_tool',
      caller: testSession(),
      args: { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'x' } },
      ownArgs: true,
      signal: new AbortController().signal,
      peer: undefined,
    });
    expect(outcome).toMatchObject({ kind: 'failed', error: { code: 'APPROVAL_UNAVAILABLE' } });
  });

  it('approval by annotations: the read-only tool asks, the others do not', async () => {
    const { gateway } = buildGateway(ECHO_SERVERS, RULES);
    const c = await connect(gateway, [once]);
    try {
      expect((await c.call('alice', 'annotated', {})).isError).not.toBe(true);
      expect((c.asked[0] as { message: string }).message).toContain('Rule: agents.alice.approve.annotations[0]');
      expect((await c.call('alice', 'echo_args', {})).isError).not.toBe(true);
      expect(c.asked).toHaveLength(1);
    } finally {
      await c.close();
    }
  });

  it('a hostile argument cannot flood or disguise the question', async () => {
    const { gateway } = buildGateway(ECHO_SERVERS, RULES);
    const c = await connect(gateway, [{ action: 'decline' }]);
    try {
      const hostile: Record<string, unknown> = { message: `ok\u202Egnp.exe\u0007\n\r${'x'.repeat(100_000)}` };
      for (let i = 0; i < 50; i++) hostile[`k${i}\u2066`] = { nested: 'y'.repeat(1000) };
      expect(codeOf(await c.call('alice', 'echo', hostile))).toBe('APPROVAL_DENIED');
      const message = (c.asked[0] as { message: string }).message;
      expect(message.length).toBeLessThan(700);
      expect(message).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
      // Only the message's own line breaks remain of the controls.
      expect([...message].filter((ch) => ch < ' ' && ch !== '\n')).toEqual([]);
      expect(message).toContain('(+');
    } finally {
      await c.close();
    }
  });
});

describe('annotation deny', () => {
  it('hides the tools it denies from get_server_tools and search_tools, and refuses their calls before anything is sent', async () => {
    const { gateway, audit } = buildGateway(ECHO_SERVERS, RULES);
    const extra = testExtra();
    const s = testSession();
    const listed = await gateway.callTool('execute_tool', { agent_id: 'bob', server: 'echo', tool: 'annotated', args: {} }, extra, s);
    expect(listed.isError).not.toBe(true);
    const tools = await gateway.callTool('get_server_tools', { agent_id: 'bob', server: 'echo' }, extra, s);
    const shown = JSON.parse(textOf(tools)) as { tools: { name: string }[]; total_available: number };
    expect(shown.tools.map((t) => t.name)).toEqual(['annotated']);
    expect(shown.total_available).toBe(1);
    const carol = JSON.parse(textOf(await gateway.callTool('get_server_tools', { agent_id: 'carol', server: 'echo' }, extra, s))) as { tools: unknown[] };
    expect(carol.tools.length).toBeGreaterThan(1);

    const found = JSON.parse(textOf(await gateway.callTool('search_tools', { agent_id: 'bob', query: 'echo the message back' }, extra, s))) as {
      results: { tool: string }[];
      total_indexed: number;
    };
    expect(found.results.map((r) => r.tool)).not.toContain('echo');
    expect(found.total_indexed).toBe(1);
    const servers = JSON.parse(textOf(await gateway.callTool('list_servers', { agent_id: 'bob' }, extra, s))) as { servers: { tools: number }[] };
    expect(servers.servers[0]?.tools).toBe(1);

    const refused = await gateway.callTool('execute_tool', { agent_id: 'bob', server: 'echo', tool: 'echo', args: { message: 'x' } }, extra, s);
    expect(errorOf(refused)).toMatchObject({ code: 'DENIED_BY_POLICY', rule: 'agents.bob.deny.annotations[0]' });
    expect(audit.records.at(-1)).toMatchObject({ decision: 'DENY', rule: 'agents.bob.deny.annotations[0]', tool: 'echo' });
    expect(audit.records.at(-1)).not.toHaveProperty('approval');
  });
});
