// Downstream log messages through the built gateway: logging/setLevel over stdio (meta mode,
// execute_tool) and over /mcp, where a call's messages come on the caller's POST stream and
// unrelated ones on the GET stream of every session whose agent may use the server.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { callTool, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { killLaunchedGateways, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';

type Log = LoggingMessageNotification['params'];
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const SERVERS = { logs: { command: process.execPath, args: [fixture('logger')] } };

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  killLaunchedGateways();
  cleanupTmpDirs();
});

function collect(client: Client): Log[] {
  const logs: Log[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    logs.push(n.params);
  });
  return logs;
}

describe('logging over stdio', () => {
  it('accepts logging/setLevel and relays a call message to the caller at its level', async () => {
    const gw: GatewayHandle = await startGateway({ mcpServers: SERVERS, rules: { agents: { tester: { allow: { servers: ['logs'] } } } } });
    closers.push(() => gw.close());
    const logs = collect(gw.client);
    expect(gw.client.getServerCapabilities()?.logging).toEqual({});
    await expect(gw.client.setLoggingLevel('warning')).resolves.toEqual({});
    const call = (level: string, message: string) =>
      callTool(gw.client, 'execute_tool', { agent_id: 'tester', server: 'logs', tool: 'log', args: { level, message } });
    expect((await call('info', 'below the level')).isError).toBeFalsy();
    expect((await call('error', 'at or above it')).isError).toBeFalsy();
    await waitFor(() => logs.length >= 1);
    expect(logs).toEqual([{ level: 'error', logger: 'logs/fixture', data: 'at or above it' }]);
  });
});

describe('logging over /mcp', () => {
  it("sends a call's messages on its stream to the caller only, and unrelated ones to every session whose agent may use the server", async () => {
    const gw: HttpGw = await startHttpGateway({
      mcpServers: { ...SERVERS, quiet: { command: process.execPath, args: [fixture('logger')] } },
      rules: {
        agents: { alice: { allow: { servers: ['logs'] } }, bob: { allow: { servers: ['quiet'] } }, carol: { allow: { servers: ['logs'] } } },
        credentials: { [sha256('alice-token')]: 'alice', [sha256('bob-token')]: 'bob', [sha256('carol-token')]: 'carol' },
      },
      args: ['--mode', 'native'],
    });
    closers.push(async () => {
      await gw.stop();
      gw.kill();
    });
    const connect = async (token: string) => {
      const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
      const client = new Client({ name: token, version: '1.0.0' });
      await client.connect(transport);
      closers.push(() => client.close());
      return { client, logs: collect(client) };
    };
    const alice = await connect('alice-token');
    const bob = await connect('bob-token');
    const carol = await connect('carol-token');
    for (const c of [alice, bob, carol]) await expect(c.client.setLoggingLevel('debug')).resolves.toEqual({});

    await alice.client.callTool({ name: 'logs__log', arguments: { level: 'notice', message: 'during the call' } });
    // Sent by the server once the file exists, after the call that scheduled it is over.
    const go = join(gw.dir, 'go');
    await alice.client.callTool({ name: 'logs__log_when', arguments: { path: go, level: 'warning', message: 'after the call' } });
    writeFileSync(go, '');
    // Carol has no call on `logs`: she hears the second only, on her GET stream.
    await waitFor(() => carol.logs.length >= 1 && alice.logs.length >= 2, { message: 'the messages did not arrive' });
    expect(alice.logs.map((l) => l.data)).toEqual(['during the call', 'after the call']);
    expect(carol.logs).toEqual([{ level: 'warning', logger: 'logs/fixture', data: 'after the call' }]);
    // Bob's agent may not use `logs`: after a round trip, still nothing.
    await bob.client.ping();
    expect(bob.logs).toEqual([]);
  });
});
