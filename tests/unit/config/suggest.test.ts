import { describe, expect, it } from 'vitest';
import { formatPath } from '../../../src/config/jsonPath.js';
import { didYouMean, editDistance } from '../../../src/config/suggest.js';

describe('didYouMean', () => {
  it.each<[string, string[], string | undefined]>([
    ['comand', ['command', 'args', 'env'], 'command'],
    ['alow', ['allow', 'deny'], 'allow'],
    ['dney', ['allow', 'deny'], 'deny'],
    ['deny_on_missing_agnet', ['deny_on_missing_agent'], 'deny_on_missing_agent'],
    ['servers', ['$schema', 'mcpServers'], 'mcpServers'],
    ['Command', ['command'], 'command'],
    ['timeoutMs', ['timeout', 'timeout_ms'], 'timeout_ms'],
    ['htpp', ['stdio', 'http', 'sse'], 'http'],
    ['sandbox', ['command', 'args', 'env', 'cwd', 'url', 'headers'], undefined],
    ['resources', ['servers', 'tools'], undefined],
    ['x', [], undefined],
    ['allow', ['allow'], undefined],
  ])('%j among %j -> %j', (input, candidates, expected) => {
    expect(didYouMean(input, candidates)).toBe(expected);
  });

  it('prefers the closest candidate', () => {
    expect(didYouMean('tol', ['tools', 'tool', 'toolsets'])).toBe('tool');
    expect(didYouMean('tols', ['tool', 'tools', 'toolsets'])).toBe('tools');
  });
});

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['agnet', 'agent', 1],
    ['ab', 'ba', 1],
    ['same', 'same', 0],
  ])('%j vs %j = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('formatPath', () => {
  it.each<[(string | number)[], string]>([
    [[], ''],
    [['agents', 'backend', 'deny', 'tools', 'postgres', 1], 'agents.backend.deny.tools.postgres[1]'],
    [['mcpServers', 'my-server', 'env', 'API_KEY'], 'mcpServers.my-server.env.API_KEY'],
    [['agents', 'team.backend'], 'agents["team.backend"]'],
    [['agents', 'agent\n'], 'agents["agent\\n"]'],
    [['mcpServers', ''], 'mcpServers[""]'],
    [['$schema'], '$schema'],
  ])('%j -> %s', (segments, expected) => {
    expect(formatPath(segments)).toBe(expected);
  });
});
