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

/** One word of a query with what may stand for it: the word itself at weight 1, its synonyms below. */
export interface QueryWord {
  readonly alternatives: readonly QueryTerm[];
}

export interface QueryTerm {
  readonly term: string;
  readonly weight: number;
}

/**
 * "log in", "logged in", "sign in": one word (login, signin) before "in" goes as a stop word,
 * so that they are not read as the logs of a server or the signing of a document.
 */
const SIGN_IN = /\b(log|sign)(?:ged|ed|ging|ing)?[\s-]+(?:in|on)\b/giu;

const HUMP = /(?<=[\p{Ll}\p{N}])(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})/u;

/**
 * The terms of `text`, in order, repeats kept (they count in BM25). Reads at most
 * `maxChars` characters and returns at most `maxTerms` terms. With `splitHumps`, a
 * camelCase word gives its parts and itself: indexed text holds identifiers (`listIssues`)
 * and brand names (`GitHub`) alike, and a query says "list issues" or "github".
 */
export function termsOf(text: string, maxChars: number, maxTerms: number, splitHumps = true): string[] {
  const clipped = (text.length > maxChars ? text.slice(0, maxChars) : text).replace(SIGN_IN, '$1in');
  const out: string[] = [];
  let previous: string | undefined;
  const add = (piece: string): void => {
    if (out.length >= maxTerms || piece.length < 2 || STOP_WORDS.has(piece)) return;
    const term = stem(piece);
    out.push(term);
    if (previous !== undefined) {
      for (const [first, second, word] of PHRASES) if (previous === first && term === second && out.length < maxTerms) out.push(word);
    }
    previous = term;
  };
  for (const word of clipped.split(/[^\p{L}\p{N}]+/u)) {
    if (out.length >= maxTerms) break;
    const parts = splitHumps ? word.split(HUMP) : [word];
    for (const part of parts) add(part.toLowerCase());
    if (parts.length > 1) add(word.toLowerCase());
  }
  return out;
}

/** A question ("what tables are there", "which files changed") asks to read: it looks for the reading verbs too, at this weight. */
const QUESTION = /(?:^|[^\p{L}])(?:what|which|who|whom|whose|where|when|how)(?:$|[^\p{L}])/iu;
const QUESTION_WEIGHT = 0.4;
const READING: readonly string[] = ['list', 'get', 'show', 'search', 'find', 'read', 'describe'].map(stem);

/**
 * What follows "about", "named", "called", ... is what the tool is to look for or work on
 * ("pages about onboarding", "a folder called build"), not what the tool does: those words
 * weigh less. A subject ("about", "mentioning") also asks to search, so the query looks for
 * the searching verbs too; a name ("called") does not.
 */
const TOPIC = /\b(?:(about(?!\s+to\b)|regarding|mentioning|containing)|named|called|titled)\b/iu;
const TOPIC_WEIGHT = 0.5;
const SEARCHING_WEIGHT = 0.5;
const SEARCHING: readonly string[] = ['search', 'find', 'query', 'lookup'].map(stem);

const MAX_QUERY_CHARS = 1_000;
const MAX_QUERY_WORDS = 32;

/**
 * A query's distinct words, each with its synonyms (a synonym the query also says is a word
 * of its own). camelCase words are taken whole: an agent writing "GitHub" means the brand,
 * not "git" and "hub".
 */
export function queryWords(query: string): QueryWord[] {
  const clipped = query.slice(0, MAX_QUERY_CHARS);
  const written = [...new Set(termsOf(clipped, MAX_QUERY_CHARS, MAX_QUERY_WORDS, false))];
  const topic = TOPIC.exec(clipped);
  const beforeTopic = topic ? new Set(termsOf(clipped.slice(0, topic.index), MAX_QUERY_CHARS, MAX_QUERY_WORDS, false)) : undefined;
  const words = written.map((term) => {
    const scale = beforeTopic === undefined || beforeTopic.has(term) ? 1 : TOPIC_WEIGHT;
    const alternatives: QueryTerm[] = [{ term, weight: scale }];
    const synonyms = synonymsOf(term);
    if (synonyms) for (const [synonym, weight] of synonyms) if (!written.includes(synonym)) alternatives.push({ term: synonym, weight: scale * weight });
    return { alternatives };
  });
  if (topic?.[1] !== undefined && written.length > 0) words.push({ alternatives: SEARCHING.map((term) => ({ term, weight: SEARCHING_WEIGHT })) });
  if (written.length > 0 && QUESTION.test(clipped) && !READING.some((verb) => written.includes(verb))) {
    words.push({ alternatives: READING.map((term) => ({ term, weight: QUESTION_WEIGHT })) });
  }
  return words;
}
