// Process groups: every stdio server leads its own, so one signal reaches whatever it
// started (npx, uvx and sh -c leave the real server a grandchild).

import { scanProcesses } from './procfs.js';

/** SIGKILL a whole process group now, ignoring a group that is already gone. */
export function killGroupSync(pid: number): void {
  signalGroup(pid, 'SIGKILL');
}

export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    // ESRCH: nobody left. EPERM: a member we may not signal (setuid); nothing more to do.
    if (!isErrno(err, 'ESRCH') && !isErrno(err, 'EPERM')) throw err;
    return false;
  }
}

/**
 * Whether process group `pgid` still has a live member. kill(-pgid, 0) also succeeds while
 * only zombies remain, and an orphaned grandchild is reaped by whatever init the machine has
 * (in some containers, never), so on Linux a positive answer is checked against /proc.
 */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
  return groupHasLiveMemberInProc(pgid) ?? true;
}

/** undefined when /proc cannot answer (not Linux, or hidden). */
function groupHasLiveMemberInProc(pgid: number): boolean | undefined {
  return scanProcesses('stat', (stat) => {
    // "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X';
  });
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
