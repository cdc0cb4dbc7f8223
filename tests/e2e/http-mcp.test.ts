// HTTP mode, /mcp (issue 5): the SDK's Streamable HTTP client against the built gateway, with
// the policy applied per authenticated agent (a per-agent token binds the session), the same
// gateway also serving REST; a session is its creator's alone; DELETE ends it.
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJsonl } from '../helpers/gateway.js';
import { startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';
import { codeOf } from '../helpers/results.js';
import { META_TOOL_NAMES } from '../helpers/metaTools.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const BOB_TOKEN = 'bob-mcp-token';
const RULES = {
  agents: {
    alice: { allow: { servers: ['echo'] } },
    bob: { allow: { servers: ['echo'] }, deny: { tools: { echo: ['echo'] } } },
  },
  credentials: { [sha256(BOB_TOKEN)]: 'bob' },
};

let gw: HttpGw;
const clients: Client[] = [];
beforeAll(async () => {
  gw = await startHttpGateway({
    mcpServers: { echo: { command: process.execPath, args: [fixture('echo')] } },
    rules: RULES,
    env: { GATEWAY_AUTH_TOKEN: 'tok-123' },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  if (gw) {
    await gw.stop();
    gw.kill();
  }
  cleanupTmpDirs();
});

async function connect(token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'http-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

const callTool = (client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> =>
  client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema);

describe('/mcp', () => {
  it('serves the meta-tools; the shared token is unbound (agent_id decides)', async () => {
    const { client, transport } = await connect('tok-123');
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(META_TOOL_NAMES);
    const ok = await callTool(client, 'execute_tool', { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'over http' } });
    expect(ok.content).toEqual([{ type: 'text', text: 'over http' }]);
    const denied = await callTool(client, 'execute_tool', { agent_id: 'bob', server: 'echo', tool: 'echo', args: { message: 'x' } });
    expect(codeOf(denied)).toBe('DENIED_BY_POLICY');
  });

  it("a per-agent token binds the session: that agent's rules, AGENT_MISMATCH for another agent_id", async () => {
    const { client, transport } = await connect(BOB_TOKEN);
    const asBob = await callTool(client, 'execute_tool', { server: 'echo', tool: 'echo', args: { message: 'x' } });
    expect(codeOf(asBob)).toBe('DENIED_BY_POLICY');
    const add = await callTool(client, 'execute_tool', { server: 'echo', tool: 'add', args: { a: 2, b: 3 } });
    expect(add.content).toEqual([{ type: 'text', text: '5' }]);
    const claim = await callTool(client, 'execute_tool', { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'x' } });
    expect(codeOf(claim)).toBe('AGENT_MISMATCH');
    const tools = await callTool(client, 'get_server_tools', { server: 'echo' });
    const names = (tools.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(names).not.toContain('echo');
    // The audit line carries the MCP session id and the bound agent.
    const sid = transport.sessionId!;
    await waitFor(() => readJsonl(gw.auditPath).some((l) => l['session_id'] === sid && l['tool'] === 'add'));
    expect(readJsonl(gw.auditPath).find((l) => l['session_id'] === sid && l['tool'] === 'add')).toMatchObject({ agent: 'bob', identity_source: expect.any(String) });
  });

  it('the same gateway serves REST at the same time, with the same policy', async () => {
    const { client } = await connect(BOB_TOKEN);
    const [mcp, rest] = await Promise.all([
      callTool(client, 'execute_tool', { server: 'echo', tool: 'add', args: { a: 1, b: 1 } }),
      fetch(`${gw.url}/services/echo/call`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${BOB_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ tool: 'echo', arguments: { message: 'x' }, session_id: 'call-1' }),
      }),
    ]);
    expect(mcp.content).toEqual([{ type: 'text', text: '2' }]);
    expect(rest.status).toBe(403);
  });

  it("a session is its creator's: another identity gets 404; without a session id 400; unauthenticated 401", async () => {
    const { transport } = await connect('tok-123');
    const sid = transport.sessionId!;
    const post = (headers: Record<string, string>) =>
      fetch(`${gw.url}/mcp`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Mcp-Protocol-Version': '2025-06-18', ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    expect((await post({ Authorization: `Bearer ${BOB_TOKEN}`, 'Mcp-Session-Id': sid })).status).toBe(404);
    expect((await post({ Authorization: 'Bearer tok-123', 'Mcp-Session-Id': 'no-such-session' })).status).toBe(404);
    expect((await post({ 'Mcp-Session-Id': sid })).status).toBe(401);
    const noSession = await post({ Authorization: 'Bearer tok-123' });
    expect(noSession.status).toBe(400);
    const ok = await post({ Authorization: 'Bearer tok-123', 'Mcp-Session-Id': sid });
    expect(ok.status).toBe(200);
    await ok.text();
  });

  it('/mcp has the body limit (413) and wants JSON (415)', async () => {
    const small = await startHttpGateway({
      mcpServers: { echo: { command: process.execPath, args: [fixture('echo')] } },
      rules: RULES,
      args: ['--max-body-bytes', '1000'],
      env: { GATEWAY_AUTH_TOKEN: 'tok-123' },
    });
    try {
      const post = (body: string, type: string) =>
        fetch(`${small.url}/mcp`, {
          method: 'POST',
          headers: { Authorization: 'Bearer tok-123', 'Content-Type': type, Accept: 'application/json, text/event-stream' },
          body,
        });
      const init = {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1', pad: 'x'.repeat(2000) } },
      };
      expect((await post(JSON.stringify(init), 'application/json')).status).toBe(413);
      expect((await post('hello', 'text/plain')).status).toBe(415);
    } finally {
      await small.stop();
    }
  });

  it('DELETE /mcp ends the session; it is then unknown (404)', async () => {
    const { client, transport } = await connect('tok-123');
    const sid = transport.sessionId!;
    await transport.terminateSession();
    const after = await fetch(`${gw.url}/mcp`, {
      method: 'POST',
      headers: {
        Authorization: 'Bearer tok-123',
        'Mcp-Session-Id': sid,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
    await client.close();
  });

  it('progress notifications reach the HTTP client on its call', async () => {
    const { client } = await connect('tok-123');
    const seen: number[] = [];
    const result = await client.request(
      {
        method: 'tools/call',
        params: { name: 'execute_tool', arguments: { agent_id: 'alice', server: 'echo', tool: 'progress', args: { steps: 3, delayMs: 20 } } },
      },
      CallToolResultSchema,
      { onprogress: (p) => seen.push(p.progress) },
    );
    expect(result.content).toEqual([{ type: 'text', text: 'done' }]);
    expect(seen).toEqual([1, 2, 3]);
  });
});
