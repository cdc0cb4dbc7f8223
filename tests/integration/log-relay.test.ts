// Downstream notifications/message through the gateway: logging/setLevel per client, the
// caller of a call hears that call's messages at its level, other clients only what the
// policy lets their agent see, and the downstream is asked to log at the most verbose level
// any client wants.
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/core';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import type { LoggingMessageNotification } from '@modelcontextprotocol/client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway/gateway.js';
import { MAX_LOG_DATA_CHARS } from '../../src/gateway/logRelay.js';
import { createUpstreamServer } from '../../src/gateway/upstreamServer.js';
import { buildGateway, closeGateways } from '../helpers/inProcessGateway.js';
import { fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';
import { textOf } from '../helpers/results.js';

type Log = LoggingMessageNotification['params'];

const clients: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((close) => close()));
  await closeGateways();
});
afterAll(cleanupTmpDirs);

const SERVERS = {
  logs: { command: process.execPath, args: [fixture('logger')] },
  other: { command: process.execPath, args: [fixture('logger')] },
};
// alice, carol and dave may use `logs`; bob only `other`.
const RULES = {
  agents: {
    alice: { allow: { servers: ['logs'] } },
    bob: { allow: { servers: ['other'] } },
    carol: { allow: { servers: ['logs'] } },
    dave: { allow: { servers: ['logs'] } },
  },
};

function build(): Gateway {
  return buildGateway(SERVERS, RULES, { mode: 'native', backoff: { baseMs: 10, maxMs: 10 } }).gateway;
}

async function connect(gateway: Gateway, agent: string) {
  const { server, detach } = createUpstreamServer(gateway, { boundAgent: agent });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: agent, version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  const logs: Log[] = [];
  client.setNotificationHandler('notifications/message', (n) => {
    logs.push(n.params);
  });
  clients.push(async () => {
    await client.close();
    detach();
  });
  return { client, logs };
}

let seq = 0;
/** A message from `logs` related to no call: sent once the call that scheduled it is over. */
async function unrelated(client: Client, level: string, message: string): Promise<void> {
  const path = join(makeTmpDir('amg-log-'), `go-${++seq}`);
  await client.callTool({ name: 'logs__log_when', arguments: { path, level, message } });
  writeFileSync(path, '');
}

describe('log relay', () => {
  it('accepts logging/setLevel and declares logging', async () => {
    const { client } = await connect(build(), 'alice');
    expect(client.getServerCapabilities()?.logging).toEqual({});
    await expect(client.setLoggingLevel('info')).resolves.toEqual({});
  });

  it("sends a call's messages to its caller at its level, with the server named in `logger`", async () => {
    const gateway = build();
    const alice = await connect(gateway, 'alice');
    await alice.client.setLoggingLevel('info');
    await alice.client.callTool({ name: 'logs__log', arguments: { level: 'debug', message: 'too quiet' } });
    await alice.client.callTool({ name: 'logs__log', arguments: { level: 'warning', message: 'heard' } });
    await alice.client.callTool({ name: 'logs__tool_with_logging', arguments: {} });
    await waitFor(() => alice.logs.length >= 4, { message: 'alice did not receive her call messages' });
    expect(alice.logs).toEqual([
      { level: 'warning', logger: 'logs/fixture', data: 'heard' },
      { level: 'info', logger: 'logs', data: 'Tool execution started' },
      { level: 'info', logger: 'logs', data: 'Tool processing data' },
      { level: 'info', logger: 'logs', data: 'Tool execution completed' },
    ]);
  });

  it('sends messages unrelated to a call only to clients whose agent may use the server and whose level admits them', async () => {
    const gateway = build();
    const alice = await connect(gateway, 'alice');
    const bob = await connect(gateway, 'bob');
    const carol = await connect(gateway, 'carol');
    const dave = await connect(gateway, 'dave');
    await alice.client.setLoggingLevel('debug');
    await bob.client.setLoggingLevel('debug');
    await carol.client.setLoggingLevel('error');
    // dave never sets a level: he gets nothing.

    await unrelated(alice.client, 'warning', 'first');
    await waitFor(() => alice.logs.length >= 1, { message: 'the first message did not arrive' });
    await unrelated(alice.client, 'critical', 'second');
    await waitFor(() => carol.logs.length >= 1 && alice.logs.length >= 2, { message: 'the unrelated messages did not arrive' });
    // One round trip each, so anything sent to them before is in.
    await Promise.all([bob.client.ping(), dave.client.ping(), carol.client.ping()]);
    expect(alice.logs.map((l) => l.data)).toEqual(['first', 'second']);
    expect(carol.logs).toEqual([{ level: 'critical', logger: 'logs/fixture', data: 'second' }]);
    expect(bob.logs).toEqual([]);
    expect(dave.logs).toEqual([]);
  });

  it("sends a call's messages to no other client", async () => {
    const gateway = build();
    const alice = await connect(gateway, 'alice');
    const bob = await connect(gateway, 'bob');
    const carol = await connect(gateway, 'carol');
    await alice.client.setLoggingLevel('debug');
    await bob.client.setLoggingLevel('debug');
    await carol.client.setLoggingLevel('error');
    await alice.client.callTool({ name: 'logs__log', arguments: { level: 'error', message: 'for alice' } });
    // Then one carol does get: the downstream sends in order, so had the first reached her, it would be in first.
    await unrelated(alice.client, 'critical', 'for everyone');
    await waitFor(() => carol.logs.length >= 1, { message: 'carol did not receive the unrelated message' });
    await bob.client.ping();
    expect(alice.logs.map((l) => l.data)).toEqual(['for alice', 'for everyone']);
    expect(carol.logs.map((l) => l.data)).toEqual(['for everyone']);
    expect(bob.logs).toEqual([]);
  });

  it("sends an isolated instance's messages to its own caller only", async () => {
    const gateway = buildGateway(
      { private: { command: process.execPath, args: [fixture('logger')], isolation: 'agent' } },
      { agents: { alice: { allow: { servers: ['private'] } }, carol: { allow: { servers: ['private'] } } } },
      { mode: 'native' },
    ).gateway;
    const alice = await connect(gateway, 'alice');
    const carol = await connect(gateway, 'carol');
    await alice.client.setLoggingLevel('debug');
    await carol.client.setLoggingLevel('debug');
    // Carol's own instance runs too, and says nothing.
    await carol.client.callTool({ name: 'private__log_level', arguments: {} });
    // Related to no call: never broadcast (the fixture deletes the file once it has sent it).
    const path = join(makeTmpDir('amg-log-'), 'go');
    await alice.client.callTool({ name: 'private__log_when', arguments: { path, level: 'error', message: 'unrelated' } });
    writeFileSync(path, '');
    await waitFor(() => !existsSync(path), { message: 'the instance did not send its message' });
    await alice.client.callTool({ name: 'private__log', arguments: { level: 'info', message: 'mine' } });
    await carol.client.ping();
    expect(alice.logs).toContainEqual({ level: 'info', logger: 'private/fixture', data: 'mine' });
    expect(carol.logs).toEqual([]);
  });

  it('asks the downstream to log at the most verbose level a client wants, and follows changes', async () => {
    const gateway = build();
    const alice = await connect(gateway, 'alice');
    const carol = await connect(gateway, 'carol');
    // No client asked yet: the server is not told anything.
    expect(textOf(await alice.client.callTool({ name: 'logs__log_level', arguments: {} }))).toBe('<unset>');
    await carol.client.setLoggingLevel('error');
    await waitFor(async () => textOf(await alice.client.callTool({ name: 'logs__log_level', arguments: {} })) === 'error');
    await alice.client.setLoggingLevel('notice');
    await waitFor(async () => textOf(await alice.client.callTool({ name: 'logs__log_level', arguments: {} })) === 'notice');
    await alice.client.setLoggingLevel('critical');
    await waitFor(async () => textOf(await alice.client.callTool({ name: 'logs__log_level', arguments: {} })) === 'error');
  });

  it('clips large data instead of relaying it whole', async () => {
    const gateway = build();
    const alice = await connect(gateway, 'alice');
    await alice.client.setLoggingLevel('info');
    await alice.client.callTool({ name: 'logs__log_big', arguments: { chars: 200_000 } });
    await waitFor(() => alice.logs.length >= 1);
    const data = alice.logs[0]!.data as string;
    expect(data.length).toBeLessThan(MAX_LOG_DATA_CHARS + 100);
    expect(data).toMatch(/… \[clipped: 200002 characters\]$/);
  });

  it('refuses an unknown level with invalid params', async () => {
    const { client } = await connect(build(), 'alice');
    await expect(
      client.request({ method: 'logging/setLevel', params: { level: 'loud' } }, LoggingMessageNotificationSchema.shape.params.partial()),
    ).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining("'level' must be one of debug, info"),
    });
  });
});
