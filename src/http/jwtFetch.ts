// Fetches of an identity provider's metadata document and key set: what an attacker who
// controls the network (or the provider) may answer is bounded in time and size, redirects are
// not followed (a metadata document names its endpoints itself), and anything but a 200 with
// JSON fails, which refuses the token (fail closed).

export const FETCH_TIMEOUT_MS = 5_000;
export const MAX_METADATA_BYTES = 64 * 1024;
export const MAX_JWKS_BYTES = 256 * 1024;

export class IssuerFetchError extends Error {}

/** The body of `url` as text: status 200, at most `maxBytes`, within `timeoutMs` (headers and body). */
export async function fetchBounded(url: string, maxBytes: number, init: { signal?: AbortSignal; headers?: Headers } = {}): Promise<Response> {
  const signal = init.signal ?? AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const res = await fetch(url, { method: 'GET', redirect: 'manual', signal, headers: init.headers ?? { Accept: 'application/json' } });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => undefined);
    throw new IssuerFetchError(`${url} answered ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new IssuerFetchError(`${url} is larger than ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new IssuerFetchError(`${url} is larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  }
  return new Response(Buffer.concat(chunks), { status: 200, headers: { 'content-type': res.headers.get('content-type') ?? 'application/json' } });
}

/** A JSON object from `url`, bounded as fetchBounded. */
export async function fetchJsonObject(url: string, maxBytes: number, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const res = await fetchBounded(url, maxBytes, signal ? { signal } : {});
  let body: unknown;
  try {
    body = JSON.parse(await res.text());
  } catch {
    throw new IssuerFetchError(`${url} is not JSON`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new IssuerFetchError(`${url} is not a JSON object`);
  return body as Record<string, unknown>;
}
