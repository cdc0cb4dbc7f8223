// Start the built gateway in HTTP mode (`--transport http --port 0`) and find its URL in the
// start-up log line on stderr.
//
//   const gw = await startHttpGateway({ mcpServers: {...}, rules: {...}, env: { GATEWAY_AUTH_TOKEN: 't' } });
//   const res = await fetch(`${gw.url}/health`);
//   await gw.stop();            // SIGTERM, resolves with the exit code
//
// The environment is the test process's minus every GATEWAY_* variable, plus a marker so
// processesWithEnv(HTTP_MARKER_VAR, gw.marker) finds everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_MAIN } from './paths.js';
import { killPids, processesWithEnv } from './processes.js';
import { makeTmpDir, writeJson } from './tmp.js';

export const HTTP_MARKER_VAR = 'GW_HTTP_E2E_MARKER';
let seq = 0;

export interface StartHttpOptions {
  mcpServers: object;
  rules: object;
  args?: string[];
  env?: Record<string, string>;
  /** Working directory (default: the temp folder holding the config files). */
  cwd?: string;
  /** Do not add `--port 0 --host 127.0.0.1`. */
  noDefaults?: boolean;
  /** Do not add `--transport http` (set GATEWAY_TRANSPORT instead). */
  noTransportFlag?: boolean;
}

/** A gateway process started by launchGateway, once it has logged its URL. */
export interface LaunchedGateway {
  readonly url: string;
  readonly pid: number;
  readonly marker: string;
  readonly child: ChildProcess;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL the gateway and everything it started (test cleanup). */
  kill(): void;
}

export interface HttpGw extends LaunchedGateway {
  readonly dir: string;
  readonly rulesPath: string;
  readonly auditPath: string;
}

export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) env[k] = v;
  return env;
}

/** Every process launched, registered before it is ready, so a start that never gets there leaves nothing behind. */
const launched: { pid: number; marker: string }[] = [];

/** SIGKILL every gateway launched from this test file, and whatever each started. */
export function killLaunchedGateways(): void {
  for (const l of launched.splice(0)) killPids([l.pid, ...processesWithEnv(HTTP_MARKER_VAR, l.marker).map((p) => p.pid)]);
}

/**
 * Spawns `node <entry> ...args` with the base environment, a fresh marker and `env` on top;
 * resolves once it logs "ready on <url>", rejects with its stderr if it exits first.
 */
export async function launchGateway(entry: string, args: readonly string[], opts: { cwd: string; env?: Record<string, string> }): Promise<LaunchedGateway> {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const marker = `http-${process.pid}-${Date.now()}-${++seq}`;
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: opts.cwd,
    env: { ...baseEnv(), [HTTP_MARKER_VAR]: marker, ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  launched.push({ pid: child.pid!, marker });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const m = /"msg":"agent-mcp-gateway ready on (https?:\/\/[^"]+)"/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`gateway exited (${code}) before it was ready\n--- stderr ---\n${stderr}`)));
  });
  return {
    url,
    pid: child.pid!,
    marker,
    child,
    stderr: () => stderr,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    kill: () => killPids([child.pid!, ...processesWithEnv(HTTP_MARKER_VAR, marker).map((p) => p.pid)]),
  };
}

/** Writes both files to a temp folder and launches the built gateway on them. */
export async function startHttpGateway(opts: StartHttpOptions): Promise<HttpGw> {
  const dir = makeTmpDir('amg-http-');
  const mcpConfigPath = join(dir, '.mcp.json');
  const rulesPath = join(dir, '.mcp-gateway-rules.json');
  const auditPath = join(dir, 'audit.jsonl');
  writeJson(mcpConfigPath, { mcpServers: opts.mcpServers });
  writeJson(rulesPath, opts.rules);
  const args = [
    ...(opts.noTransportFlag ? [] : ['--transport', 'http']),
    ...(opts.noDefaults ? [] : ['--host', '127.0.0.1', '--port', '0']),
    ...['--mcp-config', mcpConfigPath, '--rules', rulesPath, '--audit-log', auditPath],
    ...(opts.args ?? []),
  ];
  const gw = await launchGateway(GATEWAY_MAIN, args, { cwd: opts.cwd ?? dir, ...(opts.env ? { env: opts.env } : {}) });
  return { ...gw, dir, rulesPath, auditPath };
}

/** Runs a start expected to be refused: resolves with the exit code and stderr of the gateway. */
export async function launchExpectingFailure(start: () => Promise<LaunchedGateway>): Promise<{ code: number | null; stderr: string }> {
  try {
    const gw = await start();
    gw.kill();
    throw new Error(`the gateway started on ${gw.url}; it was expected to refuse`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const m = /^gateway exited \((\w+)\) before it was ready\n--- stderr ---\n([\s\S]*)$/.exec(message);
    if (!m) throw err;
    return { code: m[1] === 'null' ? null : Number(m[1]), stderr: m[2]! };
  }
}

/** Runs the gateway expecting it to refuse to start; resolves with its exit code and stderr. */
export function runGatewayExpectingFailure(opts: StartHttpOptions): Promise<{ code: number | null; stderr: string }> {
  return launchExpectingFailure(() => startHttpGateway(opts));
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
