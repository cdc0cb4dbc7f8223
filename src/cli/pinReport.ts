// What `pin --diff` prints: per server, each tool and prompt that is new (or renamed), changed
// or removed against the lockfile, with a line diff of its definition.

import { definitionOf, digestOf, type LockFile, type PinKind } from '../config/lockFile.js';
import { checkPins } from '../policy/pins.js';
import { diffDefinitions } from '../policy/pinsDiff.js';

/** One server as listed now, or why it could not be. */
export type Listed =
  | { readonly server: string; readonly tools: readonly Record<string, unknown>[]; readonly prompts: readonly Record<string, unknown>[] }
  | { readonly server: string; readonly error: string };

const LABEL = { tools: 'tool', prompts: 'prompt' } as const;

export function pinReport(lock: LockFile | undefined, listed: readonly Listed[]): { lines: string[]; differs: boolean } {
  const lines: string[] = [];
  let differs = false;
  for (const entry of listed) {
    if ('error' in entry) continue;
    lines.push(`server ${entry.server}:`);
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
      const check = checkPins(
        pinned,
        items.map((item) => ({ name: String(item['name']), sha256: digestOf(definitionOf(kind, item)) })),
      );
      for (const name of [...check.quarantined.keys()].sort()) {
        const reason = check.quarantined.get(name)!;
        const definition = definitionOf(kind, byName.get(name) ?? {});
        const stored = pinned[name];
        lines.push(`  ${LABEL[kind]} ${name}: ${reason === 'new' ? 'new (not in the lockfile; a renamed item is new)' : 'changed'}`);
        if (stored?.clipped === true) lines.push('    (the lockfile keeps only part of the pinned definition: lines it lacks show as added)');
        for (const line of diffDefinitions(reason === 'new' ? undefined : stored?.definition, definition)) lines.push(`    ${line}`);
      }
      for (const name of check.removed) lines.push(`  ${LABEL[kind]} ${name}: removed (pinned, no longer listed)`);
    }
    if (lines.length === before) lines.push('  no changes');
    else differs = true;
  }
  return { lines, differs };
}
