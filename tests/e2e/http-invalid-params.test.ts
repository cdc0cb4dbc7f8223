// Bad params over Streamable HTTP get what they get over stdio (issue 13 item 13): -32602 with
// a plain message naming the field, not -32603 with zod's dump of the issues.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, ReadResourceResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import { startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';

let gw: HttpGw | undefined;
let client: Client | undefined;

afterAll(async () => {
  await client?.close().catch(() => {});
  await gw?.stop();
  cleanupTmpDirs();
});

it('/mcp answers non-object arguments with -32602 naming the field, and keeps serving', async () => {
  gw = await startHttpGateway({
    mcpServers: { echo: { command: process.execPath, args: [fixture('echo')] } },
    rules: { agents: { alice: { allow: { servers: ['*'] } } } },
    args: ['--mode', 'both'],
    env: { GATEWAY_AUTH_TOKEN: 'tok-123' },
  });
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { Authorization: 'Bearer tok-123' } } });
  client = new Client({ name: 'http-invalid-params', version: '1.0.0' });
  await client.connect(transport);

  const bad = client.request({ method: 'tools/call', params: { name: 'list_servers', arguments: 'x' } }, CallToolResultSchema);
  await expect(bad).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('Invalid params: arguments must be an object, got string') });
  const badUri = client.request({ method: 'resources/read', params: { uri: 5 } }, ReadResourceResultSchema);
  await expect(badUri).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('Invalid params: uri must be a string, got number') });

  const ok = await client.request({ method: 'tools/call', params: { name: 'list_servers', arguments: { agent_id: 'alice' } } }, CallToolResultSchema);
  expect(ok.isError).toBeFalsy();
});
