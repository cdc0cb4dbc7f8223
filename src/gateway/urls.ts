/** A URL safe to show a model: no credentials, no query (tokens often live there), no fragment. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return '[invalid url]';
  }
}
