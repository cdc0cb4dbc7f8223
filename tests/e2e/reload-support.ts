// Shared by reload.test.ts and supervision.test.ts: a gateway started with --debug (so
// get_gateway_status is offered), typed views of its status, and small call helpers.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { callTool, startGateway, type GatewayHandle, type StartGatewayOptions } from '../helpers/gateway.js';
import { processesWithEnv, waitFor } from '../helpers/processes.js';
import { textOf } from '../helpers/results.js';

export const AGENT = 'tester';
export const ALLOW_ALL = { agents: { [AGENT]: { allow: { servers: ['*'] } } } };

export interface FileReload {
  attempts: number;
  successes: number;
  last_attempt: string | null;
  last_success: string | null;
  last_error: string | null;
  warnings: string[];
  revision: number;
  failed_servers?: string[];
}

export interface ServerHealth {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  consecutive_failures: number;
  next_retry: string | null;
  fail_fast: boolean;
  last_error: string | null;
  tools_cached: number | null;
}

export interface Status {
  revision: number;
  servers: ServerHealth[];
  reload: { mcp_config: FileReload; gateway_rules: FileReload };
}

/** One e2e file's gateways and the marker every process they start inherits. */
export class GatewayFarm {
  readonly marker: string;
  readonly #open: GatewayHandle[] = [];

  constructor(name: string) {
    this.marker = `${name}-${process.pid}-${Date.now()}`;
  }

  /** Starts with --debug unless `debug: false`. */
  async start(opts: Omit<StartGatewayOptions, 'args'> & { args?: string[]; debug?: boolean }): Promise<GatewayHandle> {
    const { debug = true, ...rest } = opts;
    const gw = await startGateway({
      ...rest,
      args: [...(debug ? ['--debug'] : []), ...(opts.args ?? [])],
      env: { GW_E2E_MARKER: this.marker, GATEWAY_LOG_LEVEL: 'info', ...opts.env },
    });
    this.#open.push(gw);
    return gw;
  }

  /** Closes every gateway and proves no process of this file is left. */
  async closeAll(): Promise<void> {
    await Promise.allSettled(this.#open.map((gw) => gw.close()));
    this.#open.length = 0;
    await waitFor(() => processesWithEnv('GW_E2E_MARKER', this.marker).length === 0, {
      timeoutMs: 5_000,
      message: `processes left behind: ${JSON.stringify(processesWithEnv('GW_E2E_MARKER', this.marker).map((p) => p.cmd))}`,
    });
  }
}

export function exec(
  gw: GatewayHandle,
  server: string,
  tool: string,
  args: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<CallToolResult> {
  return callTool(gw.client, 'execute_tool', { agent_id: AGENT, server, tool, args, ...extra });
}

export async function status(gw: GatewayHandle): Promise<Status> {
  const r = await callTool(gw.client, 'get_gateway_status', { agent_id: AGENT });
  if (r.isError) throw new Error(`get_gateway_status failed: ${textOf(r)}`);
  return r.structuredContent as unknown as Status;
}

export async function serverHealth(gw: GatewayHandle, name: string): Promise<ServerHealth> {
  const found = (await status(gw)).servers.find((s) => s.name === name);
  if (!found) throw new Error(`server ${name} not in status`);
  return found;
}

/** Waits until `file` has had `attempts` reload attempts, and returns its status. */
export async function waitForAttempts(gw: GatewayHandle, file: 'mcp_config' | 'gateway_rules', attempts: number, timeoutMs = 10_000): Promise<FileReload> {
  let last: FileReload | undefined;
  await waitFor(
    async () => {
      last = (await status(gw)).reload[file];
      return last.attempts >= attempts;
    },
    { timeoutMs, intervalMs: 25, message: `${file} never reached ${attempts} reload attempts` },
  );
  return last!;
}

/** The pid an echo fixture reports. */
export async function echoPid(gw: GatewayHandle, server: string): Promise<number> {
  const r = await exec(gw, server, 'pid');
  if (r.isError) throw new Error(`pid on ${server} failed: ${textOf(r)}`);
  return Number(textOf(r));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the gateway's config watcher has logged an event for each of `files` (needs log level debug). */
export async function waitForFileEvents(gw: GatewayHandle, files: string[]): Promise<void> {
  const seen = (file: string) =>
    gw
      .stderr()
      .split('\n')
      .some((line) => line.includes('"config file event"') && line.includes(JSON.stringify(file)));
  await waitFor(() => files.every(seen), { message: `no watcher event for ${files.join(', ')}` });
}
