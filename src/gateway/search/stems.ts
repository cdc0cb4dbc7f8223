import { stemmer } from 'stemmer';

// Porter stems of lowercase words. Tool lists repeat the same few thousand words, so stems
// are remembered; the memory is bounded, and starts over when full.

const MAX_REMEMBERED = 50_000;
/**
 * Porter takes "-er" off some nouns of who or what does a thing (customer, reviewer,
 * container, parameter) but not off others (user, owner, watcher): it joins "custom fields"
 * with customers and "reviewers" with reviews. Such a word keeps its "-er", in all its
 * forms (customers, registered, delivering), so they still read alike.
 */
const AGENT_NOUN = /^([a-z]{3,}er)(?:s|ed|ing)?$/;
const remembered = new Map<string, string>();

export function stem(word: string): string {
  let stemmed = remembered.get(word);
  if (stemmed === undefined) {
    // Porter's rules are for English words: numbers and mixed tokens (v2, s3, oauth2) stay as they are.
    stemmed = /^[a-z]+$/.test(word) ? stemmer(word) : word;
    const agent = AGENT_NOUN.exec(word);
    if (agent && !stemmed.endsWith('er')) stemmed = agent[1]!;
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(word, stemmed);
  }
  return stemmed;
}
