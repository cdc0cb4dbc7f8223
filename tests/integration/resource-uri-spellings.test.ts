// Issue 13 item 1, through the gateway in process: no spelling of a denied file's URI reads it,
// through the read_resource meta-tool or native resources/read, and the downstream is asked for
// exactly the canonical URI that was decided on. The downstream is files-resources.mjs, a real
// child process that resolves URIs as a browser would and has no root check of its own.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, InMemoryTransport, ProtocolError } from '@modelcontextprotocol/client';
import type { CallToolResult } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamServer } from '../../src/gateway/upstreamServer.js';
import { buildGateway, closeGateways, testExtra, testSession } from '../helpers/inProcessGateway.js';
import { fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';
import { secretFileSpellings, type Spellings } from '../helpers/uriSpellings.js';
import { codeOf, completed } from '../helpers/results.js';

afterEach(closeGateways);
afterAll(cleanupTmpDirs);

const SECRET_TEXT = 'the-secret-key';
const PUBLIC_TEXT = 'public readme';

let base: string;
let spellings: Spellings;
let callLog: string;

beforeAll(() => {
  const dir = makeTmpDir();
  base = join(dir, 'srv');
  mkdirSync(join(base, 'public'), { recursive: true });
  mkdirSync(join(base, 'secret'), { recursive: true });
  writeFileSync(join(base, 'public', 'readme.txt'), PUBLIC_TEXT);
  writeFileSync(join(base, 'secret', 'key.txt'), SECRET_TEXT);
  callLog = join(dir, 'calls.jsonl');
  spellings = secretFileSpellings(base);
});

function build() {
  rmSync(callLog, { force: true });
  return buildGateway(
    { files: { command: process.execPath, args: [fixture('files-resources')], env: { FILES_ROOT: base, FIXTURE_CALL_LOG: callLog } } },
    {
      agents: {
        allowlist: { allow: { servers: ['files'], resources: { files: [`file://${base}/public/*`] } } },
        denylist: { allow: { servers: ['files'] }, deny: { resources: { files: [`file://${base}/secret/*`] } } },
      },
    },
    { mode: 'both' },
  );
}

const text = (r: CallToolResult) => JSON.stringify(r.content);
/** `<method> <uri>` of each request the downstream received, the URI as it received it. */
const downstreamLog = (): string[] => {
  try {
    return readFileSync(callLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { method: string; uri: string })
      .map((r) => `${r.method} ${r.uri}`);
  } catch {
    return [];
  }
};
const readsLogged = (): string[] => downstreamLog().map((line) => line.replace(/^resources\/read /, ''));

/** `<agent> <uri> <outcome>` for each agent and spelling, in the order the tests try them. */
const expected = (outcome: (uri: string) => string): string[] =>
  ['allowlist', 'denylist'].flatMap((agent) => [...spellings.sameFile, ...spellings.refused].map((uri) => `${agent} ${uri} ${outcome(uri)}`));

async function nativeClient(gateway: ReturnType<typeof build>['gateway'], agent: string) {
  const { server, detach } = createUpstreamServer(gateway, { boundAgent: agent });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'spellings', version: '1.0.0' });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return {
    client,
    close: async () => {
      await client.close();
      detach();
    },
  };
}

describe('resource URI spellings', () => {
  it('read_resource: no spelling reads the denied file, for an allow-list or a deny-list', async () => {
    const { gateway } = build();
    const leaks: string[] = [];
    const codes: string[] = [];
    for (const agent of ['allowlist', 'denylist']) {
      for (const uri of [...spellings.sameFile, ...spellings.refused]) {
        const r = completed(await gateway.callTool('read_resource', { agent_id: agent, server: 'files', uri }, testExtra(), testSession()));
        if (text(r).includes(SECRET_TEXT)) leaks.push(`${agent} ${uri}`);
        codes.push(`${agent} ${uri} ${codeOf(r)}`);
      }
    }
    expect(leaks).toEqual([]);
    expect(codes).toEqual(expected((uri) => (spellings.refused.includes(uri) ? 'INVALID_ARGUMENT' : 'DENIED_BY_POLICY')));
    // Refused before the downstream: it was never asked.
    expect(readsLogged()).toEqual([]);
  });

  it('native resources/read: no spelling reads the denied file', async () => {
    const { gateway } = build();
    const leaks: string[] = [];
    const codes: string[] = [];
    for (const agent of ['allowlist', 'denylist']) {
      const { client, close } = await nativeClient(gateway, agent);
      try {
        for (const uri of [...spellings.sameFile, ...spellings.refused]) {
          const outcome = await client.readResource({ uri: `mcpgw://files/${uri}` }).catch((e: unknown) => e);
          if (JSON.stringify(outcome).includes(SECRET_TEXT)) leaks.push(`${agent} ${uri}`);
          codes.push(`${agent} ${uri} ${outcome instanceof ProtocolError ? outcome.code : 'read'}`);
        }
      } finally {
        await close();
      }
    }
    expect(leaks).toEqual([]);
    // Denied answers as missing: -32602 with the URI, as a URI with no single reading is.
    expect(codes).toEqual(expected(() => '-32602'));
    expect(readsLogged()).toEqual([]);
  });

  it('an allowed read is forwarded in the canonical form that was decided on', async () => {
    const { gateway } = build();
    const canonical = `file://${base}/public/readme.txt`;
    const spelt = `FILE://localhost${base}/public/./sub/..//%72eadme.txt`;
    const meta = completed(await gateway.callTool('read_resource', { agent_id: 'allowlist', server: 'files', uri: spelt }, testExtra(), testSession()));
    expect(text(meta)).toContain(PUBLIC_TEXT);
    const { client, close } = await nativeClient(gateway, 'denylist');
    try {
      const native = await client.readResource({ uri: `mcpgw://files/${spelt}` });
      expect(native.contents).toEqual([{ uri: `mcpgw://files/${canonical}`, mimeType: 'text/plain', text: PUBLIC_TEXT }]);
    } finally {
      await close();
    }
    expect(readsLogged()).toEqual([canonical, canonical]);
  });

  it('subscribe, unsubscribe and completion: decided and forwarded in the canonical form; no other spelling passes', async () => {
    const { gateway } = build();
    const readme = `file://${base}/public/readme.txt`;
    const publicTemplate = `file://${base}/public/{name}`;
    const { client, close } = await nativeClient(gateway, 'denylist');
    try {
      const updated: string[] = [];
      client.setNotificationHandler('notifications/resources/updated', (n) => void updated.push(n.params.uri));
      await client.subscribeResource({ uri: `mcpgw://files/FILE://localhost${base}/public/./readme.txt` });
      // The server names the resource in yet another spelling; the client hears of the canonical one.
      await waitFor(() => updated.length > 0, { message: 'no notifications/resources/updated relayed' });
      expect(new Set(updated)).toEqual(new Set([`mcpgw://files/${readme}`]));
      // Another spelling of the same URI ends the same subscription.
      await client.unsubscribeResource({ uri: `mcpgw://files/file://${base}//public/%72eadme.txt` });
      await client.complete({
        ref: { type: 'ref/resource', uri: `mcpgw://files/file://${base}/x/../public/{name}` },
        argument: { name: 'name', value: 'r' },
      });
      const refused = async (request: Promise<unknown>) => ((await request.catch((e: unknown) => e)) as ProtocolError).code;
      for (const uri of spellings.sameFile) expect(await refused(client.subscribeResource({ uri: `mcpgw://files/${uri}` })), uri).toBe(-32602);
      for (const uri of spellings.refused) expect(await refused(client.subscribeResource({ uri: `mcpgw://files/${uri}` })), uri).toBe(-32602);
      // A completion error is invalid params either way; the message tells a denied template from a refused URI.
      const completing = async (uri: string) =>
        ((await client.complete({ ref: { type: 'ref/resource', uri }, argument: { name: 'name', value: 'k' } }).catch((e: unknown) => e)) as ProtocolError).message;
      expect(await completing(`mcpgw://files/file://${base}/public/%2e%2e/secret/{name}`)).toMatch(/^Resource not found/);
      expect(await completing(`mcpgw://files/file://${base}/public\\..\\secret/{name}`)).toMatch(/^Invalid argument .uri.*backslash/);
    } finally {
      await close();
    }
    expect(downstreamLog()).toEqual([`resources/subscribe ${readme}`, `resources/unsubscribe ${readme}`, `completion/complete ${publicTemplate}`]);
  });
});
