import { describe, expect, it } from 'vitest';
import { queryWords, termsOf } from '../../../../src/gateway/search/tokens.js';

const terms = (text: string) => termsOf(text, 10_000, 1_000);
const weights = (query: string) => new Map(queryWords(query).flatMap((word) => word.alternatives.map(({ term, weight }) => [term, weight] as const)));

describe('termsOf', () => {
  it('splits names at _ - . / and camelCase humps alike', () => {
    const expected = ['list', 'pull', 'request', 'pr'];
    for (const name of ['list_pull_requests', 'list-pull-requests', 'list.pull.requests', 'list/pull/requests']) expect(terms(name), name).toEqual(expected);
    // A camelCase word also counts whole, so a query saying it as one word finds it.
    for (const name of ['listPullRequests', 'ListPullRequests']) expect(terms(name), name).toEqual([...expected, 'listpullrequest']);
    expect(terms('getHTMLPage')).toEqual(['get', 'html', 'page', 'gethtmlpag']);
    expect(terms('s3_bucket v2')).toEqual(['s3', 'bucket', 'v2']);
  });

  it('lowercases, drops stop words and one-letter pieces, and stems', () => {
    expect(terms('I want to Create the Issues in a repository')).toEqual(['creat', 'issu', 'repositori']);
    expect(terms('creating created creates')).toEqual(['creat', 'creat', 'creat']);
  });

  it('adds the one-word form of a known phrase', () => {
    expect(terms('open a pull request')).toEqual(['open', 'pull', 'request', 'pr']);
    expect(terms('merge requests')).toEqual(['merg', 'request', 'mr']);
  });

  it('reads at most maxChars characters and returns at most maxTerms terms', () => {
    expect(termsOf('alpha beta gamma', 10, 100)).toEqual(['alpha', 'beta']);
    expect(termsOf('red green blue', 1_000, 2)).toEqual(['red', 'green']);
    expect(termsOf('word '.repeat(1_000_000), 100, 5)).toHaveLength(5);
  });
});

describe('queryWords', () => {
  it('keeps the words written at weight 1 and adds their synonyms below it', () => {
    const w = weights('delete a ticket');
    expect(w.get('delet')).toBe(1);
    expect(w.get('ticket')).toBe(1);
    for (const synonym of ['remov', 'destroi', 'issu', 'bug']) {
      expect(w.get(synonym), synonym).toBeGreaterThan(0);
      expect(w.get(synonym), synonym).toBeLessThan(1);
    }
  });

  it('knows the usual verbs and nouns of tools', () => {
    const pairs: [string, string][] = [
      ['make', 'creat'],
      ['add', 'new'],
      ['destroy', 'delet'],
      ['show', 'list'],
      ['fetch', 'get'],
      ['search', 'find'],
      ['modify', 'updat'],
      ['change', 'edit'],
      ['document', 'file'],
      ['repository', 'repo'],
      ['pr', 'mr'],
      ['chat', 'messag'],
      ['database', 'db'],
      ['sql', 'queri'],
      ['capture', 'screenshot'],
      ['browse', 'navig'],
      ['press', 'click'],
      ['execute', 'run'],
      ['directory', 'folder'],
    ];
    for (const [word, synonym] of pairs) expect(weights(word).get(synonym), `${word} -> ${synonym}`).toBeGreaterThan(0);
  });

  it('takes camelCase words whole: GitHub is not git', () => {
    expect(queryWords('GitHub issues').map((w) => w.alternatives[0]!.term)).toEqual(['github', 'issu']);
  });

  it('a word that is also a synonym keeps weight 1', () => {
    const w = weights('list and show');
    expect(w.get('list')).toBe(1);
    expect(w.get('show')).toBe(1);
  });

  it('is empty for a query of stop words, and bounded for a huge one', () => {
    expect(queryWords('the a of to')).toEqual([]);
    const many = Array.from({ length: 500 }, (_, i) => `word${i}`).join(' ');
    expect(queryWords(many).length).toBeLessThanOrEqual(32);
    expect(queryWords('x'.repeat(10_000_000)).length).toBeLessThanOrEqual(1);
  });
});
