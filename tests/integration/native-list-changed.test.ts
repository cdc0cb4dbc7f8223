// Native mode in process: list_changed reaches a client when a downstream's list changes
// (its own notification, a restart that brings another list, a servers reload); sessions
// bound to different agents see different lists from one gateway. (That a reload changing
// nothing visible sends none is tested end to end in native-mode.test.ts.)
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import { createUpstreamServer } from '../../src/gateway/upstreamServer.js';
import { buildGateway, closeGateways } from '../helpers/inProcessGateway.js';
import { waitFor } from '../helpers/processes.js';
import { fixture } from '../helpers/paths.js';
import { cleanupTmpDirs, writeJson } from '../helpers/tmp.js';

/** Clients to close before the gateways. */
const clients: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((close) => close()));
  await closeGateways();
});
afterAll(cleanupTmpDirs);

function build(mcpServers: object, rules: object, boundAgent?: string) {
  return buildGateway(mcpServers, rules, {
    ...(boundAgent !== undefined ? { boundAgent } : {}),
    mode: 'native',
    listChangedDebounceMs: 20,
    backoff: { baseMs: 10, maxMs: 10 },
  });
}

async function connect(gateway: Gateway, boundAgent?: string) {
  const { server, detach } = createUpstreamServer(gateway, boundAgent !== undefined ? { boundAgent } : {});
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'in-process', version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  let changes = 0;
  client.setNotificationHandler('notifications/tools/list_changed', () => {
    changes++;
  });
  clients.push(async () => {
    await client.close();
    detach();
  });
  return { client, changes: () => changes };
}

const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name);

describe('native list_changed', () => {
  it('follows a downstream tools/list_changed with one notification', async () => {
    const { gateway } = build({ paged: { command: process.execPath, args: [fixture('paged')] } }, { agents: { a: { allow: { servers: ['*'] } } } }, 'a');
    const { client, changes } = await connect(gateway);
    expect(await names(client)).toEqual(['paged__alpha', 'paged__beta', 'paged__gamma', 'paged__mutate']);

    expect((await client.callTool({ name: 'paged__alpha', arguments: {} })).content).toEqual([{ type: 'text', text: 'alpha' }]);
    await client.callTool({ name: 'paged__mutate', arguments: {} });
    await waitFor(() => changes() >= 1, { message: 'no tools/list_changed after the downstream changed its list' });
    expect(changes()).toBe(1);
    expect(await names(client)).toEqual(['paged__alpha', 'paged__beta', 'paged__gamma', 'paged__mutate', 'paged__delta']);
  });

  it('follows a restart that brings a different list', async () => {
    const { gateway } = build({ paged: { command: process.execPath, args: [fixture('paged')] } }, { agents: { a: { allow: { servers: ['*'] } } } }, 'a');
    const { client, changes } = await connect(gateway);
    await names(client);
    await client.callTool({ name: 'paged__mutate', arguments: {} });
    await waitFor(() => changes() === 1, { message: 'no tools/list_changed after mutate' });
    expect(await names(client)).toContain('paged__delta');
    // A fresh paged process has not been mutated: after the restart, delta is gone.
    process.kill(gateway.serverStates().find((s) => s.name === 'paged')!.pid!, 'SIGKILL');
    await waitFor(async () => (await client.callTool({ name: 'paged__alpha', arguments: {} })).isError !== true, {
      message: 'paged never restarted',
    });
    await waitFor(() => changes() === 2, { message: 'no tools/list_changed after a restart with another list' });
    expect(await names(client)).toEqual(['paged__alpha', 'paged__beta', 'paged__gamma', 'paged__mutate']);
  });

  it('follows a servers reload that adds a server; the other server keeps its names', async () => {
    const paged = { command: process.execPath, args: [fixture('paged')] };
    const { gateway, mcpConfig } = build({ paged }, { agents: { a: { allow: { servers: ['paged', 'other'] } } } }, 'a');
    const { client, changes } = await connect(gateway);
    const before = await names(client);
    writeJson(mcpConfig, { mcpServers: { paged, other: paged } });
    gateway.reload(['mcp_config']);
    await waitFor(() => changes() === 1, { message: 'no tools/list_changed after the servers reload' });
    const after = await names(client);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length)).toEqual(['other__alpha', 'other__beta', 'other__gamma', 'other__mutate']);
  });

  it('gives each session the list of its own agent', async () => {
    const { gateway } = build(
      { paged: { command: process.execPath, args: [fixture('paged')] } },
      { agents: { a: { allow: { servers: ['*'] } }, b: { allow: { servers: ['*'], tools: { paged: ['beta'] } } }, c: { deny: { servers: ['*'] } } } },
    );
    const a = await connect(gateway, 'a');
    const b = await connect(gateway, 'b');
    const c = await connect(gateway, 'c');
    const none = await connect(gateway);
    expect(await names(a.client)).toEqual(['paged__alpha', 'paged__beta', 'paged__gamma', 'paged__mutate']);
    expect(await names(b.client)).toEqual(['paged__beta']);
    expect(await names(c.client)).toEqual([]);
    // No agent can be settled (deny_on_missing_agent): nothing is listed, and a call says why.
    expect(await names(none.client)).toEqual([]);
    const refused = await none.client.callTool({ name: 'paged__alpha', arguments: {} });
    expect(refused.structuredContent).toMatchObject({ error: { code: 'MISSING_AGENT_ID' } });
    const denied = await b.client.callTool({ name: 'paged__alpha', arguments: {} });
    expect(denied.structuredContent).toMatchObject({ error: { code: 'TOOL_NOT_FOUND', message: 'Unknown tool: paged__alpha' } });
  });
});
