// Pinned definitions: which of a server's current tools (or prompts) match their pins. Pure:
// the lockfile is read by config/lockFile.ts, the lists come from the gateway.

import type { PinnedItems } from '../config/lockFile.js';

/** Why an item is not trusted: not pinned at all (new, or renamed), or pinned with another digest. */
export type QuarantineReason = 'new' | 'changed';

/** An item as listed now: its name and the digest of its canonical definition. */
export interface CurrentItem {
  readonly name: string;
  readonly sha256: string;
}

export interface PinCheck {
  /** Names listed now that are not trusted, with the reason. */
  readonly quarantined: ReadonlyMap<string, QuarantineReason>;
  /** Pinned names not listed now, sorted. */
  readonly removed: readonly string[];
}

/**
 * Compares a list with its pins. A name is trusted only when every item listed under it has
 * the pinned digest (a server listing one name twice cannot slip a second definition past).
 */
export function checkPins(pinned: PinnedItems, current: readonly CurrentItem[]): PinCheck {
  const quarantined = new Map<string, QuarantineReason>();
  const listed = new Set<string>();
  for (const item of current) {
    listed.add(item.name);
    const pin = Object.hasOwn(pinned, item.name) ? pinned[item.name] : undefined;
    if (pin === undefined) quarantined.set(item.name, 'new');
    else if (pin.sha256 !== item.sha256) quarantined.set(item.name, 'changed');
  }
  const removed = Object.keys(pinned)
    .filter((name) => !listed.has(name))
    .sort();
  return { quarantined, removed };
}

/** True when both checks say the same (same names, same reasons, same removals). */
export function sameCheck(a: PinCheck, b: PinCheck): boolean {
  if (a.quarantined.size !== b.quarantined.size || a.removed.length !== b.removed.length) return false;
  for (const [name, reason] of a.quarantined) if (b.quarantined.get(name) !== reason) return false;
  return a.removed.every((name, i) => b.removed[i] === name);
}
