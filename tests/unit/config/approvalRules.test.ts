import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import type { ConfigIssue } from '../../../src/config/types.js';

function lines(issues: readonly ConfigIssue[]): string[] {
  return issues.map((i) => `${i.severity} ${i.path}: ${i.message}`);
}

function agent(entry: unknown) {
  return { agents: { dev: entry } };
}

describe('deny.annotations and approve: valid rules', () => {
  it('builds the IR of the contract example', () => {
    const result = parseRulesConfig(
      agent({
        allow: { servers: ['filesystem', 'github'] },
        deny: { tools: { github: ['delete_*'] }, annotations: [{ destructiveHint: true, servers: ['github'] }] },
        approve: { tools: { github: ['merge_*'] }, annotations: [{ openWorldHint: true }] },
      }),
    );
    expect(result.issues).toEqual([]);
    const dev = result.config!.agents['dev']!;
    expect(dev.denyAnnotations).toEqual([{ hints: { destructiveHint: true }, servers: ['github'] }]);
    expect(dev.approve).toEqual({ tools: { github: ['merge_*'] }, annotations: [{ hints: { openWorldHint: true } }] });
    expect(Object.isFrozen(dev.approve)).toBe(true);
    // The name rules are untouched.
    expect(dev.deny.tools).toEqual({ github: ['delete_*'] });
  });

  it('leaves agents without such rules as they were', () => {
    const dev = parseRulesConfig(agent({ allow: { servers: ['a'] } })).config!.agents['dev']!;
    expect(dev).not.toHaveProperty('denyAnnotations');
    expect(dev).not.toHaveProperty('approve');
  });

  it('approve with only tools has no annotation rules', () => {
    const dev = parseRulesConfig(agent({ approve: { tools: { github: ['merge_*'] } } })).config!.agents['dev']!;
    expect(dev.approve).toEqual({ tools: { github: ['merge_*'] }, annotations: [] });
  });
});

describe('deny.annotations and approve: errors name the JSON path', () => {
  const cases: [string, unknown, string[]][] = [
    [
      'annotations under allow',
      { allow: { annotations: [{ readOnlyHint: true }] } },
      [
        'error agents.dev.allow.annotations: annotation rules cannot allow: annotations are claims of the server, so they may only narrow what the name rules allow; use "deny.annotations" to refuse tools by their annotations, or "approve.annotations" to ask a human first',
      ],
    ],
    [
      'an entry naming no hint',
      { deny: { annotations: [{ servers: ['github'] }] } },
      [
        'error agents.dev.deny.annotations[0]: names no hint, so it would match every tool; name at least one of readOnlyHint, destructiveHint, idempotentHint, openWorldHint',
      ],
    ],
    [
      'an empty entry under approve',
      { approve: { annotations: [{}] } },
      [
        'error agents.dev.approve.annotations[0]: names no hint, so it would match every tool; name at least one of readOnlyHint, destructiveHint, idempotentHint, openWorldHint',
      ],
    ],
    [
      'a hint that is not a boolean',
      { deny: { annotations: [{ destructiveHint: 'yes' }] } },
      ['error agents.dev.deny.annotations[0].destructiveHint: must be a boolean (true or false), got a string'],
    ],
    [
      'a misspelt hint',
      { deny: { annotations: [{ destructiveHnt: true, readOnlyHint: false }] } },
      ['error agents.dev.deny.annotations[0].destructiveHnt: unknown key "destructiveHnt" (did you mean "destructiveHint"?)'],
    ],
    ['annotations not a list', { deny: { annotations: { destructiveHint: true } } }, ['error agents.dev.deny.annotations: must be an array, got an object']],
    [
      'a bad server pattern',
      { deny: { annotations: [{ destructiveHint: true, servers: ['git hub'] }] } },
      ['error agents.dev.deny.annotations[0].servers[0]: pattern "git hub" contains whitespace, which no name can contain'],
    ],
    [
      'a literal that is no server name',
      { approve: { annotations: [{ openWorldHint: true, servers: ['a'.repeat(65)] }] } },
      [
        `error agents.dev.approve.annotations[0].servers[0]: "${'a'.repeat(65)}" can never match a server: server names are 1 to 64 letters, digits, "_", "-" or "."`,
      ],
    ],
    [
      'a bad tool pattern',
      { approve: { annotations: [{ openWorldHint: true, tools: ['a/b'] }] } },
      ['error agents.dev.approve.annotations[0].tools[0]: pattern "a/b" contains "/"; a pattern cannot (match a "/" in a tool name with ? or *)'],
    ],
    [
      'a pattern as approve.tools key',
      { approve: { tools: { 'git*': ['merge'] } } },
      [
        'error agents.dev.approve.tools["git*"]: tools keys are exact server names, not patterns: "git*" can never apply; list the tools under each server\'s own name',
      ],
    ],
    [
      'a bad approve.tools pattern',
      { approve: { tools: { github: ['merge_['] } } },
      ['error agents.dev.approve.tools.github[0]: pattern "merge_[" has an unclosed "["'],
    ],
    ['an unknown key under approve', { approve: { tool: {} } }, ['error agents.dev.approve.tool: unknown key "tool" (did you mean "tools"?)']],
  ];
  it.each(cases)('%s', (_name, entry, expected) => {
    const result = parseRulesConfig(agent(entry));
    expect(lines(result.issues)).toEqual(expected);
    expect(result.config).toBeUndefined();
  });

  it('warns of an entry that can never match', () => {
    const result = parseRulesConfig(agent({ deny: { annotations: [{ readOnlyHint: true, destructiveHint: true }] } }));
    expect(lines(result.issues)).toEqual([
      'warning agents.dev.deny.annotations[0]: can never match: a read-only tool is effectively not destructive and idempotent',
    ]);
    expect(result.config).toBeDefined();
  });
});
