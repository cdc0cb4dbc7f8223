// The things the benchmark talks to: a downstream server called directly, or the built
// gateway (dist/main.js) in front of it. Both are reached by the same SDK Client over the same
// stdio transport, so the only difference between them is the gateway. A target speaks one
// protocol era: 2025-11-25 through the v1 SDK Client (the client of every figure before the
// v2 SDK, kept so those figures stay comparable), 2026-07-28 through the v2 Client pinned to it.

import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as ModernClient } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
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
  /** A v2 SDK server that serves both eras (serveStdio, legacy: 'serve'); its echo takes {text}. */
  v2echo: { command: process.execPath, args: [join(REPO_ROOT, 'tests', 'fixtures', 'era', 'v2-stdio.mjs'), '--legacy', 'serve'] },
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

export type Era = '2025-11-25' | '2026-07-28';
export const LEGACY_ERA = '2025-11-25';
export const MODERN_ERA = '2026-07-28';
type ClientFor<E extends Era> = E extends typeof MODERN_ERA ? ModernClient : Client;

export interface Target<E extends Era = typeof LEGACY_ERA> {
  readonly label: string;
  readonly era: E;
  readonly client: ClientFor<E>;
  readonly transport: GroupStdioTransport;
  readonly pid: number;
  /** performance.now() when the client's connect finished (initialize, or server/discover on 2026-07-28). */
  readonly initializedAt: number;
  readonly rulesPath?: string;
  readonly auditPath?: string;
  close(): Promise<void>;
}

const open = new Set<Target<Era>>();
const CLIENT_INFO = { name: 'amg-bench', version: '1.0.0' };

function isModern(target: Target<Era>): target is Target<typeof MODERN_ERA> {
  return target.era === MODERN_ERA;
}

/** Connects and, for 2026-07-28, checks the era really negotiated: a row labelled with an era must have spoken it. */
async function connectClient(era: Era, transport: GroupStdioTransport): Promise<Client | ModernClient> {
  if (era === LEGACY_ERA) {
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    await client.connect(transport, { timeout: 30_000 });
    return client;
  }
  // Pinned: the probe runs in place on our transport (it has `pid` and `stderr`), no fallback.
  const client = new ModernClient(CLIENT_INFO, { capabilities: {}, versionNegotiation: { mode: { pin: MODERN_ERA } } });
  await client.connect(transport, { timeout: 30_000 });
  const version = client.getNegotiatedProtocolVersion();
  if (version !== MODERN_ERA) throw new Error(`negotiated ${String(version)}, not ${MODERN_ERA}`);
  return client;
}

async function connect<E extends Era>(label: string, transport: GroupStdioTransport, era: E, extra: Partial<Target<E>> = {}): Promise<Target<E>> {
  let client: ClientFor<E>;
  try {
    client = (await connectClient(era, transport)) as ClientFor<E>;
  } catch (err) {
    await transport.close(500);
    throw new Error(`${label} did not start: ${err instanceof Error ? err.message : String(err)}\n${transport.stderr()}`, { cause: err });
  }
  const initializedAt = performance.now();
  const target: Target<E> = {
    label,
    era,
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

export function startDirect(server: ServerCommand, label?: string): Promise<Target>;
export function startDirect<E extends Era>(server: ServerCommand, label: string, era: E): Promise<Target<E>>;
export function startDirect(server: ServerCommand, label = 'direct', era: Era = LEGACY_ERA): Promise<Target<Era>> {
  return connect(label, new GroupStdioTransport({ command: server.command, args: server.args, env: childEnv(), framing: framingFor(era) }), era);
}

function framingFor(era: Era): 'v1' | 'v2' {
  return era === MODERN_ERA ? 'v2' : 'v1';
}

/** The reference proxies in bench/fixtures: `<kind>-relay.mjs`. */
export type RelayKind = 'raw' | 'sdk' | 'sdk2';

/** A reference proxy from bench/fixtures in front of `server` (called like the server itself). */
export function startRelay<E extends Era>(kind: RelayKind, server: ServerCommand, era: E): Promise<Target<E>> {
  const relay = join(REPO_ROOT, 'bench', 'fixtures', `${kind}-relay.mjs`);
  return startDirect({ command: process.execPath, args: [relay, server.command, ...server.args] }, `${kind} relay ${era}`, era);
}

export interface GatewayStart<E extends Era = typeof LEGACY_ERA> {
  /** The era the bench client speaks to the gateway (default 2025-11-25, the v1 client). */
  readonly era?: E;
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

export function startGateway(opts: GatewayStart): Promise<Target>;
export function startGateway<E extends Era>(opts: GatewayStart<E> & { readonly era: E }): Promise<Target<E>>;
export function startGateway(opts: GatewayStart<Era>): Promise<Target<Era>> {
  const era = opts.era ?? LEGACY_ERA;
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
  const transport = new GroupStdioTransport({ command: process.execPath, args, env: childEnv(), cwd: dir, framing: framingFor(era) });
  return connect(opts.label ?? 'gateway', transport, era, { rulesPath, ...(opts.audit ? { auditPath } : {}) });
}

/** Close everything still open (normal end, error or signal). */
export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((t) => t.close().catch(() => undefined)));
}

/** What the bench reads of a tool result, in either SDK's type. */
export interface ToolResult {
  readonly isError?: boolean | undefined;
  readonly content: readonly unknown[];
}

/** tools/call through the SDK client, checked: an error result or protocol error throws. */
export async function call(target: Target<Era>, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  const request = { method: 'tools/call', params: { name, arguments: args } } as const;
  // Both validate the result against the SDK's own CallToolResult schema.
  const result: ToolResult = isModern(target) ? await target.client.request(request) : await (target as Target).client.request(request, CallToolResultSchema);
  if (result.isError) throw new Error(`${target.label}: ${name} returned an error: ${JSON.stringify(result.content).slice(0, 500)}`);
  return result;
}

/** One call of `tool` with `args` on the server behind `target`: direct tools/call, or execute_tool through the gateway. */
export type Caller = () => Promise<unknown>;

export function echoCaller(target: Target<Era>, viaGateway: boolean, server: string, tool: string, args: Record<string, unknown>): Caller {
  if (!viaGateway) return () => call(target, tool, args);
  const wrapped = { agent_id: AGENT, server, tool, args };
  return () => call(target, 'execute_tool', wrapped);
}
