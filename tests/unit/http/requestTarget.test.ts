// The request target's path and query read by hand must be what WHATWG URL reads, for every
// target the fast path takes; the others go through URL itself.
import { describe, expect, it } from 'vitest';
import { parseRequestTarget } from '../../../src/http/requestTarget.js';

function viaUrl(target: string): { pathname: string; query: [string, string][] } {
  const url = new URL(target, 'http://gateway.invalid');
  return { pathname: url.pathname, query: [...url.searchParams] };
}

describe('parseRequestTarget', () => {
  it.each([
    '/services/echo/call',
    '/health',
    '/',
    '/services?agent_id=researcher',
    '/services/echo/tools?agent_id=a%20b+c&x=%zz&y=%22q%22',
    '/services?q="quoted"&r=\'single\'&s=<>&t=',
    '/a//b',
    '/sessions/abc-1_2',
    // Through URL: dot segments, percent escapes, a doubled leading slash, a fragment, non-ASCII.
    '/services/../health',
    '/services/%2e%2e/health',
    '/sessions/a%2Fb',
    '//evil.example/health',
    '/health?x=1#frag',
    '/services/é?q=é',
    '/a/./b',
    '/a\\b',
  ])('%s reads as URL reads it', (target) => {
    const parsed = parseRequestTarget(target);
    expect(parsed).toBeDefined();
    expect({ pathname: parsed!.pathname, query: [...parsed!.query] }).toEqual(viaUrl(target));
  });

  it('builds the query only when it is read, once', () => {
    const parsed = parseRequestTarget('/services?agent_id=a')!;
    expect(parsed.query).toBe(parsed.query);
    expect(parsed.query.get('agent_id')).toBe('a');
  });
});
