// One depth check for every JSON value a caller sends (tool arguments, HTTP bodies, stdio
// messages), iterative so that the check itself cannot exhaust the stack.

/**
 * How deep a whole HTTP body may nest; tool arguments have their own, lower bound. JSON.parse
 * copes with any depth, but structuredClone, JSON.stringify, schema validation and hashing
 * recurse: a body deeper than this is refused (400) before any of them sees it.
 */
export const MAX_MESSAGE_DEPTH = 128;

/**
 * True when `value` nests objects and arrays more than `limit` levels deep (a cycle counts
 * as infinitely deep). Iterative, so no input can exhaust the stack of the check itself;
 * it stops at the first path that passes the limit.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: unknown[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const item = pending.pop();
    const depth = depths.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > limit) return true;
    const children = Array.isArray(item) ? item : Object.values(item);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        pending.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
