// Credentials out of text the gateway shows or logs but did not write itself: a downstream's
// stderr, its error messages, configuration diagnostics. Servers print connection strings and
// tokens on failure (`postgres://app:S3CR3T@db/x`, `token=abc`), and those lines reach
// get_gateway_status, SERVER_UNAVAILABLE messages and the log.
//
// Best effort by shape: userinfo in URLs, values of secret-looking keys (key=value, key: value,
// "key": "value"), Authorization schemes, and a few token formats that are unmistakable on
// their own. Every pattern has bounded repetition before its anchor, so a long hostile line
// costs linear time.

export const REDACTED = '[REDACTED]';

/** `scheme://userinfo@`: everything between `//` and the last `@` of the authority. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)[^\s/?#'"<>@]{1,256}(?:@[^\s/?#'"<>@]{1,256})*@/gi;

/**
 * A key, an optional closing quote, `=` or `:`, then the value: an Authorization scheme and
 * its credential, a quoted string, or a bare word up to a separator.
 */
const KEY_VALUE =
  /(^|[^A-Za-z0-9_.-])([A-Za-z0-9_.-]{1,64})(["']?[ \t]*[=:][ \t]*)((?:bearer|basic|token|digest)[ \t]+[^\s"'&,;]+|"[^"\n]*"|'[^'\n]*'|[^\s"'&,;]+)/gi;

/** Key names whose values are secrets: the whole key, or one of its `_`, `-` or `.` parts. */
const SECRET_KEY =
  /(^|[_.-])(authorization|auth|token|access[_-]?token|refresh[_-]?token|id[_-]?token|password|passwd|pwd|pass|secret|client[_-]?secret|api[_-]?key|apikey|key|credentials?|cookie|session[_-]?id|private[_-]?key|signature|sig)($|[_.-])/i;

/**
 * An Authorization scheme outside key=value (`Authorization: Bearer x` is caught above, a bare
 * `Bearer x` here). The credential must hold a digit or symbol, so prose ("basic configuration") stays.
 */
const AUTH_SCHEME = /\b(bearer|basic)[ \t]+(?=[A-Za-z._~-]*[0-9+/=])[A-Za-z0-9._~+/=-]{8,}/gi;

/** Tokens recognizable without a key: JWTs, GitHub, OpenAI-style, Slack and AWS access keys. */
const TOKEN_SHAPES =
  /\b(?:eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b/g;

/**
 * Text a program printed (stderr, a server's error): credentials in URLs, values of
 * secret-looking keys, Authorization credentials and known token shapes become [REDACTED].
 * Idempotent.
 */
export function redactSecrets(text: string): string {
  if (text === '') return text;
  return redactCredentials(
    text.replace(KEY_VALUE, (whole, before: string, key: string, sep: string, value: string) => {
      if (!SECRET_KEY.test(key) || value === REDACTED || value === `"${REDACTED}"` || value === `'${REDACTED}'`) return whole;
      const quote = value.startsWith('"') || value.startsWith("'") ? value[0] : '';
      return `${before}${key}${sep}${quote}${REDACTED}${quote}`;
    }),
  );
}

/**
 * The gateway's own diagnostics (configuration issues name JSON paths such as
 * `mcpServers.a.env.TOKEN: ...`, where a key=value reading would hide the message): only
 * credentials in URLs, Authorization credentials and known token shapes. Idempotent.
 */
export function redactCredentials(text: string): string {
  if (text === '') return text;
  return text
    .replace(URL_USERINFO, `$1${REDACTED}@`)
    .replace(AUTH_SCHEME, (_whole, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(TOKEN_SHAPES, REDACTED);
}

/**
 * A URL safe to show in a log, a status or a model's context: scheme, host and path only.
 * Credentials, query (tokens often live there) and fragment are dropped.
 */
export function redactUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '[invalid url]';
  }
}
