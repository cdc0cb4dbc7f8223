import { describe, expect, it } from 'vitest';
import { compoundParts } from '../../../../src/gateway/search/compounds.js';
import { nearTerms } from '../../../../src/gateway/search/nearTerms.js';
import { stem } from '../../../../src/gateway/search/stems.js';
import { queryWords, termsOf } from '../../../../src/gateway/search/tokens.js';
import { ToolIndex } from '../../../../src/gateway/search/toolIndex.js';

const weights = (query: string) => new Map(queryWords(query).flatMap((word) => word.alternatives.map(({ term, weight }) => [term, weight] as const)));

describe('compoundParts', () => {
  it('splits a term into two words of the vocabulary, the longest first part first', () => {
    expect(compoundParts('worklog', new Set(['work', 'log']))).toEqual(['work', 'log']);
    expect(compoundParts('changelog', new Set(['chang', 'log']))).toEqual(['chang', 'log']);
    expect(compoundParts('database', new Set(['data', 'base', 'dat', 'abas']))).toEqual(['data', 'base']);
  });

  it('leaves whole what the vocabulary does not say, short terms and non-words', () => {
    expect(compoundParts('worklog', new Set(['work']))).toEqual([]);
    expect(compoundParts('unstar', new Set(['un', 'star']))).toEqual([]);
    expect(compoundParts('oauth2', new Set(['oauth', '2']))).toEqual([]);
  });
});

describe('nearTerms', () => {
  it('finds the indexed terms that begin like the word, across a negating prefix', () => {
    expect(nearTerms('unsubscrib', ['subscript', 'subscrib', 'repositori'])).toEqual(['subscript', 'subscrib']);
    expect(nearTerms('monthli', ['month', 'mont'])).toEqual(['month']);
  });

  it('does not match words that only share a short beginning', () => {
    expect(nearTerms('architectur', ['archiv'])).toEqual([]);
    expect(nearTerms('expiri', ['expiresecond'])).toEqual([]);
    expect(nearTerms('abc', ['abcdef'])).toEqual([]);
  });
});

describe('stem', () => {
  it('keeps the -er of a noun in all its forms, where Porter would take it off', () => {
    expect(['customer', 'customers'].map(stem)).toEqual(['customer', 'customer']);
    expect(stem('custom')).toBe('custom');
    expect(['reviewer', 'reviewers'].map(stem)).toEqual(['reviewer', 'reviewer']);
    expect(['register', 'registers', 'registered', 'registering'].map(stem)).toEqual(['register', 'register', 'register', 'register']);
    // What Porter already reads alike stays so.
    expect(['user', 'users', 'filter', 'filtered', 'offering', 'offer'].map(stem)).toEqual(['user', 'user', 'filter', 'filter', 'offer', 'offer']);
  });
});

describe('query reading', () => {
  it('reads "log in" and "signed in" as one word, not as logs', () => {
    expect(termsOf('who am I logged in as', 1_000, 100)).toContain('login');
    expect(termsOf('Cannot sign in', 1_000, 100)).toEqual(['cannot', 'signin']);
    expect(weights('show the logs of the pod').has('whoami')).toBe(false);
  });

  it('weighs the words after "about" or "called" less, and a subject asks to search', () => {
    const about = weights('find pages about onboarding');
    expect(about.get('onboard')).toBe(0.5);
    expect(about.get('page')).toBe(1);
    expect(queryWords('list pages about onboarding').some((word) => word.alternatives.some(({ term }) => term === 'search'))).toBe(true);
    expect(weights('make a folder called build').get('build')).toBe(0.5);
    expect(queryWords('make a folder called build').some((word) => word.alternatives.some(({ term }) => term === 'lookup'))).toBe(false);
    expect(weights('review what is about to be committed').get('commit')).toBe(1);
  });
});

describe('ToolIndex with word forms', () => {
  it('finds a compound name by its parts and an unsaid word by its near form', () => {
    const index = new ToolIndex();
    index.update('tracker', undefined, [
      { name: 'add_worklog', description: 'Add a work log entry to an issue', inputSchema: { type: 'object' } },
      { name: 'get_issue', description: 'Get an issue', inputSchema: { type: 'object' } },
      { name: 'manage_subscription', description: 'Manage a notification subscription', inputSchema: { type: 'object' } },
    ]);
    const first = (query: string) => index.search(query, { limit: 1, allow: () => true })[0]?.tool;
    expect(first('log work on an issue')).toBe('add_worklog');
    expect(first('unsubscribe me')).toBe('manage_subscription');
  });
});
