// What `pin --diff` prints: per server, each tool and prompt that is new (or renamed), changed
// or removed against the lockfile, with a line diff of its definition and the digest to accept
// it by, so that what is accepted is what was reviewed. Names and text come from servers: every
// one is made visible (policy/pinsDiff.ts) before it reaches the terminal.

import { definitionOf, digestOf, MAX_PINNED_NAME_CHARS, type LockFile, type PinKind } from '../config/lockFile.js';
import { checkPins, type QuarantineReason } from '../policy/pins.js';
import { diffDefinitions, visible } from '../policy/pinsDiff.js';

/** One server as listed now, or why it could not be. */
export type Listed =
  | { readonly server: string; readonly tools: readonly Record<string, unknown>[]; readonly prompts: readonly Record<string, unknown>[] }
  | { readonly server: string; readonly error: string };

const LABEL = { tools: 'tool', prompts: 'prompt' } as const;
/** How many hex digits of a digest `pin --diff` shows to accept an item by. */
export const SHOWN_DIGEST_CHARS = 16;
const HEADING: Record<QuarantineReason, string> = {
  new: 'new (not in the lockfile; a renamed item is new)',
  changed: 'changed',
  'too-deep': 'cannot be pinned: its definition nests too deep',
  'name-too-long': 'cannot be pinned: its name is too long',
  'too-many': 'not pinned: the server already has as many pinned as the lockfile keeps',
};

export function pinReport(lock: LockFile | undefined, listed: readonly Listed[]): { lines: string[]; differs: boolean } {
  const lines: string[] = [];
  let differs = false;
  for (const entry of listed) {
    if ('error' in entry) continue;
    lines.push(`server ${visible(entry.server)}:`);
    const before = lines.length;
    for (const kind of ['tools', 'prompts'] as PinKind[]) {
      const items = entry[kind];
      const pinned = lock?.servers[entry.server]?.[kind];
      if (pinned === undefined) {
        if (items.length > 0) lines.push(`  ${kind}: none pinned yet (${items.length} listed); \`pin\` records them, and so does the gateway on first use`);
        differs ||= items.length > 0;
        continue;
      }
      const byName = new Map<string, Record<string, unknown>>();
      for (const item of items) if (typeof item['name'] === 'string' && !byName.has(item['name'])) byName.set(item['name'], item);
      const current = items.map((item) => ({ name: String(item['name']), sha256: digestOf(definitionOf(kind, item)) }));
      const check = checkPins(pinned, current);
      // The first item of a name, as `pin --accept` takes it.
      const digests = new Map<string, string | undefined>();
      for (const item of current) if (!digests.has(item.name)) digests.set(item.name, item.sha256);
      for (const name of [...check.quarantined.keys()].sort()) {
        const reason = check.quarantined.get(name)!;
        const definition = definitionOf(kind, byName.get(name) ?? {});
        const stored = pinned[name];
        if (reason === 'name-too-long') {
          lines.push(`  ${LABEL[kind]} ${visible(name.slice(0, MAX_PINNED_NAME_CHARS))}…: ${HEADING[reason]}`);
          continue;
        }
        lines.push(`  ${LABEL[kind]} ${visible(name)}: ${HEADING[reason]}`);
        if (stored?.clipped === true) lines.push('    (the lockfile keeps only part of the pinned definition: lines it lacks show as added)');
        for (const line of diffDefinitions(reason === 'new' ? undefined : stored?.definition, definition)) lines.push(`    ${line}`);
        const sha256 = digests.get(name);
        if (sha256 !== undefined && (reason === 'new' || reason === 'changed')) {
          lines.push(
            `    now sha256 ${sha256}; accept what you reviewed: pin --accept ${visible(entry.server)}/${visible(name)}@${sha256.slice(0, SHOWN_DIGEST_CHARS)}`,
          );
        }
      }
      for (const name of check.removed) lines.push(`  ${LABEL[kind]} ${visible(name)}: removed (pinned, no longer listed)`);
    }
    if (lines.length === before) lines.push('  no changes');
    else differs = true;
  }
  return { lines, differs };
}
