import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../../src/policy/engine.js';
import type { RulesConfig } from '../../../src/config/types.js';
import { CONFIGURED, R0, R0_AGENTS, agent, rules, type AgentInput } from './fixtures.js';

// Each row: the rules of one agent `a` (or R0), the question, and the expected answer with the
// rule that decided it. `tool: null` asks decideServer.
interface Row {
  name: string;
  rules: RulesConfig;
  agent: string;
  server: string;
  tool: string | null;
  allow: boolean;
  rule: string;
}

function one(a: AgentInput, denyOnMissingAgent = true): RulesConfig {
  return rules({ a }, denyOnMissingAgent);
}

function rowsFor(
  name: string,
  config: RulesConfig,
  agentId: string,
  cases: ReadonlyArray<readonly [server: string, tool: string | null, allow: boolean, rule: string]>,
): Row[] {
  return cases.map(([server, tool, allow, rule]) => ({
    name: `${name}: ${agentId} ${server}${tool === null ? '' : `.${tool}`}`,
    rules: config,
    agent: agentId,
    server,
    tool,
    allow,
    rule,
  }));
}

const DEF = 'defaults.deny_on_missing_agent';

// Reference §D.2, numbered as there; [QUIRK] rows are inverted as the issue asks.
const D2: Row[] = [
  ...rowsFor('17 wildcard deny beats explicit allow', R0, 'backend', [
    ['db', null, true, 'agents.backend.allow.servers[0]'],
    ['db', 'query', true, 'agents.backend.allow.tools.db[0]'],
    ['db', 'list_tables', true, 'agents.backend.allow.tools.db[1]'],
    ['db', 'drop_table', false, 'agents.backend.deny.tools.db[0]'],
    ['db', 'delete_user', false, 'agents.backend.deny.tools.db[1]'],
    ['db', 'get_user', false, 'agents.backend.allow.tools.db'],
    ['search', 'web_search', false, 'agents.backend.allow.servers'],
  ]),
  ...rowsFor('18 explicit deny beats wildcard allow', one({ allow: { servers: ['db'], tools: { db: ['*'] } }, deny: { tools: { db: ['drop_table'] } } }), 'a', [
    ['db', 'drop_table', false, 'agents.a.deny.tools.db[0]'],
    ['db', 'query', true, 'agents.a.allow.tools.db[0]'],
  ]),
  ...rowsFor('19 implicit grant', one({ allow: { servers: ['db'] } }), 'a', [
    ['db', null, true, 'agents.a.allow.servers[0]'],
    ['db', 'any_tool', true, 'implicit'],
    ['db', 'query', true, 'implicit'],
    ['db', 'drop_table', true, 'implicit'],
  ]),
  ...rowsFor('20 implicit grant filtered by deny', one({ allow: { servers: ['db'] }, deny: { tools: { db: ['drop_*', 'delete_*'] } } }), 'a', [
    ['db', 'query', true, 'implicit'],
    ['db', 'insert', true, 'implicit'],
    ['db', 'drop_table', false, 'agents.a.deny.tools.db[0]'],
    ['db', 'drop_database', false, 'agents.a.deny.tools.db[0]'],
    ['db', 'delete_user', false, 'agents.a.deny.tools.db[1]'],
  ]),
  ...rowsFor('21 mixed across servers', one({ allow: { servers: ['db', 'api', 'fs'], tools: { db: ['query'], fs: ['read_*'] } } }), 'a', [
    ['db', 'insert', false, 'agents.a.allow.tools.db'],
    ['db', 'query', true, 'agents.a.allow.tools.db[0]'],
    ['api', 'delete_data', true, 'implicit'],
    ['fs', 'read_file', true, 'agents.a.allow.tools.fs[0]'],
    ['fs', 'write_file', false, 'agents.a.allow.tools.fs'],
  ]),
  ...rowsFor('22 server deny beats wildcard allow', R0, 'admin', [
    ['api', null, false, 'agents.admin.deny.servers[0]'],
    ['api', 'anything', false, 'agents.admin.deny.servers[0]'],
    ['db', null, true, 'agents.admin.allow.servers[0]'],
    ['db', 'drop_table', false, 'agents.admin.deny.tools.db[0]'],
    ['db', 'query', true, 'implicit'],
    ['search', 'web_search', true, 'implicit'],
  ]),
  ...rowsFor('23 deny.servers * beats any allow', one({ allow: { servers: ['db', '*'] }, deny: { servers: ['*'] } }), 'a', [
    ['db', null, false, 'agents.a.deny.servers[0]'],
    ['db', 'query', false, 'agents.a.deny.servers[0]'],
  ]),
  ...rowsFor('23 R0 default denies everything', R0, 'default', [
    ['db', null, false, 'agents.default.deny.servers[0]'],
    ['search', 'web_search', false, 'agents.default.deny.servers[0]'],
    ['api', 'x', false, 'agents.default.deny.servers[0]'],
  ]),
  ...rowsFor('24 deny-only agent', one({ deny: { servers: ['production'] } }), 'a', [
    ['dev', null, false, 'agents.a.allow.servers'],
    ['production', null, false, 'agents.a.deny.servers[0]'],
    ['dev', 'x', false, 'agents.a.allow.servers'],
  ]),
  ...rowsFor('25 tool rules without server access', one({ allow: { servers: ['api'], tools: { postgres: ['*'] } } }), 'a', [
    ['postgres', 'query', false, 'agents.a.allow.servers'],
  ]),
  ...rowsFor('26 case sensitivity', one({ allow: { servers: ['API'], tools: { API: ['GetData'] } } }), 'a', [
    ['API', null, true, 'agents.a.allow.servers[0]'],
    ['api', null, false, 'agents.a.allow.servers'],
    ['API', 'GetData', true, 'agents.a.allow.tools.API[0]'],
    ['API', 'getdata', false, 'agents.a.allow.tools.API'],
  ]),
  ...rowsFor('27 suffix wildcard', one({ allow: { servers: ['db'], tools: { db: ['*_query'] } } }), 'a', [
    ['db', 'read_query', true, 'agents.a.allow.tools.db[0]'],
    ['db', 'complex_search_query', true, 'agents.a.allow.tools.db[0]'],
    ['db', 'query', false, 'agents.a.allow.tools.db'],
    ['db', 'query_builder', false, 'agents.a.allow.tools.db'],
  ]),
  ...rowsFor('28 unknown agent, strict', R0, 'nobody', [
    ['db', null, false, DEF],
    ['db', 'query', false, DEF],
  ]),
  // [QUIRK] inverted (C.1-1): a permissive default never lets an unknown id through.
  ...rowsFor('29 unknown agent, permissive default', rules(R0_AGENTS, false), 'nobody', [
    ['db', null, false, DEF],
    ['db', 'query', false, DEF],
    ['search', 'web_search', false, DEF],
  ]),
  // [QUIRK] inverted (C.1-4): an explicit empty list means no tools.
  ...rowsFor('30 empty allow.tools list', one({ allow: { servers: ['db'], tools: { db: [] } } }), 'a', [
    ['db', null, true, 'agents.a.allow.servers[0]'],
    ['db', 'anything', false, 'agents.a.allow.tools.db'],
  ]),
  // [QUIRK] inverted (C.1-3): `?` is a glob everywhere.
  ...rowsFor('31 ? is a glob in tool rules', one({ allow: { servers: ['db'], tools: { db: ['get_?'] } } }), 'a', [
    ['db', 'get_1', true, 'agents.a.allow.tools.db[0]'],
    ['db', 'get_?', true, 'agents.a.allow.tools.db[0]'],
    ['db', 'get_12', false, 'agents.a.allow.tools.db'],
    ['db', 'get_', false, 'agents.a.allow.tools.db'],
  ]),
];

// The precedence table of the issue, and the corners of the pattern language.
const PRECEDENCE: Row[] = [
  ...rowsFor('exact server entry is checked before patterns', one({ allow: { servers: ['*'] }, deny: { servers: ['d*', 'db'] } }), 'a', [
    ['db', null, false, 'agents.a.deny.servers[1]'],
    ['dev', null, false, 'agents.a.deny.servers[0]'],
    ['api', null, true, 'agents.a.allow.servers[0]'],
  ]),
  ...rowsFor('patterns are tried in file order', one({ allow: { servers: ['[ad]*', 'd*', 'a?i'] } }), 'a', [
    ['db', null, true, 'agents.a.allow.servers[0]'],
    ['api', null, true, 'agents.a.allow.servers[0]'],
    ['fs', null, false, 'agents.a.allow.servers'],
  ]),
  ...rowsFor('a repeated entry is reported at its first position', one({ allow: { servers: ['db', 'fs', 'db'] } }), 'a', [
    ['db', null, true, 'agents.a.allow.servers[0]'],
  ]),
  ...rowsFor('exact tool entry before pattern', one({ allow: { servers: ['db'], tools: { db: ['*', 'query'] } } }), 'a', [
    ['db', 'query', true, 'agents.a.allow.tools.db[1]'],
    ['db', 'other', true, 'agents.a.allow.tools.db[0]'],
  ]),
  ...rowsFor(
    'tool deny beats tool allow, whatever their kinds',
    one({ allow: { servers: ['db'], tools: { db: ['query', 'drop_*'] } }, deny: { tools: { db: ['*'] } } }),
    'a',
    [
      ['db', 'query', false, 'agents.a.deny.tools.db[0]'],
      ['db', 'drop_table', false, 'agents.a.deny.tools.db[0]'],
    ],
  ),
  ...rowsFor('server deny beats tool allow', one({ allow: { servers: ['db'], tools: { db: ['query'] } }, deny: { servers: ['db'] } }), 'a', [
    ['db', 'query', false, 'agents.a.deny.servers[0]'],
  ]),
  ...rowsFor('an empty deny.tools list denies nothing', one({ allow: { servers: ['db'] }, deny: { tools: { db: [] } } }), 'a', [['db', 'query', true, 'implicit']]),
  ...rowsFor(
    'a tools key "*" is a literal server name, not a wildcard',
    one({ allow: { servers: ['*'], tools: { '*': ['query'] } }, deny: { tools: { '*': ['drop_table'] } } }),
    'a',
    [
      ['db', 'drop_table', true, 'implicit'],
      ['db', 'anything', true, 'implicit'],
      ['*', 'query', true, 'agents.a.allow.tools["*"][0]'],
      ['*', 'drop_table', false, 'agents.a.deny.tools["*"][0]'],
      ['*', 'other', false, 'agents.a.allow.tools["*"]'],
    ],
  ),
  ...rowsFor('? and [...] in server rules', one({ allow: { servers: ['db?'] }, deny: { servers: ['db[2-3]'] } }), 'a', [
    ['db1', null, true, 'agents.a.allow.servers[0]'],
    ['db2', null, false, 'agents.a.deny.servers[0]'],
    ['db', null, false, 'agents.a.allow.servers'],
    ['db10', null, false, 'agents.a.allow.servers'],
  ]),
  ...rowsFor('* matches names starting with a dot', one({ allow: { servers: ['*'], tools: { db: ['*'] } } }), 'a', [
    ['.hidden', null, true, 'agents.a.allow.servers[0]'],
    ['db', '.internal', true, 'agents.a.allow.tools.db[0]'],
  ]),
  ...rowsFor('braces and ! are not special', one({ allow: { servers: ['db'], tools: { db: ['tool{1,2}', '!x'] } } }), 'a', [
    ['db', 'tool{1,2}', true, 'agents.a.allow.tools.db[0]'],
    ['db', 'tool1', false, 'agents.a.allow.tools.db'],
    ['db', '!x', true, 'agents.a.allow.tools.db[1]'],
    ['db', 'y', false, 'agents.a.allow.tools.db'],
  ]),
  ...rowsFor(
    'ids with dots are bracketed, as config messages write them',
    rules({ 'team.backend': { allow: { servers: ['db.main'], tools: { 'db.main': ['q'] } } } }),
    'team.backend',
    [
      ['db.main', null, true, 'agents["team.backend"].allow.servers[0]'],
      ['db.main', 'q', true, 'agents["team.backend"].allow.tools["db.main"][0]'],
      ['db.main', 'r', false, 'agents["team.backend"].allow.tools["db.main"]'],
    ],
  ),
];

function ask(row: Row) {
  const policy = compilePolicy(row.rules);
  return row.tool === null ? policy.decideServer(row.agent, row.server) : policy.decideTool(row.agent, row.server, row.tool);
}

describe('policy engine: reference §D.2 worked examples', () => {
  it.each(D2)('$name', (row) => {
    expect(ask(row)).toEqual({ allow: row.allow, rule: row.rule });
  });
});

describe('policy engine: precedence and patterns', () => {
  it.each(PRECEDENCE)('$name', (row) => {
    expect(ask(row)).toEqual({ allow: row.allow, rule: row.rule });
  });
});

describe('policy engine: agents', () => {
  it('lists agent ids in file order and answers hasAgent', () => {
    const policy = compilePolicy(R0);
    expect(policy.agentIds).toEqual(['researcher', 'backend', 'admin', 'default']);
    expect(policy.hasAgent('backend')).toBe(true);
    expect(policy.hasAgent('nobody')).toBe(false);
    expect(policy.hasAgent('')).toBe(false);
  });

  it('exposes deny_on_missing_agent', () => {
    expect(compilePolicy(R0).denyOnMissingAgent).toBe(true);
    expect(compilePolicy(rules(R0_AGENTS, false)).denyOnMissingAgent).toBe(false);
  });

  it('does not find agents on the object prototype', () => {
    const policy = compilePolicy(rules(R0_AGENTS, false));
    for (const id of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(policy.hasAgent(id)).toBe(false);
      expect(policy.decideServer(id, 'db')).toEqual({ allow: false, rule: DEF });
      expect(policy.decideTool(id, 'db', 'query')).toEqual({ allow: false, rule: DEF });
    }
  });

  it('serves agents whose ids are prototype names when they are configured', () => {
    const policy = compilePolicy(rules({ constructor: { allow: { servers: ['db'] } } }));
    expect(policy.agentIds).toEqual(['constructor']);
    expect(policy.decideTool('constructor', 'db', 'query')).toEqual({ allow: true, rule: 'implicit' });
  });

  it('does not find tools records on the object prototype', () => {
    const tools = JSON.parse('{"__proto__": ["only"]}') as Record<string, string[]>;
    const policy = compilePolicy(one({ allow: { servers: ['*'], tools } }));
    expect(policy.decideTool('a', '__proto__', 'only')).toEqual({ allow: true, rule: 'agents.a.allow.tools.__proto__[0]' });
    expect(policy.decideTool('a', '__proto__', 'other')).toEqual({ allow: false, rule: 'agents.a.allow.tools.__proto__' });
    expect(policy.decideTool('a', 'toString', 'x')).toEqual({ allow: true, rule: 'implicit' });
    expect(policy.decideTool('a', 'constructor', 'x')).toEqual({ allow: true, rule: 'implicit' });
  });

  it('an agent with no rules at all may use nothing', () => {
    const policy = compilePolicy(rules({ a: {} }));
    expect(policy.decideServer('a', 'db')).toEqual({ allow: false, rule: 'agents.a.allow.servers' });
    expect(policy.visibleServers('a', CONFIGURED)).toEqual([]);
  });
});

describe('policy engine: visibleServers (reference §D.4)', () => {
  const cases: ReadonlyArray<readonly [name: string, config: RulesConfig, agent: string, expected: string[]]> = [
    ['41 researcher sees its allowed servers, in configured order', R0, 'researcher', ['db', 'search']],
    ['43 allow * with no denies lists every server', one({ allow: { servers: ['*'] } }), 'a', ['db', 'search', 'api']],
    ['44 a rule for an unconfigured server lists only configured ones', one({ allow: { servers: ['db', 'ghost'] } }), 'a', ['db']],
    ['45 an explicit deny removes a server', one({ allow: { servers: ['db', 'search'] }, deny: { servers: ['search'] } }), 'a', ['db']],
    // [QUIRK] inverted (C.1-2): a server denied under allow `*` is not listed.
    ['46 admin under R0 does not see the denied api', R0, 'admin', ['db', 'search']],
    ['47 unknown agent with a permissive default sees nothing', rules(R0_AGENTS, false), 'nobody', []],
    ['R0 default sees nothing', R0, 'default', []],
    ['server patterns list the servers they match', one({ allow: { servers: ['[ad]*'] } }), 'a', ['db', 'api']],
  ];

  it.each(cases)('%s', (_name, config, agentId, expected) => {
    expect(compilePolicy(config).visibleServers(agentId, CONFIGURED)).toEqual(expected);
  });

  it('keeps configured order and drops duplicates', () => {
    const policy = compilePolicy(one({ allow: { servers: ['*'] }, deny: { servers: ['fs'] } }));
    expect(policy.visibleServers('a', ['search', 'db', 'fs', 'search', 'db'])).toEqual(['search', 'db']);
  });

  it('lists exactly the servers decideServer allows', () => {
    const policy = compilePolicy(R0);
    for (const id of [...policy.agentIds, 'nobody']) {
      expect(policy.visibleServers(id, CONFIGURED)).toEqual(CONFIGURED.filter((s) => policy.decideServer(id, s).allow));
    }
  });
});

describe('policy engine: compilation', () => {
  it('decisions are frozen and reused', () => {
    const policy = compilePolicy(R0);
    const first = policy.decideTool('backend', 'db', 'drop_table');
    expect(Object.isFrozen(first)).toBe(true);
    expect(policy.decideTool('backend', 'db', 'drop_column')).toBe(first);
    expect(policy.decideTool('nobody', 'db', 'x')).toBe(policy.decideServer('other', 'api'));
  });

  it('the policy object is frozen and its methods work detached', () => {
    const policy = compilePolicy(R0);
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.agentIds)).toBe(true);
    const { decideTool, visibleServers, hasAgent } = policy;
    expect(decideTool('researcher', 'db', 'query').allow).toBe(true);
    expect(visibleServers('researcher', CONFIGURED)).toEqual(['db', 'search']);
    expect(hasAgent('admin')).toBe(true);
  });

  it('32 a recompiled policy answers for the new rules; the old one is unchanged', () => {
    const before = compilePolicy(one({ allow: { servers: ['server1'] } }));
    const after = compilePolicy(rules({ agent1: { deny: { servers: ['server1'] } } }));
    expect(after.decideServer('agent1', 'server1')).toEqual({ allow: false, rule: 'agents.agent1.deny.servers[0]' });
    expect(before.decideServer('a', 'server1').allow).toBe(true);
  });

  it('does not depend on later mutation of the rules it was compiled from', () => {
    const servers = ['db'];
    const config = rules({ a: { allow: { servers } } });
    const policy = compilePolicy(config);
    servers.push('api');
    expect(policy.decideServer('a', 'api').allow).toBe(false);
  });

  it.each([
    ['a/b', 'agents.a.allow.servers[1]'],
    ['', 'agents.a.allow.servers[1]'],
    ['db[', 'agents.a.allow.servers[1]'],
    ['has space', 'agents.a.allow.servers[1]'],
  ])('refuses the never-matching pattern %j, naming %s', (pattern, path) => {
    expect(() => compilePolicy(one({ allow: { servers: ['db', pattern] } }))).toThrow(path);
  });

  it('refuses never-matching tool patterns with their path', () => {
    expect(() => compilePolicy(one({ allow: { servers: ['db'] }, deny: { tools: { db: ['ok', 'x/y'] } } }))).toThrow('agents.a.deny.tools.db[1]');
  });
});

describe('policy engine: speed', () => {
  // Speed is the benchmark's business (npm run bench, policy rows); this checks that a rule
  // set of that size compiles and decides correctly, the worst case included.
  it('compiles 1,000 agents x 100 patterns and decides each correctly, the worst case included', () => {
    const agents: Record<string, AgentInput> = {};
    for (let i = 0; i < 1000; i++) {
      const globs = (prefix: string, n: number) => Array.from({ length: n }, (_, k) => `${prefix}_${i}_${k}_*`);
      agents[`agent-${i}`] = {
        allow: { servers: [...globs('srv', 19), `srv-${i}`], tools: { [`srv-${i}`]: globs('tool', 40) } },
        deny: { servers: globs('bad', 10), tools: { [`srv-${i}`]: globs('drop', 30) } },
      };
    }
    const policy = compilePolicy(rules(agents));
    for (let i = 0; i < 1000; i += 37) {
      // Every pattern of the agent is tried and none matches.
      expect(policy.decideTool(`agent-${i}`, `srv-${i}`, 'unmatched_tool')).toEqual({ allow: false, rule: `agents.agent-${i}.allow.tools.srv-${i}` });
      expect(policy.decideTool(`agent-${i}`, `srv-${i}`, `drop_${i}_29_x`)).toEqual({ allow: false, rule: `agents.agent-${i}.deny.tools.srv-${i}[29]` });
      expect(policy.decideTool(`agent-${i}`, `srv-${i}`, `tool_${i}_39_x`)).toEqual({ allow: true, rule: `agents.agent-${i}.allow.tools.srv-${i}[39]` });
      expect(policy.decideServer(`agent-${i}`, `bad_${i}_9_x`)).toEqual({ allow: false, rule: `agents.agent-${i}.deny.servers[9]` });
      // Another agent's patterns never leak.
      expect(policy.decideTool(`agent-${(i + 1) % 1000}`, `srv-${i}`, `tool_${i}_0_x`).allow).toBe(false);
    }
  });
});

// Keeps the helper honest: the engine sees exactly the IR the loader will produce.
it('fixtures build the normalized IR', () => {
  expect(agent({ allow: { servers: ['db'] } })).toEqual({
    allow: { servers: ['db'], tools: {} },
    deny: { servers: [], tools: {} },
  });
});
