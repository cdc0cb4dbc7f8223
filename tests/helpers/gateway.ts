// Start the built gateway (dist/main.js) over real stdio and talk to it with the SDK Client.
//
//   const gw = await startGateway({ mcpServers: { echo: { command: 'node', args: [fixture('echo')] } },
//                                   rules: { agents: { a: { allow: { servers: ['*'] } } } } });
//   const r = await callTool(gw.client, 'execute_tool', { agent_id: 'a', server: 'echo', tool: 'echo', args: { message: 'hi' } });
//   await gw.close();
//
// Both config files are written into a fresh temp folder (removed by cleanupTmpDirs()).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { CallToolResultSchema, type CallToolResult, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { GATEWAY_MAIN } from './paths.js';
import { makeTmpDir, writeJson } from './tmp.js';

export interface StartGatewayOptions {
  /** The `mcpServers` object of `.mcp.json`. */
  mcpServers: object;
  /** The whole `.mcp-gateway-rules.json` document. */
  rules: object;
  /** Extra command-line arguments after the three file options. */
  args?: string[];
  /** Added to (and overriding) the test process's environment. */
  env?: Record<string, string>;
  /** Working directory of the gateway (default: its temp folder). */
  cwd?: string;
  /** Capabilities the test client declares (sampling, elicitation, roots, ...). Default none. */
  clientCapabilities?: ClientCapabilities;
  /** Timeout for initialize (default 20 s). */
  connectTimeoutMs?: number;
}

export interface GatewayHandle {
  client: Client;
  transport: StdioClientTransport;
  /** The temp folder holding both config files and the audit log. */
  dir: string;
  mcpConfigPath: string;
  rulesPath: string;
  auditPath: string;
  /** Gateway process id. */
  pid: number;
  /** Everything the gateway wrote to stderr so far (the last 8 MiB at most). */
  stderr: () => string;
  /** Resolves when the gateway process has exited and its pipes are closed. */
  exited: Promise<void>;
  /** Close the client: end stdin, then the SDK escalates to SIGTERM (2 s) and SIGKILL (4 s). */
  close(): Promise<void>;
}

const STDERR_CAP = 8 * 1024 * 1024;

/** Environment without undefined values (process.env's type allows them). */
function definedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

export async function startGateway(opts: StartGatewayOptions): Promise<GatewayHandle> {
  if (!existsSync(GATEWAY_MAIN)) throw new Error(`${GATEWAY_MAIN} is missing: run \`npm run build\` first`);
  const dir = makeTmpDir('amg-gw-');
  const mcpConfigPath = join(dir, '.mcp.json');
  const rulesPath = join(dir, '.mcp-gateway-rules.json');
  const auditPath = join(dir, 'audit.jsonl');
  writeJson(mcpConfigPath, { mcpServers: opts.mcpServers });
  writeJson(rulesPath, opts.rules);

  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [GATEWAY_MAIN, '--mcp-config', mcpConfigPath, '--rules', rulesPath, '--audit-log', auditPath, ...(opts.args ?? [])],
    env: { ...definedEnv(process.env), ...opts.env },
    cwd: opts.cwd ?? dir,
    stderr: 'pipe',
  });

  let stderrText = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderrText += chunk.toString('utf8');
    if (stderrText.length > STDERR_CAP) stderrText = stderrText.slice(-STDERR_CAP);
  });

  // Set before connect: Protocol.connect() chains an existing onclose.
  let markExited!: () => void;
  const exited = new Promise<void>((resolve) => (markExited = resolve));
  transport.onclose = () => markExited();

  const client = new Client({ name: 'gateway-test-client', version: '1.0.0' }, { capabilities: opts.clientCapabilities ?? {} });
  try {
    await client.connect(transport, { timeout: opts.connectTimeoutMs ?? 20_000 });
  } catch (e) {
    await client.close().catch(() => {});
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`gateway did not start: ${msg}\n--- gateway stderr ---\n${stderrText}`, { cause: e });
  }
  const pid = transport.pid;
  if (pid === null) throw new Error(`gateway exited during start-up\n--- gateway stderr ---\n${stderrText}`);

  return {
    client,
    transport,
    dir,
    mcpConfigPath,
    rulesPath,
    auditPath,
    pid,
    stderr: () => stderrText,
    exited,
    close: async () => {
      await client.close();
      await exited;
    },
  };
}

/**
 * tools/call through the raw request path with the passthrough result schema, so the result
 * is exactly what came over the wire (Client.callTool() adds client-side checks that reject
 * some valid results).
 */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}, options?: RequestOptions): Promise<CallToolResult> {
  return client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema, options);
}

/** Parse a JSONL file (the audit log); missing file = no lines. A trailing partial line throws. */
export function readJsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
