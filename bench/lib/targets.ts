// The things the benchmark talks to: a downstream server called directly, or the built
// gateway (dist/main.js) in front of it. Both are reached by the same SDK Client over the same
// stdio transport, so the only difference between them is the gateway.

import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GroupStdioTransport } from './proc.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The gateway under test; BENCH_GATEWAY_MAIN points the bench at another build of it (e.g. a bundle). */
export const GATEWAY_MAIN = process.env['BENCH_GATEWAY_MAIN'] || join(REPO_ROOT, 'dist', 'main.js');
export const PROFILE_DIR = join(REPO_ROOT, 'bench', 'results', 'profiles');
const FIXTURES = join(REPO_ROOT, 'tests', 'fixtures', 'servers');

export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
}

export const SERVERS = {
  echo: { command: process.execPath, args: [join(FIXTURES, 'echo.mjs')] },
  everything: {
    command: process.execPath,
    args: [join(REPO_ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js'), 'stdio'],
  },
  many: { command: process.execPath, args: [join(FIXTURES, 'many-tools.mjs')] },
} as const satisfies Record<string, ServerCommand>;

export const AGENT = 'bench';

/**
 * The environment every child gets: ours minus anything that would change how the gateway or
 * node behaves (GATEWAY_* settings, NODE_OPTIONS, tsx's loader hooks).
 */
export function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (k.startsWith('GATEWAY_') || k === 'NODE_OPTIONS' || k.startsWith('TSX_') || k.startsWith('VITEST')) continue;
    env[k] = v;
  }
  return env;
}

const tmpDirs = new Set<string>();

export function makeTmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'amg-bench-'));
  tmpDirs.add(dir);
  return dir;
}

export function removeTmpDirs(): void {
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
  tmpDirs.clear();
}

/** Atomic write (temp file + rename), as editors save. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

export interface Target {
  readonly label: string;
  readonly client: Client;
  readonly transport: GroupStdioTransport;
  readonly pid: number;
  /** performance.now() when the client's initialize exchange finished. */
  readonly initializedAt: number;
  readonly rulesPath?: string;
  readonly auditPath?: string;
  close(): Promise<void>;
}

const open = new Set<Target>();

async function connect(label: string, transport: GroupStdioTransport, extra: Partial<Target> = {}): Promise<Target> {
  const client = new Client({ name: 'amg-bench', version: '1.0.0' }, { capabilities: {} });
  try {
    await client.connect(transport, { timeout: 30_000 });
  } catch (err) {
    await transport.close(500);
    throw new Error(`${label} did not start: ${err instanceof Error ? err.message : String(err)}\n${transport.stderr()}`, { cause: err });
  }
  const initializedAt = performance.now();
  const target: Target = {
    label,
    client,
    transport,
    pid: transport.pid,
    initializedAt,
    ...extra,
    close: async () => {
      open.delete(target);
      await transport.close();
      await client.close().catch(() => undefined);
    },
  };
  open.add(target);
  return target;
}

export function startDirect(server: ServerCommand, label = 'direct'): Promise<Target> {
  return connect(label, new GroupStdioTransport({ command: server.command, args: server.args, env: childEnv() }));
}

/** A reference proxy from bench/fixtures in front of `server` (called like the server itself). */
export function startRelay(kind: 'raw' | 'sdk', server: ServerCommand): Promise<Target> {
  const relay = join(REPO_ROOT, 'bench', 'fixtures', `${kind}-relay.mjs`);
  return startDirect({ command: process.execPath, args: [relay, server.command, ...server.args] }, `${kind} relay`);
}

export interface GatewayStart {
  /** name -> command; all are configured in .mcp.json. */
  readonly servers: Readonly<Record<string, ServerCommand>>;
  readonly audit?: boolean;
  readonly initStrategy?: 'lazy' | 'eager';
  /** Extra node flags before dist/main.js (e.g. --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** Default: none (the gateway's default, info). */
  readonly logLevel?: string;
  readonly label?: string;
}

export function gatewayRules(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { agents: { [AGENT]: { allow: { servers: ['*'] }, ...extra } }, defaults: { deny_on_missing_agent: true } };
}

export function startGateway(opts: GatewayStart): Promise<Target> {
  const dir = makeTmpDir();
  const mcpConfigPath = join(dir, '.mcp.json');
  const rulesPath = join(dir, '.mcp-gateway-rules.json');
  // As by default (~/.cache/... vs ~/.config/...), the audit log is not in the configuration's
  // folder: the gateway watches that folder, and a file written on every call would wake it.
  const auditPath = join(makeTmpDir(), 'audit.jsonl');
  const mcpServers: Record<string, { command: string; args: string[] }> = {};
  for (const [name, s] of Object.entries(opts.servers)) mcpServers[name] = { command: s.command, args: [...s.args] };
  writeJsonAtomic(mcpConfigPath, { mcpServers });
  writeJsonAtomic(rulesPath, gatewayRules());
  const args = [
    ...(opts.nodeFlags ?? []),
    GATEWAY_MAIN,
    '--mcp-config',
    mcpConfigPath,
    '--rules',
    rulesPath,
    '--audit-log',
    opts.audit ? auditPath : 'off',
    '--init-strategy',
    opts.initStrategy ?? 'lazy',
    ...(opts.logLevel ? ['--log-level', opts.logLevel] : []),
  ];
  const transport = new GroupStdioTransport({ command: process.execPath, args, env: childEnv(), cwd: dir });
  return connect(opts.label ?? 'gateway', transport, { rulesPath, ...(opts.audit ? { auditPath } : {}) });
}

/** Close everything still open (normal end, error or signal). */
export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((t) => t.close().catch(() => undefined)));
}

/** tools/call through the SDK client, checked: an error result or protocol error throws. */
export async function call(target: Target, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const result = await target.client.request({ method: 'tools/call', params: { name, arguments: args } }, CallToolResultSchema);
  if (result.isError) throw new Error(`${target.label}: ${name} returned an error: ${JSON.stringify(result.content).slice(0, 500)}`);
  return result;
}

/** One call of `tool` with `args` on the server behind `target`: direct tools/call, or execute_tool through the gateway. */
export type Caller = () => Promise<unknown>;

export function echoCaller(target: Target, viaGateway: boolean, server: string, tool: string, args: Record<string, unknown>): Caller {
  if (!viaGateway) return () => call(target, tool, args);
  const wrapped = { agent_id: AGENT, server, tool, args };
  return () => call(target, 'execute_tool', wrapped);
}
