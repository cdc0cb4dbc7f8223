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
