// Metadata objects arrive from callers as parsed JSON, where `__proto__` is an ordinary own
// key. Object.assign and spread would run the prototype setter for it instead of copying it.

/** `target` with `source`'s own keys copied onto it as plain data properties (`__proto__` included). */
export function mergeRecord(target: Record<string, unknown>, source: Readonly<Record<string, unknown>>): Record<string, unknown> {
  for (const key of Object.keys(source)) {
    const value = source[key];
    // A primitive is its own copy; structuredClone costs microseconds per call even for a string.
    const copy = typeof value === 'object' && value !== null ? structuredClone(value) : value;
    Object.defineProperty(target, key, { value: copy, enumerable: true, writable: true, configurable: true });
  }
  return target;
}

/** The JSON size in bytes of `kept` merged with `added`, without building anything but the text. */
export function mergedJsonBytes(kept: Readonly<Record<string, unknown>> | undefined, added: Readonly<Record<string, unknown>>): number {
  // Most calls carry no metadata into a session that has none: "{}".
  if ((kept === undefined || isEmpty(kept)) && isEmpty(added)) return 2;
  return Buffer.byteLength(JSON.stringify(mergeRecord(mergeRecord(Object.create(null) as Record<string, unknown>, kept ?? {}), added)));
}

function isEmpty(record: Readonly<Record<string, unknown>>): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return false;
  return true;
}
