// How a stdio server is launched: the command line, environment and working directory,
// with its sandbox applied when the server asks for one.
//
// Resource limits go through `prlimit` (util-linux, present on every Debian and Ubuntu
// system and in the node images): it sets the limits on itself and then execs the server,
// so the server keeps the pid we spawned, leads its own process group, and shows the limits
// in /proc/<pid>/limits. Node.js has no setrlimit, and a `sh -c 'ulimit ...'` wrapper would
// depend on the units and flags of whatever /bin/sh is.
//
// Memory is bounded with RLIMIT_DATA, not SignalWire's RLIMIT_AS: V8 reserves a large
// virtual range for generated code at start-up, so an address-space limit of 512 MiB stops
// every Node.js server before it runs a line, while RLIMIT_DATA counts only the writable
// memory a process actually maps (heap and anonymous mappings), which is what a memory
// limit is meant to bound.
//
// RLIMIT_NPROC counts every process and thread of the user, not of the child: a bare limit
// of 10 leaves a child of a non-root gateway (which has more threads than that itself)
// unable to start, and a Node.js process alone runs about 11 threads (it hangs when it
// cannot start them). So the child may add `processes` x TASKS_PER_PROCESS tasks to what
// its user runs at spawn. root is not bound by RLIMIT_NPROC at all; the limit is still set.

import { accessSync, constants, mkdirSync, mkdtempSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { SandboxSpec, ServerSpec } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { buildChildEnv, isBlockedChildVariable } from './childEnv.js';
import { scanProcesses } from './procfs.js';

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  /** The instance's own sandbox folder (HOME, TMPDIR); whoever spawns removes it when the process is gone. */
  readonly folder?: string;
}

export interface LaunchContext {
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  /** Absolute folder under which each sandboxed process gets its own folder. */
  readonly sandboxRoot: string;
}

/** The variables a restricted environment keeps from the gateway's, besides PATH, LANG and USER. */
const PASSED_WHEN_SET = ['NODE_PATH', 'PYTHONPATH', 'JAVA_HOME'] as const;

const MIB = 1024 * 1024;

/** Threads counted per allowed process: Node.js runs about 11, the JVM and Python fewer at start. */
const TASKS_PER_PROCESS = 16;

export function prepareLaunch(spec: ServerSpec, ctx: LaunchContext): Launch {
  if (spec.command === undefined) throw new GatewayError('SERVER_UNAVAILABLE', `Server '${spec.name}' has no command`, { server: spec.name });
  const sandbox = spec.sandbox;
  if (!sandbox.enabled) {
    const cwd = sandbox.workingDir ?? spec.cwd;
    return { command: spec.command, args: spec.args, env: buildChildEnv(ctx.parentEnv, spec.env), ...(cwd !== undefined ? { cwd } : {}) };
  }
  // Found before the folder is made, so a missing prlimit leaves nothing behind.
  const prlimit = sandbox.resourceLimits ? findPrlimit(ctx.parentEnv['PATH'], spec.name) : undefined;
  const folder = makeFolder(ctx.sandboxRoot, spec.name);
  const env = sandbox.restrictedEnv ? restrictedEnv(ctx.parentEnv, spec.env, folder) : { ...buildChildEnv(ctx.parentEnv, spec.env), HOME: folder, TMPDIR: folder };
  const cwd = sandbox.workingDir ?? folder;
  if (prlimit === undefined) return { command: spec.command, args: spec.args, env, cwd, folder };
  return { command: prlimit, args: [...limitArgs(sandbox), '--', spec.command, ...spec.args], env, cwd, folder };
}

/**
 * Exactly PATH, HOME and TMPDIR (the sandbox folder), LANG, USER, NODE_PATH, PYTHONPATH and
 * JAVA_HOME when set, then the server's own `env` (which still cannot bring in a loader
 * variable).
 */
export function restrictedEnv(
  parentEnv: Readonly<Record<string, string | undefined>>,
  serverEnv: Readonly<Record<string, string>>,
  folder: string,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: parentEnv['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: folder,
    TMPDIR: folder,
    LANG: parentEnv['LANG'] ?? 'C.UTF-8',
    USER: parentEnv['USER'] ?? 'nobody',
  };
  for (const name of PASSED_WHEN_SET) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  for (const [name, value] of Object.entries(serverEnv)) {
    if (!isBlockedChildVariable(name)) env[name] = value;
  }
  return env;
}

function limitArgs(sandbox: SandboxSpec): string[] {
  const l = sandbox.limits;
  return [`--cpu=${l.cpuSeconds}`, `--data=${l.memoryMb * MIB}`, `--nproc=${processLimit(l.processes)}`, `--fsize=${l.fileSizeMb * MIB}`];
}

function processLimit(processes: number): number {
  const uid = process.getuid?.();
  const running = uid === undefined || uid === 0 ? 0 : tasksOfUser(uid);
  return running + processes * TASKS_PER_PROCESS;
}

/** Processes and threads whose real uid is `uid`, as RLIMIT_NPROC counts them; 0 when /proc cannot tell. */
function tasksOfUser(uid: number): number {
  let count = 0;
  scanProcesses('status', (status) => {
    if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) count += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
  });
  return count;
}

let prlimitPath: string | undefined;

/** prlimit on the gateway's PATH (or in /usr/bin, /bin), looked up once. */
function findPrlimit(path: string | undefined, server: string): string {
  if (prlimitPath !== undefined) return prlimitPath;
  const dirs = [...(path ?? '').split(delimiter).filter((d) => d !== ''), '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'prlimit');
    try {
      accessSync(candidate, constants.X_OK);
      prlimitPath = candidate;
      return candidate;
    } catch {
      // not here
    }
  }
  throw new GatewayError(
    'SERVER_UNAVAILABLE',
    `Server '${server}' needs the prlimit program (util-linux) to apply its sandbox limits, and it was not found; ` +
      'install util-linux, or set "resource_limits": false in its sandbox',
    { server },
  );
}

function makeFolder(root: string, server: string): string {
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    // mkdtemp: a fresh folder per process (mode 0700), never one another process uses.
    return mkdtempSync(join(root, `${server}-`));
  } catch (err) {
    throw new GatewayError(
      'SERVER_UNAVAILABLE',
      `Server '${server}': cannot create its sandbox folder under '${root}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { server },
    );
  }
}
