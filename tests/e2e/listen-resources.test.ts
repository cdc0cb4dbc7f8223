// A 2026-07-28 client subscribes to resources inside subscriptions/listen (there is no
// resources/subscribe in that revision). Over stdio the SDK's entry answers the listen; the
// gateway sees it go by and subscribes the downstream for what the agent may read, so the
// client hears of updates, and the downstream is unsubscribed when the listen ends. A URI the
// agent may not read never reaches the downstream.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, describe, expect, it } from 'vitest';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { fixture, GATEWAY_MAIN } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';

const MARKER = `gw-listen-resources-${process.pid}-${Date.now()}`;
const clients: Client[] = [];
guardAgainstLeaks(MARKER, { close: () => Promise.all(clients.map((c) => c.close().catch(() => undefined))), what: 'gateways left behind' });

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
});

describe('resource subscriptions of a 2026 client over stdio', () => {
  it('subscribes the downstream for an allowed URI only, and unsubscribes when the listen ends', { timeout: 60_000 }, async () => {
    const dir = makeTmpDir();
    const base = join(dir, 'srv');
    mkdirSync(join(base, 'public'), { recursive: true });
    mkdirSync(join(base, 'secret'), { recursive: true });
    writeFileSync(join(base, 'public', 'readme.txt'), 'public readme');
    writeFileSync(join(base, 'secret', 'key.txt'), 'the-secret-key');
    const callLog = join(dir, 'calls.jsonl');
    writeJson(join(dir, '.mcp.json'), {
      mcpServers: { files: { command: process.execPath, args: [fixture('files-resources')], env: { FILES_ROOT: base, FIXTURE_CALL_LOG: callLog } } },
    });
    writeJson(join(dir, 'rules.json'), {
      agents: { reader: { allow: { servers: ['files'] }, deny: { resources: { files: [`file://${base}/secret/*`] } } } },
    });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        GATEWAY_MAIN,
        '--mcp-config',
        join(dir, '.mcp.json'),
        '--rules',
        join(dir, 'rules.json'),
        '--mode',
        'native',
        '--agent',
        'reader',
        '--audit-log',
        'off',
      ],
      env: { ...(process.env as Record<string, string>), GW_E2E_MARKER: MARKER },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'listen-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    clients.push(client);
    await client.connect(transport);
    expect(client.getProtocolEra()).toBe('modern');

    const readme = `mcpgw://files/file://${base}/public/readme.txt`;
    const secret = `mcpgw://files/file://${base}/secret/key.txt`;
    const updated: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri));
    const subscription = await client.listen({ resourceSubscriptions: [readme, secret] });
    await waitFor(() => updated.length > 0, { timeoutMs: 20_000, message: 'no notifications/resources/updated for the allowed resource' });
    expect(new Set(updated)).toEqual(new Set([readme]));

    const downstream = (): string[] =>
      readFileSync(callLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const { method, uri } = JSON.parse(line) as { method: string; uri: string };
          return `${method} ${uri}`;
        });
    expect(downstream()).toEqual([`resources/subscribe file://${base}/public/readme.txt`]);
    await subscription.close();
    await waitFor(() => downstream().includes(`resources/unsubscribe file://${base}/public/readme.txt`), {
      timeoutMs: 20_000,
      message: 'the downstream was not unsubscribed when the listen ended',
    });
    expect(downstream().some((line) => line.includes('secret'))).toBe(false);
  });
});
