// The IR is frozen so that no consumer can change a config another one is reading, and its
// records have no prototype so that a lookup such as `agents["constructor"]` finds nothing
// inherited from Object.prototype.

export function frozenRecord<T>(entries: Iterable<readonly [string, T]>): Readonly<Record<string, T>> {
  const out = Object.create(null) as Record<string, T>;
  // On a prototype-less object "__proto__" is an ordinary key, so plain assignment is safe here.
  for (const [key, value] of entries) out[key] = value;
  return Object.freeze(out);
}

export function frozenArray<T>(items: Iterable<T>): readonly T[] {
  return Object.freeze([...items]);
}
