// Pinned definitions: which of a server's current tools (or prompts) match their pins. Pure:
// the lockfile is read by config/lockFile.ts, the lists come from the gateway.

import { MAX_PINNED_ITEMS, pinnableName, type PinnedItems } from '../config/lockFile.js';

/**
 * Why an item is not trusted: not pinned at all (new, or renamed), pinned with another digest,
 * or one that can never be pinned: nested too deep to digest, a name too long, or past the
 * number of items a server may have pinned.
 */
export type QuarantineReason = 'new' | 'changed' | 'too-deep' | 'name-too-long' | 'too-many';

/** An item as listed now: its name and the digest of its canonical definition (undefined: too deep to digest). */
export interface CurrentItem {
  readonly name: string;
  readonly sha256: string | undefined;
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
  const full = Object.keys(pinned).length >= MAX_PINNED_ITEMS;
  for (const item of current) {
    listed.add(item.name);
    const pin = Object.hasOwn(pinned, item.name) ? pinned[item.name] : undefined;
    // An unpinnable item wins over another of the same name that matches its pin.
    if (!pinnableName(item.name)) quarantined.set(item.name, 'name-too-long');
    else if (item.sha256 === undefined) quarantined.set(item.name, 'too-deep');
    else if (quarantined.has(item.name)) continue;
    else if (pin === undefined) quarantined.set(item.name, full ? 'too-many' : 'new');
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
