// The Gateway as a library, in this process: an SDK Client over InMemoryTransport for the
// protocol path, and direct callTool with a hand-made session for what HTTP mode builds on
// (a session bound to an agent, a client-chosen session id in the audit, call and reload
// observers). The downstream is our echo fixture, a real child process.
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryAuditSink } from '../../src/audit/auditLog.js';
import { loadRulesFile, loadServersFile } from '../../src/config/load.js';
import type { RequestExtra } from '../../src/gateway/context.js';
import { Gateway, type CallEvent } from '../../src/gateway/gateway.js';
import type { UpstreamSession } from '../../src/gateway/serverRequests.js';
import { createUpstreamServer } from '../../src/gateway/upstreamServer.js';
import { createLogger } from '../../src/log.js';
import { fixture } from '../helpers/paths.js';
import { cleanupTmpDirs, makeTmpDir, writeJson } from '../helpers/tmp.js';

const RULES = {
  agents: {
    alice: { allow: { servers: ['echo'] } },
    bob: { allow: { servers: ['echo'] }, deny: { tools: { echo: ['echo'] } } },
  },
};

const open: Gateway[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((g) => g.close()));
});
afterAll(cleanupTmpDirs);

function build(extra: { onCall?: (e: CallEvent) => void; onReload?: (file: string, outcome: string) => void } = {}) {
  const dir = makeTmpDir();
  const mcpConfig = join(dir, '.mcp.json');
  const rules = join(dir, '.mcp-gateway-rules.json');
  writeJson(mcpConfig, { mcpServers: { echo: { command: process.execPath, args: [fixture('echo')] } } });
  writeJson(rules, RULES);
  const env = { ...process.env };
  const audit = new MemoryAuditSink();
  const gateway = new Gateway({
    servers: loadServersFile(mcpConfig, env).config,
    rules: loadRulesFile(rules).config,
    configPaths: { mcpConfig, rules },
    debug: false,
    defaultTimeoutMs: 10_000,
    maxTimeoutMs: 60_000,
    initStrategy: 'lazy',
    audit,
    auditPath: null,
    auditArgs: 'hash',
    logger: createLogger('silent'),
    parentEnv: env,
    ...extra,
  });
  open.push(gateway);
  return { gateway, audit, rules };
}

function session(fields: Partial<UpstreamSession> = {}): UpstreamSession {
  return {
    id: 'test-session',
    clientCapabilities: () => ({}),
    request: () => Promise.reject(new Error('no server requests here')),
    notifyToolListChanged: () => Promise.resolve(),
    ...fields,
  };
}

const extra = {
  signal: new AbortController().signal,
  requestId: 1,
  sendNotification: () => Promise.resolve(),
  sendRequest: () => Promise.reject(new Error('no requests')),
} as unknown as RequestExtra;

const errorCode = (r: CallToolResult) => (r.structuredContent as { error?: { code: string } } | undefined)?.error?.code;

describe('Gateway in process', () => {
  it('serves the meta-tools to an SDK client over InMemoryTransport', async () => {
    const { gateway } = build();
    const { server, detach } = createUpstreamServer(gateway);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 'in-process', version: '1.0.0' });
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['list_servers', 'get_server_tools', 'execute_tool', 'read_resource', 'get_prompt']);
      const result = await client.request(
        { method: 'tools/call', params: { name: 'execute_tool', arguments: { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'hi' } } } },
        CallToolResultSchema,
      );
      expect(result.content).toEqual([{ type: 'text', text: 'hi' }]);
      // An unknown gateway tool is a JSON-RPC error whose message is said once.
      const err = await client
        .request({ method: 'tools/call', params: { name: 'nope', arguments: {} } }, CallToolResultSchema)
        .catch((e: Error) => e);
      expect(String((err as Error).message)).toBe('MCP error -32602: Unknown tool: nope');
    } finally {
      await client.close();
      detach();
    }
  });

  it("binds a session to its agent: that agent's rules apply and another agent_id is AGENT_MISMATCH", async () => {
    const { gateway } = build();
    const bound = session({ boundAgent: 'bob' });
    const asBob = await gateway.callTool('execute_tool', { server: 'echo', tool: 'echo', args: { message: 'x' } }, extra, bound);
    expect(errorCode(asBob)).toBe('DENIED_BY_POLICY');
    const claimAlice = await gateway.callTool('execute_tool', { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'x' } }, extra, bound);
    expect(errorCode(claimAlice)).toBe('AGENT_MISMATCH');
    // An unbound session still takes agent_id.
    const unbound = await gateway.callTool('execute_tool', { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'x' } }, extra, session());
    expect(unbound.isError).not.toBe(true);
  });

  it('records a client-chosen session id in the audit line and tells the call observer', async () => {
    const events: CallEvent[] = [];
    const { gateway, audit } = build({ onCall: (e) => events.push(e) });
    await gateway.callTool('execute_tool', { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'x' } }, extra, session({ auditSessionId: 'call-42' }));
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
    expect(gateway.snapshot.revision).toBe(2);
  });
});
