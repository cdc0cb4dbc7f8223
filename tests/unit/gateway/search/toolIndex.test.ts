import type { Tool } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clip, ToolIndex } from '../../../../src/gateway/search/toolIndex.js';

function tool(name: string, description?: string, extra: Partial<Tool> = {}): Tool {
  return { name, ...(description !== undefined ? { description } : {}), inputSchema: { type: 'object', properties: {} }, ...extra };
}

const ALL = { limit: 20, allow: () => true } as const;
const names = (index: ToolIndex, query: string, options: Parameters<ToolIndex['search']>[1] = ALL) =>
  index.search(query, options).map((h) => `${h.server}/${h.tool}`);

function sample(): ToolIndex {
  const index = new ToolIndex();
  index.update('github', 'GitHub: repositories, issues and pull requests', [
    tool('create_issue', 'Create a new issue in a repository', {
      inputSchema: { type: 'object', properties: { title: { type: 'string', description: 'Issue title' }, body: { type: 'string' } } },
    }),
    tool('list_issues', 'List the issues of a repository'),
    tool('create_pull_request', 'Open a pull request'),
    tool('search_code', 'Search code across repositories'),
  ]);
  index.update('files', undefined, [
    tool('read_file', 'Read a file from disk'),
    tool('delete_file', 'Remove a file'),
    tool('list_directory', 'List the entries of a folder'),
  ]);
  index.update('browser', 'A web browser', [
    tool('browser_navigate', 'Go to a URL', { title: 'Navigate' }),
    tool('browser_take_screenshot', 'Take a screenshot of the page'),
    tool('browser_click', 'Click an element'),
    tool('browserPressKey', 'Press a key on the keyboard'),
  ]);
  return index;
}

describe('ToolIndex', () => {
  it('counts what it indexes, and replaces or removes a server as a whole', () => {
    const index = sample();
    expect(index.size).toBe(11);
    expect(index.has('files')).toBe(true);
    index.update('files', undefined, [tool('stat_file', 'File metadata')]);
    expect(index.size).toBe(9);
    expect(names(index, 'read a file')).not.toContain('files/read_file');
    expect(names(index, 'file metadata')[0]).toBe('files/stat_file');
    index.remove('files');
    index.remove('files');
    expect(index.has('files')).toBe(false);
    expect(index.size).toBe(8);
    expect(names(index, 'file')).toEqual([]);
  });

  it('ranks by what the agent wants, through stems and synonyms', () => {
    const index = sample();
    expect(names(index, 'open a ticket')[0]).toBe('github/create_issue');
    expect(names(index, 'show me the issues')[0]).toBe('github/list_issues');
    expect(names(index, 'make a PR')[0]).toBe('github/create_pull_request');
    expect(names(index, 'erase a document')[0]).toBe('files/delete_file');
    expect(names(index, 'capture the screen')[0]).toBe('browser/browser_take_screenshot');
    expect(names(index, 'browse to a website')[0]).toBe('browser/browser_navigate');
    expect(names(index, 'tap on the element')[0]).toBe('browser/browser_click');
    expect(names(index, 'contents of a directory')[0]).toBe('files/list_directory');
    expect(names(index, 'list_directory')[0]).toBe('files/list_directory');
    expect(names(index, 'browserPressKey')[0]).toBe('browser/browserPressKey');
    expect(names(index, 'press a key')[0]).toBe('browser/browserPressKey');
  });

  it('searches parameter names and descriptions, and the server name and description', () => {
    const index = sample();
    expect(names(index, 'issue title body')[0]).toBe('github/create_issue');
    expect(new Set(names(index, 'github').map((n) => n.split('/')[0]))).toEqual(new Set(['github']));
  });

  it('returns at most limit hits, best first, and only from the servers asked', () => {
    const index = sample();
    const hits = index.search('list issues file', { limit: 2, allow: () => true });
    expect(hits).toHaveLength(2);
    expect(hits[0]!.score).toBeGreaterThanOrEqual(hits[1]!.score);
    expect(names(index, 'list', { ...ALL, servers: (s) => s === 'files' }).every((n) => n.startsWith('files/'))).toBe(true);
    expect(index.search('list', { limit: 0, allow: () => true })).toEqual([]);
    expect(index.search('', ALL)).toEqual([]);
    expect(index.search('the of a', ALL)).toEqual([]);
  });

  it('answers title when the tool has one (or an annotations title)', () => {
    const index = new ToolIndex();
    index.update('s', undefined, [tool('a', 'alpha', { title: 'Alpha' }), tool('b', 'beta', { annotations: { title: 'Beta' } }), tool('c', 'gamma')]);
    expect(index.search('alpha', ALL)[0]).toEqual({ server: 's', tool: 'a', title: 'Alpha', description: 'alpha', score: expect.any(Number) });
    expect(index.search('beta', ALL)[0]?.title).toBe('Beta');
    expect(index.search('gamma', ALL)[0]).not.toHaveProperty('title');
  });

  it('clips descriptions so that five hits stay under 500 tokens', () => {
    const index = new ToolIndex();
    const long = 'Manage the widget in the workspace. '.repeat(100);
    index.update(
      'a-server-with-a-long-name',
      undefined,
      Array.from({ length: 5 }, (_, i) => tool(`widget_operation_number_${i}_with_long_name`, long, { title: 'Widget operation with a long title '.repeat(3) })),
    );
    const results = index.search('widget', { limit: 5, allow: () => true });
    expect(results).toHaveLength(5);
    const answer = { results, total_indexed: 500, servers_not_indexed: Array.from({ length: 10 }, (_, i) => `server-number-${i}`) };
    expect(JSON.stringify(answer).length / 4).toBeLessThan(500);
    expect(results[0]!.description.endsWith('…')).toBe(true);
  });

  it('bounds what it reads of hostile lists: huge descriptions, deep and wide schemas', () => {
    const index = new ToolIndex();
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 10_000; i++) deep = { type: 'object', properties: { nested: deep } };
    const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`p${i}`, { type: 'string', description: 'x'.repeat(100) }]));
    index.update('hostile', 'd'.repeat(1_000_000), [
      tool('huge', 'word '.repeat(1_000_000)),
      tool('deep', 'deep', { inputSchema: deep as Tool['inputSchema'] }),
      tool('wide', 'wide', { inputSchema: { type: 'object', properties: wide } }),
    ]);
    expect(index.size).toBe(3);
    expect(index.search('word', ALL)[0]!.description.length).toBeLessThanOrEqual(180);
  });

  it('never returns a hit the policy refuses, whatever the query (property)', () => {
    const words = ['create', 'delete', 'list', 'issue', 'file', 'page', 'user', 'run', 'query', 'open', 'get', 'update'];
    const word = fc.constantFrom(...words);
    const toolArb = fc.record({
      name: fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join('_')),
      description: fc.array(word, { maxLength: 6 }).map((w) => w.join(' ')),
    });
    const serverArb = fc.record({ name: fc.constantFrom('a', 'b', 'c'), tools: fc.array(toolArb, { maxLength: 8 }) });
    fc.assert(
      fc.property(
        fc.array(serverArb, { maxLength: 3 }),
        fc.func(fc.boolean()),
        fc.array(fc.oneof(word, fc.string({ maxLength: 12 })), { maxLength: 6 }),
        fc.integer({ min: 1, max: 20 }),
        (servers, denied, queryWords, limit) => {
          const index = new ToolIndex();
          for (const server of servers)
            index.update(
              server.name,
              undefined,
              server.tools.map((t) => tool(t.name, t.description)),
            );
          const allow = (server: string, name: string) => !denied(server, name);
          const hits = index.search(queryWords.join(' '), { limit, allow });
          expect(hits.length).toBeLessThanOrEqual(limit);
          for (const hit of hits) expect(allow(hit.server, hit.tool)).toBe(true);
          for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('clip', () => {
  it('keeps short text, flattens white space, and cuts long text at a word with an ellipsis', () => {
    expect(clip('short  text\n here', 50)).toBe('short text here');
    const clipped = clip('one two three four five six seven eight nine ten', 20);
    expect(clipped.length).toBeLessThanOrEqual(20);
    expect(clipped).toBe('one two three four…');
  });
});
