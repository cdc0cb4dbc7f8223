// `pin --accept SERVER/NAME[@DIGEST]`: record one tool or prompt as the server lists it now.
// Between `pin --diff` and `--accept` the server may change the item again; with the digest
// prefix `--diff` printed, only the definition that was reviewed is accepted. Without one, what
// was accepted is printed (digest and definition) so that it can still be checked.

import { MAX_PINNED_ITEMS, pinsOf, withPin, type PinKind, type PinnedItem } from '../config/lockFile.js';
import { updateLockFile } from '../gateway/pins/lockFileUpdate.js';
import { diffDefinitions, visible } from '../policy/pinsDiff.js';
import type { CliIo } from './io.js';
import { SHOWN_DIGEST_CHARS, type Listed } from './pinReport.js';

/** A digest prefix shorter than this would be too easy for a server to match with another definition. */
export const MIN_DIGEST_PREFIX_CHARS = 12;
/** The accepted definition is printed in at most this many lines. */
const MAX_SUMMARY_LINES = 40;

export interface ItemTarget {
  readonly server: string;
  readonly name: string;
  /** Lowercase hex the accepted definition's digest must start with. */
  readonly digest?: string;
}

/** SERVER/NAME or SERVER/NAME@HEX: a trailing `@` and hex digits is a digest prefix (so a name ending in one needs the prefix too). */
export function parseItemTarget(server: string, rest: string): ItemTarget {
  const match = /^(.*)@([0-9a-fA-F]+)$/s.exec(rest);
  return match === null ? { server, name: rest } : { server, name: match[1]!, digest: match[2]!.toLowerCase() };
}

/** Records one item (each kind that has it); an item gone from the server has its pin dropped. Returns the exit code. */
export function acceptItem(io: CliIo, path: string, entry: Exclude<Listed, { error: string }>, target: ItemTarget): number {
  const { server, name, digest } = target;
  const shown = `${visible(server)}/${visible(name)}`;
  if (digest !== undefined && digest.length < MIN_DIGEST_PREFIX_CHARS) {
    io.err(`ERROR: the digest prefix after '@' must have at least ${MIN_DIGEST_PREFIX_CHARS} hex digits (pin --diff prints ${SHOWN_DIGEST_CHARS})\n`);
    return 1;
  }
  const accepted: { kind: PinKind; pin: PinnedItem | undefined }[] = [];
  const problems: string[] = [];
  updateLockFile(path, (current) => {
    let next = current;
    for (const kind of ['tools', 'prompts'] as const) {
      const item = entry[kind].find((i) => i['name'] === name);
      const pinnedItems = current.servers[server]?.[kind] ?? {};
      const pinned = Object.hasOwn(pinnedItems, name);
      if (item === undefined && !pinned) continue;
      const pin = item === undefined ? undefined : pinsOf(kind, [item])[name];
      const problem = refusal(kind, item !== undefined, pin, pinned, Object.keys(pinnedItems).length, digest);
      if (problem !== undefined) {
        problems.push(problem);
        continue;
      }
      accepted.push({ kind, pin });
      next = withPin(next, server, kind, name, pin);
    }
    return next;
  });
  for (const problem of problems) io.err(`ERROR: ${shown}: ${problem}\n`);
  if (accepted.length === 0) {
    if (problems.length === 0) io.err(`ERROR: server '${visible(server)}' has no tool or prompt named '${visible(name)}', listed or pinned\n`);
    return 1;
  }
  for (const { kind, pin } of accepted) {
    const label = kind === 'tools' ? 'tool' : 'prompt';
    if (pin === undefined) {
      io.out(`accepted ${label} ${shown} as removed (its pin is dropped) in ${path}\n`);
      continue;
    }
    io.out(`accepted ${label} ${shown} with sha256 ${pin.sha256} in ${path}\n`);
    if (digest === undefined) io.out(`${summary(pin).join('\n')}\n`);
  }
  return problems.length === 0 ? 0 : 1;
}

/** Why one kind's item may not be accepted, or undefined when it may. */
function refusal(kind: PinKind, listed: boolean, pin: PinnedItem | undefined, pinned: boolean, pinnedCount: number, digest: string | undefined): string | undefined {
  if (listed && pin === undefined) return `the ${kind === 'tools' ? 'tool' : 'prompt'} cannot be pinned (its definition nests too deep, or its name is too long)`;
  if (digest !== undefined && pin === undefined) return 'the server no longer lists it: accept its removal without a digest';
  if (digest !== undefined && !pin!.sha256.startsWith(digest)) {
    return `the server's definition now has sha256 ${pin!.sha256}, not ${digest}…: it changed since you reviewed it; run pin --diff again`;
  }
  if (pin !== undefined && !pinned && pinnedCount >= MAX_PINNED_ITEMS) return `the lockfile already pins ${MAX_PINNED_ITEMS} ${kind} of this server`;
  return undefined;
}

/** The accepted definition, as `pin --diff` would show it new, clipped. */
function summary(pin: PinnedItem): string[] {
  const lines = diffDefinitions(undefined, pin.definition ?? {}).map((line) => `  ${line}`);
  if (pin.clipped === true) lines.unshift('  (the definition is large: the lockfile keeps only part of it)');
  return lines.length > MAX_SUMMARY_LINES ? [...lines.slice(0, MAX_SUMMARY_LINES), `  ... (${lines.length - MAX_SUMMARY_LINES} more lines)`] : lines;
}
