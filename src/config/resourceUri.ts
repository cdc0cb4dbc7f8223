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
//   - http, https, ws, wss and ftp: the host exactly as a WHATWG parser reads it, without
//     the scheme's default port (:80, :443, :21);
//   - percent-escapes of unreserved characters (A-Z a-z 0-9 - . _ ~) decoded, all other
//     escapes in uppercase hex; a raw space, `"`, `<`, `>`, `^`, backtick, `|` or non-ASCII
//     character percent-encoded as UTF-8 (the way servers list file URIs);
//   - in a file: path, escapes of the reserved characters a path holds raw (! $ & ' ( ) + , ;
//     = : @) decoded, and `*`, `[`, `]` encoded, so no file URI holds a glob character;
//   - in a hierarchical path (one starting with "/"): empty segments collapsed, then dot
//     segments removed (RFC 3986 5.2.4; ".." above the root is dropped). Collapsing first is
//     what a file system does with "/a//../b" (it reads "/b").
// Refused, because no single reading exists or a server may read it differently:
//   - empty, longer than MAX_RESOURCE_URI_LENGTH, or no scheme (not an absolute URI);
//   - a control character, raw or percent-encoded (%00-%1F, %7F), or a malformed escape;
//   - a backslash anywhere (URL parsers read it as "/" in file: and http: URIs), or an
//     encoded "/" (%2F) or "\" (%5C) in the host or path, which a server decoding first would
//     split on (in the query and fragment they are data, and stay);
//   - a file: URI whose path is not absolute, that names a host other than localhost, or
//     that has a query or fragment;
//   - an http, https, ws, wss or ftp URI with userinfo, an escape or non-ASCII character in
//     its host, or a host a WHATWG parser rewrites (`0x7f.1`, full-width letters).
// Not unified: in other schemes and outside a file: path, escapes of reserved characters
// (`%28` and `(` stay different, as RFC 3986 says); `{`/`}` (kept raw for URI templates, while
// `%7B`/`%7D` stay escapes); letter case in the path; and whatever the server's own storage
// adds (symbolic links, case-insensitive file systems).

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
 * unchanged (but in a file: pattern it is a path character, as file: URIs have no query);
 * `%2A`, `%5B` and `%5D` stay escapes, naming the literal characters. Hosts are not checked,
 * only their default port dropped. A pattern whose scheme is itself a glob (`*`, `*://x/*`)
 * gets only the percent-escape normalisation, as nothing else about it can be known.
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
// Schemes whose host is checked as a WHATWG parser reads it, and their default ports.
const DEFAULT_PORTS = new Map([
  ['http', '80'],
  ['ws', '80'],
  ['https', '443'],
  ['wss', '443'],
  ['ftp', '21'],
]);

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

  const file = lowerScheme === 'file';
  let fragment: string | undefined;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
  }
  let query: string | undefined;
  // A canonical file: URI has no query, so in a file: pattern a `?` is only ever a glob.
  const question = file && pattern ? -1 : rest.indexOf('?');
  if (question >= 0) {
    query = rest.slice(question + 1);
    rest = rest.slice(0, question);
  }
  // A file server reads the path alone, and one that decodes the URI first and resolves it
  // afterwards would read `file:///pub/x?/../secret` as /pub/secret: a dot segment the
  // rules never saw. File names with "?" or "#" are still reachable as %3F and %23.
  if (file && !pattern && (query !== undefined || fragment !== undefined)) {
    return refuse('is a file: URI with a query or fragment ("?" or "#"); a file name holding one is written %3F or %23');
  }

  // `https:evil.com/a` and `https:/evil.com/a` are https://evil.com/a to a WHATWG parser: decided
  // (and forwarded) in that form, so the rules see the host the server will connect to.
  if (!pattern && DEFAULT_PORTS.has(lowerScheme) && !rest.startsWith('//')) rest = `//${rest.replace(/^\/+/, '')}`;
  let authority: string | undefined;
  let path = rest;
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    if (CASE_FOLDED_HOSTS.has(lowerScheme)) authority = lowerHost(authority);
    const defaultPort = DEFAULT_PORTS.get(lowerScheme);
    if (defaultPort !== undefined) {
      const host = pattern ? { ok: true as const, uri: dropDefaultPort(authority, defaultPort) } : canonicalHost(lowerScheme, authority);
      if (!host.ok) return host;
      authority = host.uri;
    }
    path = slash < 0 ? '' : rest.slice(slash);
  }
  const hierarchy = (authority ?? '') + path;
  if (hierarchy.includes('%2F')) return refuse('encodes "/" (%2F) in its host or a path segment, which servers may read as a separator');
  if (hierarchy.includes('%5C')) return refuse('encodes "\\" (%5C) in its host or a path segment, which servers may read as a separator');

  if (file) {
    path = fileEscapes(path, pattern);
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

/**
 * The host of an http(s), ws(s) or ftp URI as a WHATWG parser (the one Node's fetch uses)
 * connects to it, or a refusal where that parser would read it otherwise than as written:
 * userinfo (`https://x@internal/`), escapes or non-ASCII (`%EF%BD%89nternal`, full-width
 * letters mapped to ASCII), numeric forms (`0x7f.1` is 127.0.0.1). The default port goes.
 */
function canonicalHost(scheme: string, authority: string): CanonicalUri {
  if (authority.includes('@')) return refuse(`has userinfo ("user@") before its ${scheme}: host, which servers read differently`);
  if (authority.includes('%')) return refuse(`has a percent-escape or a non-ASCII character in its ${scheme}: host`);
  const close = authority.lastIndexOf(']');
  const colon = authority.lastIndexOf(':');
  const host = colon > close ? authority.slice(0, colon) : authority;
  if (host === '') return refuse(`has no ${scheme}: host`);
  // `evil.com.` is the same host to DNS as `evil.com`: decided and forwarded without the dot.
  if (host.endsWith('.')) {
    if (host.endsWith('..')) return refuse(`has a ${scheme}: host with an empty label`);
    return canonicalHost(scheme, host.slice(0, -1) + authority.slice(host.length));
  }
  let parsed: URL;
  try {
    parsed = new URL(`${scheme}://${authority}/`);
  } catch {
    return refuse(`has a ${scheme}: host or port that URL parsers do not accept`);
  }
  if (parsed.hostname !== host) {
    // (The reason never repeats the value, even rewritten.)
    return refuse(`has a ${scheme}: host that URL parsers rewrite (a numeric form such as 0x7f.1, or letters they map); write it as they read it`);
  }
  return { ok: true, uri: parsed.port === '' ? host : `${host}:${parsed.port}` };
}

function dropDefaultPort(authority: string, port: string): string {
  return authority.endsWith(`:${port}`) ? authority.slice(0, -port.length - 1) : authority;
}

/**
 * In a file: path, escapes of the reserved characters a path may hold raw are decoded, as a
 * file server decodes them anyway (`u%40x` is the file `u@x`). `*`, `[` and `]` are glob
 * syntax in a pattern, so a URI holds them only encoded: a pattern's `%2A` then names a
 * literal "*" however the URI spelt it, and its raw `*` stays a glob.
 */
function fileEscapes(path: string, pattern: boolean): string {
  const decoded = path.replace(/%(?:2[146789BC]|3[ABD]|40)/g, (m) => String.fromCharCode(parseInt(m.slice(1), 16)));
  return pattern ? decoded : decoded.replace(/[*[\]]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
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
