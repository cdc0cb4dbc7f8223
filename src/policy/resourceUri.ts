// One canonical spelling per resource URI, so that a resource rule and the URI it is checked
// against compare in one form, and the gateway forwards exactly the form it decided on.
// Servers resolve URIs (a file server percent-decodes the path, drops dot segments and empty
// segments, treats `FILE:` as `file:` and `file://localhost/` as `file:///`); a rule compared
// with the caller's spelling could be stepped round with `..`, `%2e%2e`, `%73ecret` or `//`.
//
// The canonical form (RFC 3986 section 6 normalisation, plus what file servers do):
//   - the scheme in lowercase, and the host where URL parsers fold its case (file, http,
//     https, ws, wss, ftp); other schemes keep it, as a WHATWG parser does, since servers
//     use it as a name (`screenshot://MyShot`); `file://localhost/p` and `file:/p` are `file:///p`;
//   - percent-escapes of unreserved characters (A-Z a-z 0-9 - . _ ~) decoded, all other
//     escapes in uppercase hex; a raw space, `"`, `<`, `>`, `^`, backtick, `|` or non-ASCII
//     character percent-encoded as UTF-8 (the way servers list file URIs);
//   - in a hierarchical path (one starting with "/"): empty segments collapsed, then dot
//     segments removed (RFC 3986 5.2.4; ".." above the root is dropped). Collapsing first is
//     what a file system does with "/a//../b" (it reads "/b").
// Refused, because no single reading exists or a server may read it differently:
//   - empty, longer than MAX_RESOURCE_URI_LENGTH, or no scheme (not an absolute URI);
//   - a control character, raw or percent-encoded (%00-%1F, %7F), or a malformed escape;
//   - a backslash anywhere (URL parsers read it as "/" in file: and http: URIs), or an
//     encoded "/" (%2F) or "\" (%5C) in the host or path, which a server decoding first would
//     split on (in the query and fragment they are data, and stay);
//   - a file: URI whose path is not absolute, or that names a host other than localhost.
// Not unified: escapes of reserved characters (`%28` and `(` stay different, as RFC 3986
// says), `{`/`}` (kept raw for URI templates), letter case in the path, and whatever the
// server's own storage adds (symbolic links, case-insensitive file systems).

/** The longest URI (or resource pattern) accepted, in UTF-16 code units, before and after normalising. */
export const MAX_RESOURCE_URI_LENGTH = 8192;

export type CanonicalUri = { readonly ok: true; readonly uri: string } | { readonly ok: false; readonly reason: string };

/** The canonical form of a resource URI (or URI template), or why it has none. */
export function canonicalResourceUri(uri: string): CanonicalUri {
  return canonicalize(uri, false);
}

/**
 * A resource rule pattern in the same canonical form, glob characters kept as they are: `*`,
 * `[` and `]` are path characters here, and a `?` splits off a "query" that is put back
 * unchanged. A pattern whose scheme is itself a glob (`*`, `*://x/*`) gets only the
 * percent-escape normalisation, as nothing else about it can be known.
 */
export function canonicalResourcePattern(pattern: string): CanonicalUri {
  return canonicalize(pattern, true);
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
// Not URI characters, and never glob or template syntax: encoded, as servers list them.
const ENCODE_RAW = new Set([' ', '"', '<', '>', '^', '`', '|']);
const HEX = '0123456789ABCDEF';
// The WHATWG "special" schemes, whose hosts URL parsers lowercase.
const CASE_FOLDED_HOSTS = new Set(['file', 'http', 'https', 'ws', 'wss', 'ftp']);
const UTF8 = new TextEncoder();

function refuse(reason: string): CanonicalUri {
  return { ok: false, reason };
}

function canonicalize(text: string, pattern: boolean): CanonicalUri {
  if (text.length === 0) return refuse('is empty');
  if (text.length > MAX_RESOURCE_URI_LENGTH) return refuse(`is longer than ${MAX_RESOURCE_URI_LENGTH} characters`);
  const normalized = normalizeEscapes(text, pattern);
  if (!normalized.ok) return normalized;
  const uri = normalized.uri;
  if (uri.length > MAX_RESOURCE_URI_LENGTH) return refuse(`is longer than ${MAX_RESOURCE_URI_LENGTH} characters once percent-encoded`);

  const scheme = SCHEME.exec(uri)?.[1];
  if (scheme === undefined) {
    return pattern ? { ok: true, uri } : refuse('is not an absolute URI: it has no scheme (such as "file:")');
  }
  const lowerScheme = scheme.toLowerCase();
  let rest = uri.slice(scheme.length + 1);

  let fragment: string | undefined;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
  }
  let query: string | undefined;
  const question = rest.indexOf('?');
  if (question >= 0) {
    query = rest.slice(question + 1);
    rest = rest.slice(0, question);
  }

  let authority: string | undefined;
  let path = rest;
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    if (CASE_FOLDED_HOSTS.has(lowerScheme)) authority = lowerHost(authority);
    path = slash < 0 ? '' : rest.slice(slash);
  }
  const hierarchy = (authority ?? '') + path;
  if (hierarchy.includes('%2F')) return refuse('encodes "/" (%2F) in its host or a path segment, which servers may read as a separator');
  if (hierarchy.includes('%5C')) return refuse('encodes "\\" (%5C) in its host or a path segment, which servers may read as a separator');

  if (lowerScheme === 'file') {
    if (authority === 'localhost') authority = '';
    // (A pattern such as `file://*` or `file:*` is a glob over these parts, not a host or a path.)
    if (!pattern) {
      // `file://srv/secret` is a share on host "srv" to some readers and "/secret" (the host
      // dropped) to others, such as a server using `new URL(uri).pathname`.
      if (authority !== undefined && authority !== '') return refuse('is a file: URI naming a host; only file:///path and file://localhost/path are accepted');
      if (!path.startsWith('/') && (authority === undefined || path !== '')) return refuse('is a file: URI without an absolute path');
    }
    if (path.startsWith('/')) authority ??= '';
  }
  if (path.startsWith('/')) path = removeDotSegments(path.replace(/\/{2,}/g, '/'));

  let out = `${lowerScheme}:`;
  if (authority !== undefined) out += `//${authority}`;
  out += path;
  if (query !== undefined) out += `?${query}`;
  if (fragment !== undefined) out += `#${fragment}`;
  return { ok: true, uri: out };
}

/**
 * Decodes escapes of unreserved characters, writes the others in uppercase hex, and encodes
 * the raw characters that have no place in a URI. Decoding an unreserved character can never
 * create a delimiter, so the structure is read afterwards, from this form.
 */
function normalizeEscapes(text: string, pattern: boolean): CanonicalUri {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    const code = text.charCodeAt(i);
    if (ch === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return refuse('has a "%" that does not start a percent-escape (%XX)');
      const byte = parseInt(hex, 16);
      if (byte < 0x20 || byte === 0x7f) return refuse('encodes a control character');
      const decoded = String.fromCharCode(byte);
      out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
      i += 2;
      continue;
    }
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return refuse('contains a control character');
    if (ch === '\\') {
      return refuse(
        pattern
          ? 'contains a backslash, which no resource URI may contain (a resource pattern cannot escape glob characters)'
          : 'contains a backslash, which URL parsers read as "/"',
      );
    }
    if (code < 0x80) {
      out += ENCODE_RAW.has(ch) ? `%${HEX[code >> 4]}${HEX[code & 15]}` : ch;
      continue;
    }
    const point = text.codePointAt(i) as number;
    if (point >= 0xd800 && point <= 0xdfff) return refuse('contains an unpaired surrogate, which has no UTF-8 form');
    const char = String.fromCodePoint(point);
    for (const byte of UTF8.encode(char)) out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
    i += char.length - 1;
  }
  return { ok: true, uri: out };
}

/** Lowercases the host; userinfo and port stay. */
function lowerHost(authority: string): string {
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const hostPort = authority.slice(at + 1);
  // Escapes are already uppercase; only letters outside them are lowered.
  return userinfo + hostPort.replace(/%[0-9A-F]{2}|[A-Z]+/g, (m) => (m.startsWith('%') ? m : m.toLowerCase()));
}

/** RFC 3986 5.2.4 on an absolute path without empty segments. */
function removeDotSegments(path: string): string {
  const segments = path.slice(1).split('/');
  const out: string[] = [];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      // "/a/." and "/a/b/.." name a directory: the trailing "/" stays.
      if (last) out.push('');
      return;
    }
    out.push(segment);
  });
  return `/${out.join('/')}`;
}
