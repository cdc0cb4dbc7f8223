import { readdirSync, readFileSync } from 'node:fs';

/**
 * Reads /proc/<pid>/<file> of every process and hands its text to `visit` until `visit`
 * returns true. Returns true when it did, false when every process was seen, and undefined
 * when /proc cannot be read (not Linux, or hidden). A process that exits meanwhile is skipped.
 */
export function scanProcesses(file: 'stat' | 'status', visit: (text: string) => boolean | void): boolean | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/${file}`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    if (visit(text) === true) return true;
  }
  return false;
}

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat): with
 * the pid, it names one process for good, where a pid alone is reused. undefined when the
 * process is gone, is a zombie, or /proc cannot tell.
 */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ... starttime ..."; comm may contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? start : undefined;
}
