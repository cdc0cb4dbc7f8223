import { stem } from './stems.js';
import { PHRASES, synonymsOf } from './synonyms.js';

// Text to index terms: split at anything that is not a letter or digit and at camelCase
// humps (so `list_issues`, `listIssues`, `list-issues` and `list.issues` read alike),
// lowercased, stop words dropped, Porter-stemmed, and a known two-word phrase ("pull
// request") adds its one-word form. Both the indexed fields and the query go through it.

/** Words that carry no meaning for finding a tool: English function words and the filler of requests. */
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but nor of to in on at by for from with without into onto via per as is are was were be been being ' +
    "this that these those it its it's this's there here then than so such if else when while which who whom whose what " +
    'how why where do does did done doing have has had i me my mine we us our ours you your yours he she they them their ' +
    'can could would should will shall may might must want wants need needs needed like please some any each every all ' +
    'also just only very more most much many other others another same own about using use used uses able etc e g ie eg ' +
    'let lets something anything thing things way one ones not no yes'
  ).split(' '),
);

export interface QueryTerm {
  readonly term: string;
  readonly weight: number;
}

/**
 * The terms of `text`, in order, repeats kept (they count in BM25). Reads at most
 * `maxChars` characters and returns at most `maxTerms` terms.
 */
export function termsOf(text: string, maxChars: number, maxTerms: number): string[] {
  const clipped = text.length > maxChars ? text.slice(0, maxChars) : text;
  const spaced = clipped.replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2').replace(/(\p{Lu}+)(\p{Lu}\p{Ll})/gu, '$1 $2');
  const out: string[] = [];
  let previous: string | undefined;
  for (const piece of spaced.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (out.length >= maxTerms) break;
    if (piece.length < 2 || STOP_WORDS.has(piece)) continue;
    const term = stem(piece);
    out.push(term);
    if (previous !== undefined) {
      for (const [first, second, word] of PHRASES) if (previous === first && term === second && out.length < maxTerms) out.push(word);
    }
    previous = term;
  }
  return out;
}

const MAX_QUERY_CHARS = 1_000;
const MAX_QUERY_WORDS = 32;

/** A query's distinct terms at weight 1, then their synonyms at the synonym's weight (a word the agent wrote keeps 1). */
export function queryTerms(query: string): QueryTerm[] {
  const weights = new Map<string, number>();
  const written = termsOf(query, MAX_QUERY_CHARS, MAX_QUERY_WORDS);
  for (const term of written) weights.set(term, 1);
  for (const term of written) {
    const synonyms = synonymsOf(term);
    if (!synonyms) continue;
    for (const [synonym, weight] of synonyms) if ((weights.get(synonym) ?? 0) < weight) weights.set(synonym, weight);
  }
  return [...weights].map(([term, weight]) => ({ term, weight }));
}
