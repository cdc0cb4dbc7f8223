import { stem } from './stems.js';

// Tool names glue words together that requests say apart: `jira_add_worklog` for "log work",
// `get_username` for "user name". A name term is split into two words when both are words
// of the server's own vocabulary, so the split follows what the server says elsewhere and
// does not depend on which other servers are indexed.

/** Each part at least this long: shorter ones ("un", "re") split too much that is one word. */
const MIN_PART = 3;
const MIN_COMPOUND = 2 * MIN_PART;

/** The two words `term` is made of, as terms of `vocabulary`, or none. */
export function compoundParts(term: string, vocabulary: ReadonlySet<string>): readonly string[] {
  if (term.length < MIN_COMPOUND || !/^[a-z]+$/.test(term)) return [];
  // The longest first part first: "database" is data + base, not dat + abase.
  for (let cut = term.length - MIN_PART; cut >= MIN_PART; cut--) {
    const first = vocabularyWord(term.slice(0, cut), vocabulary);
    if (first === undefined) continue;
    const second = vocabularyWord(term.slice(cut), vocabulary);
    if (second !== undefined) return [first, second];
  }
  return [];
}

function vocabularyWord(piece: string, vocabulary: ReadonlySet<string>): string | undefined {
  if (vocabulary.has(piece)) return piece;
  const stemmed = stem(piece);
  return vocabulary.has(stemmed) ? stemmed : undefined;
}
