// A query word that no tool says may still be a form of a word that some tool does: the
// Porter stemmer leaves "subscrib" (subscribe) and "subscript" (subscription) apart, and a
// request asks to "unsubscribe" where the tool manages subscriptions. Such a word looks for
// the indexed terms that begin like it, at a lower weight than a word said.

/**
 * The shared beginning must be this long, and leave at most MAX_REST letters of the shorter
 * word and MAX_LONGER_REST of the longer one unmatched: endings differ, stems do not.
 */
const MIN_SHARED = 5;
const MAX_REST = 2;
const MAX_LONGER_REST = 4;
/** Prefixes that negate or undo a verb: the tool that does the one usually undoes it too. */
const NEGATIONS = ['un', 'dis'] as const;
export const NEAR_WEIGHT = 0.5;

/** The terms of `vocabulary` near `term`, for a term that is not in it. */
export function nearTerms(term: string, vocabulary: Iterable<string>): string[] {
  if (!/^[a-z]+$/.test(term)) return [];
  const forms = [term];
  for (const prefix of NEGATIONS) if (term.startsWith(prefix) && term.length - prefix.length >= MIN_SHARED) forms.push(term.slice(prefix.length));
  const near: string[] = [];
  for (const candidate of vocabulary) {
    if (forms.some((form) => isNear(form, candidate))) near.push(candidate);
  }
  return near;
}

function isNear(a: string, b: string): boolean {
  const shorter = Math.min(a.length, b.length);
  if (shorter < MIN_SHARED || Math.max(a.length, b.length) - shorter > MAX_LONGER_REST + MAX_REST) return false;
  let shared = 0;
  while (shared < shorter && a.charCodeAt(shared) === b.charCodeAt(shared)) shared++;
  return shared >= MIN_SHARED && shared >= shorter - MAX_REST && shared >= Math.max(a.length, b.length) - MAX_LONGER_REST;
}
