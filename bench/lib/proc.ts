// Child processes for the benchmark: an MCP client transport that starts its server as the
// leader of a new process group, and the /proc readers the memory figures come from.
//
// The transport frames messages exactly as the SDK's StdioClientTransport does (the SDK's own
// ReadBuffer and serializeMessage, one write per message, the same 'data' handler), so a
// direct call and a call through the gateway pay the same client-side cost. The framing is
// that of the client's SDK (v1 for the v1 client, v2 for the v2 client), so each client pays
// what its own stdio transport would. It differs only in process handling: `detached: true` makes every server (and the gateway) lead its own
// process group, so close() can signal the whole group and nothing outlives the run.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ReadBuffer as ReadBufferV2, serializeMessage as serializeMessageV2 } from '@modelcontextprotocol/client';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const STDERR_KEEP = 64 * 1024;
/** Every group this process started and has not yet seen gone: killed on any exit path. */
const liveGroups = new Set<number>();

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Whose stdio framing to use: the v1 SDK's (default) or the v2 SDK's. */
  readonly framing?: 'v1' | 'v2';
}

interface Framing {
  readonly buffer: { append(chunk: Buffer): void; readMessage(): unknown; clear(): void };
  serialize(message: JSONRPCMessage): string;
}

function framingOf(kind: 'v1' | 'v2'): Framing {
  const maxBufferSize = 256 * 1024 * 1024;
  if (kind === 'v1') return { buffer: new ReadBuffer({ maxBufferSize }), serialize: serializeMessage };
  return { buffer: new ReadBufferV2({ maxBufferSize }), serialize: (m) => serializeMessageV2(m as Parameters<typeof serializeMessageV2>[0]) };
}

export class GroupStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly #spec: SpawnSpec;
  readonly #framing: Framing;
  #child: ChildProcess | undefined;
  #stderr = '';
  #exited: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  /** performance.now() just before spawn(): the zero of the cold-start figures. */
  spawnedAt = 0;

  constructor(spec: SpawnSpec) {
    this.#spec = spec;
    this.#framing = framingOf(spec.framing ?? 'v1');
  }

  get pid(): number {
    const pid = this.#child?.pid;
    if (pid === undefined) throw new Error('process not started');
    return pid;
  }

  stderr(): string {
    return this.#stderr;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.spawnedAt = performance.now();
      const child = spawn(this.#spec.command, [...this.#spec.args], {
        env: { ...this.#spec.env },
        cwd: this.#spec.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
      });
      this.#child = child;
      this.#exited = new Promise<void>((done) => child.once('close', () => done()));
      child.once('error', (err) => {
        reject(err);
        this.onerror?.(err);
      });
      child.once('spawn', () => {
        if (child.pid !== undefined) liveGroups.add(child.pid);
        resolve();
      });
      child.once('close', () => {
        if (child.pid !== undefined) liveGroups.delete(child.pid);
        this.onclose?.();
      });
      child.stdin?.on('error', (err) => this.onerror?.(err));
      child.stdout?.on('data', (chunk: Buffer) => {
        try {
          this.#framing.buffer.append(chunk);
          for (;;) {
            const message = this.#framing.buffer.readMessage();
            if (message === null) break;
            this.onmessage?.(message as JSONRPCMessage);
          }
        } catch (err) {
          this.onerror?.(err instanceof Error ? err : new Error(String(err)));
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        this.#stderr += chunk.toString('utf8');
        if (this.#stderr.length > STDERR_KEEP) this.#stderr = this.#stderr.slice(-STDERR_KEEP);
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.#child?.stdin;
      if (!stdin) {
        reject(new Error('Not connected'));
        return;
      }
      if (stdin.write(this.#framing.serialize(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /**
   * End stdin and give the process `graceMs` to leave on its own (the gateway then closes its
   * downstream groups itself); then SIGTERM and SIGKILL its group. Every process group that was
   * below it when close() began is SIGKILLed afterwards in case anything was orphaned.
   */
  close(graceMs = 3_000): Promise<void> {
    this.#closing ??= (async () => {
      const child = this.#child;
      if (!child || child.pid === undefined || !this.#exited) return;
      const pid = child.pid;
      const below = descendantGroups(pid);
      try {
        child.stdin?.end();
      } catch {
        // already closed
      }
      const exited = this.#exited;
      if (!(await within(exited, graceMs))) {
        signalGroup(pid, 'SIGTERM');
        if (!(await within(exited, 500))) signalGroup(pid, 'SIGKILL');
        await within(exited, 2_000);
      }
      signalGroup(pid, 'SIGKILL');
      for (const group of below) signalGroup(group, 'SIGKILL');
      liveGroups.delete(pid);
      this.#framing.buffer.clear();
    })();
    return this.#closing;
  }
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = await Promise.race([p.then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is gone
  }
}

/** Last resort on any exit path of the bench process. */
export function killAllGroupsSync(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  liveGroups.clear();
}

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly state: string;
}

function readStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(entry), state: f[0] ?? '?', ppid: Number(f[1]), pgid: Number(f[2]) });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** Process groups of every live descendant of `pid` (other than pid's own group). */
export function descendantGroups(pid: number): number[] {
  const stats = readStats();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s);
    children.set(s.ppid, list);
  }
  const groups = new Set<number>();
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.pop()!;
    for (const child of children.get(next) ?? []) {
      if (child.state !== 'Z' && child.pgid !== pid && child.pgid !== process.pid) groups.add(child.pgid);
      queue.push(child.pid);
    }
  }
  return [...groups];
}

/** VmRSS and VmHWM (peak) of one process, in MiB, from /proc/<pid>/status. Children are not included. */
export function readMemory(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) : NaN;
    };
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Samples VmRSS every `intervalMs` until stopped; returns the largest sample. */
export function sampleRss(pid: number, intervalMs = 20): { stop(): { maxRssMb: number; samples: number } } {
  let max = 0;
  let samples = 0;
  const tick = (): void => {
    const m = readMemory(pid);
    if (m && m.rssMb > max) max = m.rssMb;
    samples++;
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return { maxRssMb: max, samples };
    },
  };
}

/** Spawn, wait for exit; milliseconds from just before spawn() to 'exit'. */
export function timeProcess(command: string, args: readonly string[], env: Readonly<Record<string, string>>, cwd?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, [...args], { env: { ...env }, stdio: 'ignore', cwd });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(performance.now() - t0);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}

/** CPU time (user + system) the process itself has used, in ms (10 ms resolution: USER_HZ 100). Children excluded. */
export function readCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

export interface GroupProcess {
  readonly pid: number;
  /** The first capture group of `ready` (e.g. the URL a server listens on). */
  readonly ready: string;
  /** SIGTERM to the group, SIGKILL after `graceMs`, then SIGKILL to every group that was below it. */
  close(graceMs?: number): Promise<void>;
}

/**
 * A server that is not spoken to over stdio (an HTTP server): spawned as the leader of its own
 * group, resolved once its stdout or stderr matches `ready`, rejected with its output if it
 * exits first or takes longer than `timeoutMs`.
 */
export function spawnGroup(spec: SpawnSpec, ready: RegExp, timeoutMs = 30_000): Promise<GroupProcess> {
  const child = spawn(spec.command, [...spec.args], { env: spec.env, cwd: spec.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error(`could not spawn ${spec.command}`));
  liveGroups.add(pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (graceMs = 3_000): Promise<void> => {
    const below = descendantGroups(pid);
    signalGroup(pid, 'SIGTERM');
    if (!(await within(exited, graceMs))) signalGroup(pid, 'SIGKILL');
    await within(exited, 2_000);
    for (const group of [pid, ...below]) signalGroup(group, 'SIGKILL');
    liveGroups.delete(pid);
  };
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      void close(0);
      reject(new Error(`${spec.command} ${spec.args.join(' ')}: ${err.message}\n${output.slice(-STDERR_KEEP)}`));
    };
    const onData = (chunk: Buffer): void => {
      if (output.length < STDERR_KEEP) output += chunk.toString('utf8');
      const m = ready.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        // Keep draining: a full pipe would block the server.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ pid, ready: m[1] ?? m[0], close });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => fail(new Error(`exited (${signal ?? code}) before it was ready`)));
  });
}
