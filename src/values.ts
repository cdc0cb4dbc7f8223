// Small facts about unknown values, shared by every layer (this file imports nothing).

/** A JSON object: not null, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The message of anything thrown, for logs and error text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
