import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import { compilePolicy } from '../../../src/policy/engine.js';

// Resources and prompts follow the tool rows: server rules first, then deny, allow, implicit.
const rules = parseRulesConfig({
  agents: {
    reader: {
      allow: { servers: ['fs', 'docs'], resources: { fs: ['file:///public/*', 'file:///readme.md'] }, prompts: { fs: ['summarize'] } },
      deny: { resources: { fs: ['*secret*'] }, prompts: { docs: ['admin_*'] } },
    },
    none: { allow: { servers: ['fs'], resources: { fs: [] }, prompts: { fs: [] } } },
    outsider: { allow: { servers: ['docs'] } },
  },
}).config!;
const policy = compilePolicy(rules);

describe('decideResource / decidePrompt', () => {
  it.each([
    ['reader', 'fs', 'file:///public/a/b.txt', true, 'agents.reader.allow.resources.fs[0]'],
    ['reader', 'fs', 'file:///readme.md', true, 'agents.reader.allow.resources.fs[1]'],
    ['reader', 'fs', 'file:///public/secret.txt', false, 'agents.reader.deny.resources.fs[0]'],
    ['reader', 'fs', 'file:///private/x', false, 'agents.reader.allow.resources.fs'],
    ['reader', 'fs', 'file:///public/{name}', true, 'agents.reader.allow.resources.fs[0]'],
    ['reader', 'docs', 'docs://anything', true, 'implicit'],
    ['none', 'fs', 'file:///readme.md', false, 'agents.none.allow.resources.fs'],
    ['outsider', 'fs', 'file:///readme.md', false, 'agents.outsider.allow.servers'],
    ['ghost', 'fs', 'file:///readme.md', false, 'defaults.deny_on_missing_agent'],
  ])('resource: %s %s %s -> %s (%s)', (agent, server, uri, allow, rule) => {
    expect(policy.decideResource(agent, server, uri)).toEqual({ allow, rule });
  });

  it.each([
    ['reader', 'fs', 'summarize', true, 'agents.reader.allow.prompts.fs[0]'],
    ['reader', 'fs', 'other', false, 'agents.reader.allow.prompts.fs'],
    ['reader', 'docs', 'admin_reset', false, 'agents.reader.deny.prompts.docs[0]'],
    ['reader', 'docs', 'hello', true, 'implicit'],
    ['none', 'fs', 'summarize', false, 'agents.none.allow.prompts.fs'],
    ['outsider', 'fs', 'summarize', false, 'agents.outsider.allow.servers'],
  ])('prompt: %s %s %s -> %s (%s)', (agent, server, prompt, allow, rule) => {
    expect(policy.decidePrompt(agent, server, prompt)).toEqual({ allow, rule });
  });

  it('tool rules do not leak into resources or prompts', () => {
    const p = compilePolicy(parseRulesConfig({ agents: { a: { allow: { servers: ['s'], tools: { s: [] } } } } }).config!);
    expect(p.decideTool('a', 's', 'x').allow).toBe(false);
    expect(p.decideResource('a', 's', 'x://y').allow).toBe(true);
    expect(p.decidePrompt('a', 's', 'x').allow).toBe(true);
  });
});
