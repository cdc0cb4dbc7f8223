import { setMaxListeners } from 'node:events';

/**
 * Where an HTTP downstream is reached and with which headers. fetch() refuses a URL that
 * carries credentials (`https://user:pw@host/mcp`), so they move into an
 * `Authorization: Basic` header, as curl does with them. An Authorization header the
 * configuration sets explicitly wins, and the credentials are then dropped.
 */
export function httpTarget(rawUrl: string, headers: Readonly<Record<string, string>>): { url: URL; headers: Record<string, string> } {
  const url = new URL(rawUrl);
  const out = { ...headers };
  if (url.username === '' && url.password === '') return { url, headers: out };
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = '';
  url.password = '';
  const hasAuthorization = Object.keys(out).some((name) => name.toLowerCase() === 'authorization');
  if (!hasAuthorization) out['Authorization'] = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
  return { url, headers: out };
}

/**
 * fetch for the SDK's HTTP client transports. They pass one transport-wide AbortSignal to
 * every request, and undici removes its listener from that signal only when the request is
 * garbage-collected, so a busy connection keeps thousands of listeners alive at once and node
 * prints a MaxListenersExceededWarning on stderr for every request past the limit. The
 * listeners are bounded by GC (no leak), so the limit is lifted on that signal alone.
 */
export const fetchWithSharedSignal: typeof fetch = (input, init) => {
  if (init?.signal) setMaxListeners(0, init.signal);
  return fetch(input, init);
};
