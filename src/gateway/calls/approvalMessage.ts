// The text a human reads before approving a call. Every part but the agent id comes from
// somewhere hostile (the caller's arguments, the downstream's tool name), so the message is
// bounded whatever they hold, and nothing in it can hide or reorder text on the screen:
// control and format characters (bidi overrides and isolates, zero-width characters, line and
// paragraph separators) and lone surrogates are replaced, long values clipped.

const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const MAX_NAME = 64;
const MAX_KEY = 40;
const MAX_VALUE = 60;
const MAX_KEYS = 8;
/** The argument summary's length; the whole message stays under ~600 characters. */
const MAX_SUMMARY = 300;

/** `text` with unsafe characters replaced, clipped to `max` characters. */
export function plainText(text: string, max: number): string {
  const clipped = text.length > max ? text.slice(0, max) : text;
  // After clipping: a pair cut in half is a lone surrogate, replaced like any other.
  return clipped.replace(UNSAFE, '\uFFFD') + (text.length > max ? '…' : '');
}

function valueSummary(value: unknown): string {
  if (typeof value === 'string') {
    const clipped = value.length > MAX_VALUE ? value.slice(0, MAX_VALUE) : value;
    return JSON.stringify(clipped.replace(UNSAFE, '\uFFFD')) + (value.length > MAX_VALUE ? '…' : '');
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `[${value.length} item${value.length === 1 ? '' : 's'}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).length;
    return `{${keys} key${keys === 1 ? '' : 's'}}`;
  }
  return typeof value;
}

/** The first few arguments, `key: value`, clipped; says how many were left out. */
export function argumentSummary(args: Record<string, unknown>): string {
  const keys = Object.keys(args);
  const parts: string[] = [];
  let length = 0;
  for (const key of keys) {
    if (parts.length === MAX_KEYS) break;
    const part = `${plainText(key, MAX_KEY)}: ${valueSummary(args[key])}`;
    if (length + part.length > MAX_SUMMARY) break;
    parts.push(part);
    length += part.length + 2;
  }
  if (keys.length === 0) return '(none)';
  const rest = keys.length - parts.length;
  return parts.join(', ') + (rest > 0 ? `${parts.length > 0 ? ' ' : ''}(+${rest} more)` : '');
}

export function approvalMessage(agent: string, server: string, tool: string, args: Record<string, unknown>, rule: string): string {
  return [
    `Agent "${plainText(agent, MAX_NAME)}" wants to call a tool that needs your approval.`,
    `Server: ${plainText(server, MAX_NAME)}`,
    `Tool: ${plainText(tool, MAX_NAME)}`,
    `Arguments: ${argumentSummary(args)}`,
    `Rule: ${plainText(rule, 2 * MAX_NAME)}`,
  ].join('\n');
}
