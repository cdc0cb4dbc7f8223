// --mode native in HTTP mode: each /mcp session is bound to the agent of its per-agent token
// and sees that agent's tools under native names; the REST API still calls the meta-tools.
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const RULES = {
  agents: {
    alice: { allow: { servers: ['echo'], tools: { echo: ['echo', 'add'] } } },
    bob: { allow: { servers: ['echo'], tools: { echo: ['pid'] } } },
  },
  credentials: { [sha256('alice-token')]: 'alice', [sha256('bob-token')]: 'bob' },
};

let gw: HttpGw;
const clients: Client[] = [];
beforeAll(async () => {
  gw = await startHttpGateway({
    mcpServers: { echo: { command: process.execPath, args: [fixture('echo')] } },
    rules: RULES,
    args: ['--mode', 'native'],
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

async function connect(token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'native-http-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

describe('native mode over /mcp', () => {
  it("gives each token's session its own agent's native tools", async () => {
    const alice = await connect('alice-token');
    const bob = await connect('bob-token');
    expect((await alice.listTools()).tools.map((t) => t.name)).toEqual(['echo__echo', 'echo__add']);
    expect((await bob.listTools()).tools.map((t) => t.name)).toEqual(['echo__pid']);
    expect((await alice.callTool({ name: 'echo__add', arguments: { a: 2, b: 3 } })).content).toEqual([{ type: 'text', text: '5' }]);
    const hidden = await bob.callTool({ name: 'echo__echo', arguments: { message: 'x' } });
    expect(hidden.structuredContent).toMatchObject({ error: { code: 'TOOL_NOT_FOUND', message: 'Unknown tool: echo__echo' } });
  });

  it('leaves the REST API on the meta-tools', async () => {
    const res = await fetch(`${gw.url}/services/echo/call`, {
      method: 'POST',
      headers: { Authorization: 'Bearer alice-token', 'Content-Type': 'application/json' },
      body: JSON.stringify({ tool: 'echo', arguments: { message: 'hi' }, session_id: 's1' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ result: 'hi', isError: false });
  });
});
