// The path and query of an origin-form request target. WHATWG URL parsing was a visible
// share of a REST call's CPU, so a target URL would leave as it is (no dot segments, no
// percent escapes, which URL may read as dots, no doubled leading slash, which it reads as a
// host) is split by hand; any other goes through URL, as before.
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9_\-/]*$/;
/** Printable ASCII but `#`: URLSearchParams reads it as URL's searchParams would. */
const PLAIN_QUERY = /^[\x21\x22\x24-\x7e]*$/;
const BASE = 'http://gateway.invalid';

export interface RequestTarget {
  readonly pathname: string;
  /** Parsed on first use: most routes never read it. */
  readonly query: URLSearchParams;
}

/** A plain target: its query is parsed on first use. */
class PlainTarget implements RequestTarget {
  readonly pathname: string;
  readonly #search: string;
  #query: URLSearchParams | undefined;

  constructor(pathname: string, search: string) {
    this.pathname = pathname;
    this.#search = search;
  }

  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.#search));
  }
}

/** The target's path and query; undefined when URL cannot parse it. */
export function parseRequestTarget(target: string): RequestTarget | undefined {
  const mark = target.indexOf('?');
  const path = mark < 0 ? target : target.slice(0, mark);
  const search = mark < 0 ? '' : target.slice(mark + 1);
  if (PLAIN_PATH.test(path) && (search === '' || PLAIN_QUERY.test(search))) return new PlainTarget(path, search);
  let url: URL;
  try {
    url = new URL(target, BASE);
  } catch {
    return undefined;
  }
  return { pathname: url.pathname, query: url.searchParams };
}
