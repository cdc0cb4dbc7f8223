import { describe, expect, it } from 'vitest';
import { crossCheckRules } from '../../../src/policy/crossCheck.js';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import type { RulesConfig } from '../../../src/config/types.js';
import { R0_AGENTS } from './fixtures.js';

const SERVERS = ['db', 'search', 'api'];

function rules(agents: Record<string, unknown>): RulesConfig {
  const result = parseRulesConfig({ agents });
  if (result.config === undefined) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

function check(agents: Record<string, unknown>, servers: readonly string[] = SERVERS): string[] {
  return crossCheckRules(rules(agents), servers).map((i) => `${i.severity} ${i.path}: ${i.message}`);
}

describe('crossCheckRules', () => {
  it('is silent for the reference rules R0 against the reference servers', () => {
    expect(check(R0_AGENTS)).toEqual([]);
  });

  it('warns about undefined servers, never errs (reference D.1 #15)', () => {
    expect(check({ x: { allow: { servers: ['db', 'nonexistent'] }, deny: { tools: { ghost: ['x'] } } } })).toEqual([
      'warning agents.x.allow.servers[1]: references undefined server "nonexistent"',
      'warning agents.x.deny.tools.ghost: references undefined server "ghost"',
    ]);
  });

  it('suggests a configured server for a near miss', () => {
    expect(check({ x: { allow: { servers: ['serach'] } } })).toEqual([
      'warning agents.x.allow.servers[0]: references undefined server "serach" (did you mean "search"?)',
    ]);
  });

  it('never warns about the bare "*", even with no servers configured', () => {
    expect(check({ x: { allow: { servers: ['*'] }, deny: { servers: ['*'] } } }, [])).toEqual([]);
  });

  it('warns about a glob that matches no configured server, not about one that matches', () => {
    expect(check({ x: { allow: { servers: ['db*', 'git-*', 's?arch'] }, deny: { servers: ['[xyz]*'] } } })).toEqual([
      'warning agents.x.allow.servers[1]: pattern "git-*" matches no configured server',
      'warning agents.x.deny.servers[0]: pattern "[xyz]*" matches no configured server',
    ]);
  });

  it('warns when an allow.tools entry names a server the agent can never reach', () => {
    expect(
      check({
        notAllowed: { allow: { servers: ['search'], tools: { db: ['query'] } } },
        denied: { allow: { servers: ['*'], tools: { api: ['get'] } }, deny: { servers: ['a*'] } },
        viaGlob: { allow: { servers: ['d?'], tools: { db: ['query'] } } },
      }),
    ).toEqual([
      'warning agents.notAllowed.allow.tools.db: has no effect: agent "notAllowed" can never reach server "db" (no allow.servers entry matches it)',
      'warning agents.denied.allow.tools.api: has no effect: agent "denied" can never reach server "api" (it is denied by agents.denied.deny.servers[0])',
    ]);
  });

  it('does not flag deny.tools for an unreachable server (a redundant deny is harmless)', () => {
    expect(check({ x: { allow: { servers: ['search'] }, deny: { tools: { db: ['drop_table'] } } } })).toEqual([]);
  });

  it('reports an undefined tools key once, not also as unreachable', () => {
    expect(check({ x: { allow: { tools: { ghost: ['x'] } } } })).toEqual(['warning agents.x.allow.tools.ghost: references undefined server "ghost"']);
  });

  it('checks resources and prompts keys as it checks tools keys', () => {
    expect(
      check({
        x: { allow: { servers: ['search'], resources: { db: ['file:///*'], ghost: ['a'] }, prompts: { api: ['p'] } } },
      }),
    ).toEqual([
      'warning agents.x.allow.resources.db: has no effect: agent "x" can never reach server "db" (no allow.servers entry matches it)',
      'warning agents.x.allow.resources.ghost: references undefined server "ghost"',
      'warning agents.x.allow.prompts.api: has no effect: agent "x" can never reach server "api" (no allow.servers entry matches it)',
    ]);
  });

  it('writes dotted agent ids in brackets', () => {
    expect(check({ 'team.backend': { allow: { servers: ['nope'] } } })).toEqual([
      'warning agents["team.backend"].allow.servers[0]: references undefined server "nope"',
    ]);
  });
});
