import { stemmer } from 'stemmer';

// Porter stems of lowercase words. Tool lists repeat the same few thousand words, so stems
// are remembered; the memory is bounded, and starts over when full.

const MAX_REMEMBERED = 50_000;
const remembered = new Map<string, string>();

export function stem(word: string): string {
  let stemmed = remembered.get(word);
  if (stemmed === undefined) {
    // Porter's rules are for English words: numbers and mixed tokens (v2, s3, oauth2) stay as they are.
    stemmed = /^[a-z]+$/.test(word) ? stemmer(word) : word;
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(word, stemmed);
  }
  return stemmed;
}
