// Annotation rules and approval through the built gateway (issue 17 §3): a v1 SDK client
// (2025) with an elicitation handler, one without, a REST caller, and a v2 client pinned to
// 2026-07-28, which is asked with an `input_required` result. The downstream is our echo
// fixture: `annotated` is read-only, every other tool has no annotations (destructive).
import { Client as ModernClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { callTool, readJsonl, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { basic, killLaunchedGateways, startHttpGateway } from '../helpers/httpGateway.js';
import { fixture, GATEWAY_MAIN } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { codeOf, errorOf, textOf } from '../helpers/results.js';
import { cleanupTmpDirs, makeTmpDir, writeJson } from '../helpers/tmp.js';
import { join } from 'node:path';

const SERVERS = { echo: { command: process.execPath, args: [fixture('echo')] } };
const RULES = {
  agents: {
    alice: { allow: { servers: ['echo'] }, approve: { tools: { echo: ['echo'] } } },
    bob: { allow: { servers: ['echo'] }, deny: { annotations: [{ destructiveHint: true }] } },
  },
};

const open: GatewayHandle[] = [];
const modern: ModernClient[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((g) => g.close()));
  await Promise.all(modern.splice(0).map((c) => c.close()));
  killLaunchedGateways();
});
afterAll(cleanupTmpDirs);

async function gateway(options: { elicitation: boolean; args?: string[] }) {
  const gw = await startGateway({
    mcpServers: SERVERS,
    rules: RULES,
    ...(options.args ? { args: options.args } : {}),
    ...(options.elicitation ? { clientCapabilities: { elicitation: {} } } : {}),
  });
  open.push(gw);
  const answers: ElicitResult[] = [];
  const asked: string[] = [];
  if (options.elicitation) {
    gw.client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params.message);
      return answers.shift() ?? { action: 'cancel' };
    });
  }
  const call = (agent: string, tool: string, args: Record<string, unknown> = { message: 'hi' }) =>
    callTool(gw.client, 'execute_tool', { agent_id: agent, server: 'echo', tool, args });
  return { gw, answers, asked, call };
}

const audited = async (gw: GatewayHandle, count: number) => {
  await waitFor(() => readJsonl(gw.auditPath).length >= count, { timeoutMs: 10_000, message: 'audit lines' });
  return readJsonl(gw.auditPath);
};

describe('approval, 2025 client over stdio', () => {
  it('accept once, approve for this session, decline, cancel: each decided and audited', async () => {
    const { gw, answers, asked, call } = await gateway({ elicitation: true });
    answers.push(
      { action: 'accept', content: { decision: 'once' } },
      { action: 'decline' },
      { action: 'cancel' },
      { action: 'accept', content: { decision: 'session' } },
    );
    expect(textOf(await call('alice', 'echo'))).toBe('hi');
    expect(asked[0]).toContain('Agent "alice"');
    expect(asked[0]).toContain('Tool: echo');
    expect(asked[0]).toContain('Arguments: message: "hi"');
    expect(errorOf(await call('alice', 'echo'))).toMatchObject({ code: 'APPROVAL_DENIED', rule: 'agents.alice.approve.tools.echo[0]' });
    expect(codeOf(await call('alice', 'echo'))).toBe('APPROVAL_DENIED');
    expect(textOf(await call('alice', 'echo', { message: 'a' }))).toBe('a');
    // Approved for the session: not asked again.
    expect(textOf(await call('alice', 'echo', { message: 'b' }))).toBe('b');
    expect(asked).toHaveLength(4);
    // A tool no rule names is never asked about.
    expect(textOf(await call('alice', 'add', { a: 1, b: 2 }))).toBe('3');
    const lines = await audited(gw, 6);
    expect(lines.map((l) => [l['code'], l['approval'] ?? null])).toEqual([
      [null, 'once'],
      ['APPROVAL_DENIED', 'denied'],
      ['APPROVAL_DENIED', 'denied'],
      [null, 'session'],
      [null, 'remembered'],
      [null, null],
    ]);
  });

  it('a client without elicitation: APPROVAL_UNAVAILABLE', async () => {
    const { gw, call } = await gateway({ elicitation: false });
    expect(errorOf(await call('alice', 'echo'))).toMatchObject({ code: 'APPROVAL_UNAVAILABLE', rule: 'agents.alice.approve.tools.echo[0]' });
    expect((await audited(gw, 1))[0]).toMatchObject({ decision: 'DENY', code: 'APPROVAL_UNAVAILABLE', approval: 'unavailable' });
  });

  it('annotation deny: hidden from get_server_tools and refused (meta mode)', async () => {
    const { call, gw } = await gateway({ elicitation: false });
    const listed = JSON.parse(textOf(await callTool(gw.client, 'get_server_tools', { agent_id: 'bob', server: 'echo' }))) as { tools: { name: string }[] };
    expect(listed.tools.map((t) => t.name)).toEqual(['annotated']);
    expect(errorOf(await call('bob', 'echo'))).toMatchObject({ code: 'DENIED_BY_POLICY', rule: 'agents.bob.deny.annotations[0]' });
    expect((await call('bob', 'annotated', {})).isError).not.toBe(true);
  });

  it('annotation deny: hidden from the native tools/list and refused', async () => {
    const { gw } = await gateway({ elicitation: false, args: ['--mode', 'native', '--agent', 'bob'] });
    const tools = (await gw.client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(['echo__annotated']);
    const refused = await callTool(gw.client, 'echo__echo', { message: 'x' });
    expect(refused.isError).toBe(true);
  });
});

describe('approval, REST caller', () => {
  it('is APPROVAL_UNAVAILABLE: nobody can be asked', async () => {
    const gw = await startHttpGateway({
      mcpServers: SERVERS,
      rules: { ...RULES, defaults: { deny_on_missing_agent: false } },
      env: { GATEWAY_AUTH_USER: 'admin', GATEWAY_AUTH_PASSWORD: 'pw', GATEWAY_DEFAULT_AGENT: 'alice' },
    });
    try {
      const res = await fetch(`${gw.url}/services/echo/call`, {
        method: 'POST',
        headers: { Authorization: basic('admin', 'pw'), 'Content-Type': 'application/json' },
        body: JSON.stringify({ tool: 'echo', session_id: 's1', arguments: { message: 'x' } }),
      });
      expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 403, body: { code: 'APPROVAL_UNAVAILABLE' } });
    } finally {
      await gw.stop();
    }
  });
});

describe('approval over /mcp: "this session"', () => {
  it('2026-07-28 (no sessions): the caller identity; 2025-11-25: the MCP session', async () => {
    const gw = await startHttpGateway({ mcpServers: SERVERS, rules: RULES, env: { GATEWAY_AUTH_TOKEN: 'tok-approval' } });
    const clients: ModernClient[] = [];
    try {
      const connectAs = async (mode: 'legacy' | { pin: '2026-07-28' }) => {
        const client = new ModernClient({ name: 'approval-http', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode } });
        clients.push(client);
        let asked = 0;
        client.setRequestHandler('elicitation/create', () => {
          asked++;
          return { action: 'accept', content: { decision: 'session' } };
        });
        await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { Authorization: 'Bearer tok-approval' } } }));
        const call = async () =>
          textOf(await client.callTool({ name: 'execute_tool', arguments: { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'm' } } }));
        return { call, asked: () => asked };
      };
      const modernA = await connectAs({ pin: '2026-07-28' });
      expect(await modernA.call()).toBe('m');
      expect(await modernA.call()).toBe('m');
      expect(modernA.asked()).toBe(1);
      // Another 2026 client with the same credential is the same caller.
      const modernB = await connectAs({ pin: '2026-07-28' });
      expect(await modernB.call()).toBe('m');
      expect(modernB.asked()).toBe(0);
      // A 2025 client has its own MCP session: asked once, then remembered; a new session asks again.
      const legacyA = await connectAs('legacy');
      expect(await legacyA.call()).toBe('m');
      expect(await legacyA.call()).toBe('m');
      expect(legacyA.asked()).toBe(1);
      const legacyB = await connectAs('legacy');
      expect(await legacyB.call()).toBe('m');
      expect(legacyB.asked()).toBe(1);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await gw.stop();
    }
  });
});

describe('approval, 2026-07-28 client', () => {
  async function modernClient(decisions: ElicitResult[], elicitation = true) {
    const dir = makeTmpDir('amg-approval-');
    writeJson(join(dir, '.mcp.json'), { mcpServers: SERVERS });
    writeJson(join(dir, 'rules.json'), RULES);
    const transport = new ModernStdioTransport({
      command: process.execPath,
      args: [GATEWAY_MAIN, '--mcp-config', join(dir, '.mcp.json'), '--rules', join(dir, 'rules.json'), '--audit-log', join(dir, 'audit.jsonl')],
      env: process.env as Record<string, string>,
      stderr: 'ignore',
    });
    const client = new ModernClient(
      { name: 'approval-2026', version: '1.0.0' },
      { capabilities: elicitation ? { elicitation: { form: {} } } : {}, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    const asked: string[] = [];
    if (elicitation) {
      client.setRequestHandler('elicitation/create', (request) => {
        asked.push((request.params as { message: string }).message);
        return decisions.shift() ?? { action: 'cancel' };
      });
    }
    modern.push(client);
    await client.connect(transport);
    expect(client.getProtocolEra()).toBe('modern');
    return { client, asked, auditPath: join(dir, 'audit.jsonl') };
  }
  const params = { name: 'execute_tool', arguments: { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'hi' } } };

  it('gets input_required; the retry with an approving answer is forwarded, once only', async () => {
    const { client } = await modernClient([]);
    const first = await client.callTool(params, { allowInputRequired: true });
    expect(first.resultType).toBe('input_required');
    const asked = first as unknown as { inputRequests: Record<string, { method: string; params: { message: string } }>; requestState: string };
    const [key, request] = Object.entries(asked.inputRequests)[0]!;
    expect(request.method).toBe('elicitation/create');
    expect(request.params.message).toContain('Tool: echo');
    // The retry resumes the call that was shown to the user: other arguments in it are not used.
    const swapped = { ...params, arguments: { ...params.arguments, args: { message: 'something else' } } };
    const retry = { ...swapped, inputResponses: { [key]: { action: 'accept', content: { decision: 'once' } } }, requestState: asked.requestState };
    expect(textOf(await client.callTool(retry, { allowInputRequired: true }))).toBe('hi');
    // The state works once: a replay is refused.
    await expect(client.callTool(retry, { allowInputRequired: true })).rejects.toMatchObject({ code: -32602 });
  });

  it('the SDK answers it through its elicitation handler: approve, then decline', async () => {
    const { client, asked, auditPath } = await modernClient([{ action: 'accept', content: { decision: 'once' } }, { action: 'decline' }]);
    expect(textOf(await client.callTool(params))).toBe('hi');
    expect(codeOf(await client.callTool(params))).toBe('APPROVAL_DENIED');
    expect(asked).toHaveLength(2);
    await waitFor(() => readJsonl(auditPath).length >= 2, { timeoutMs: 10_000, message: 'audit lines' });
    expect(readJsonl(auditPath).map((l) => l['approval'])).toEqual(['once', 'denied']);
  });

  it('"approve for this session" holds for the stdio connection', async () => {
    const { client, asked } = await modernClient([{ action: 'accept', content: { decision: 'session' } }]);
    expect(textOf(await client.callTool(params))).toBe('hi');
    expect(textOf(await client.callTool(params))).toBe('hi');
    expect(asked).toHaveLength(1);
  });

  it('a 2026 client without elicitation: APPROVAL_UNAVAILABLE, no input_required', async () => {
    const { client } = await modernClient([], false);
    const result = await client.callTool(params, { allowInputRequired: true });
    expect(result.resultType).not.toBe('input_required');
    expect(codeOf(result)).toBe('APPROVAL_UNAVAILABLE');
  });
});
