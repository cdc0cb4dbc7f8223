// Resource URIs as the gateway offers them: `mcpgw://<server>/<original URI>`, e.g.
// `mcpgw://everything/test://static/resource/1`. Two servers may both offer `file:///a`; the
// prefix makes each unique, and reading it back is a split at the first "/" after the
// server. URI templates get the same prefix, which is literal text in RFC 6570, so a client
// that expands `mcpgw://everything/test://static/resource/{id}` gets a URI that maps back to
// the server's own expansion. Server names are [A-Za-z0-9_.-], which a URI authority takes as
// they are; they are percent-encoded anyway so the mapping stays reversible whatever they hold.

const GATEWAY_URI_SCHEME = 'mcpgw';
const PREFIX = `${GATEWAY_URI_SCHEME}://`;

export function toGatewayUri(server: string, uri: string): string {
  return `${PREFIX}${encodeURIComponent(server)}/${uri}`;
}

export interface DownstreamUri {
  readonly server: string;
  readonly uri: string;
}

/** The server and its own URI, or undefined when `uri` is not one the gateway made. */
export function fromGatewayUri(uri: string): DownstreamUri | undefined {
  if (!uri.startsWith(PREFIX)) return undefined;
  const rest = uri.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  let server: string;
  try {
    server = decodeURIComponent(rest.slice(0, slash));
  } catch {
    return undefined;
  }
  const original = rest.slice(slash + 1);
  if (original === '') return undefined;
  return { server, uri: original };
}
