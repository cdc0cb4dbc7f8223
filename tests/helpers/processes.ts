// Process-table helpers for "no process left behind" tests (Linux: reads /proc directly,
// no `ps` dependency). Every function tolerates processes vanishing mid-scan.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** One-letter state from /proc/<pid>/stat: R, S, D, Z (zombie), T, ... */
  state: string;
  /** argv joined with spaces; `[comm]` for kernel threads and zombies (empty cmdline). */
  cmd: string;
}

/** Parse /proc/<pid>/stat. The comm field may contain spaces and parentheses, so split after the last ')'. */
function readStat(pid: number): Omit<ProcessInfo, 'cmd'> & { comm: string } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(open + 1, close);
  const rest = stat.slice(close + 2).split(' ');
  return { pid, comm, state: rest[0] ?? '?', ppid: Number(rest[1]), pgid: Number(rest[2]) };
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** A snapshot of every process visible in /proc. */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const { comm, ...s } = readStat(pid);
      out.push({ ...s, cmd: readCmdline(pid) || `[${comm}]` });
    } catch {
      // exited between readdir and read
    }
  }
  return out;
}

/** All live descendants of `pid` (children, grandchildren, ...), from one snapshot. */
export function descendantsOf(pid: number, snapshot: ProcessInfo[] = listProcesses()): ProcessInfo[] {
  const byParent = new Map<number, ProcessInfo[]>();
  for (const p of snapshot) {
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const out: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    for (const child of byParent.get(next) ?? []) {
      if (child.state === 'Z') continue;
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Live members of a process group. Orphans keep their group, so this finds what descendantsOf loses. */
export function processGroupMembers(pgid: number): ProcessInfo[] {
  return listProcesses().filter((p) => p.pgid === pgid && p.state !== 'Z');
}

/** True while the process exists and is not a zombie (an unreaped zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    return readStat(pid).state !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes whose command line contains `substr`. */
export function processesMatching(substr: string): ProcessInfo[] {
  return listProcesses().filter((p) => p.state !== 'Z' && p.cmd.includes(substr));
}

/**
 * Live processes whose environment has `name=value` (environment is inherited, so a unique
 * marker in a test's env finds that test's grandchildren even after they were orphaned).
 * Only processes of the same user are readable; others are skipped.
 */
export function processesWithEnv(name: string, value: string): ProcessInfo[] {
  const needle = `${name}=${value}`;
  return listProcesses().filter((p) => {
    if (p.state === 'Z') return false;
    try {
      return readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0').includes(needle);
    } catch {
      return false;
    }
  });
}

/** Send `signal` to each pid, ignoring ones already gone. For test cleanup. */
export function killPids(pids: Iterable<number>, signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Error message on timeout; the last error thrown by `cond` (if any) is appended. */
  message?: string;
}

/**
 * Poll `cond` until it returns true; throw with `message` after `timeoutMs`.
 * A `cond` that throws counts as "not yet". Use this instead of fixed sleeps.
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, { timeoutMs = 10_000, intervalMs = 25, message }: WaitForOptions = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await cond()) return;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const base = message ?? `condition not met within ${timeoutMs} ms`;
      const suffix = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
      throw new Error(base + suffix);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
