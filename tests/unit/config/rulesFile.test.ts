import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import type { ConfigIssue } from '../../../src/config/types.js';

function lines(issues: readonly ConfigIssue[]): string[] {
  return issues.map((i) => `${i.severity} ${i.path}: ${i.message}`);
}

/** Rules with one agent "a". */
function agent(entry: unknown) {
  return { agents: { a: entry } };
}

// Reference §D, rules R0.
const R0 = {
  agents: {
    researcher: { allow: { servers: ['search', 'db'], tools: { db: ['query'] } } },
    backend: {
      allow: { servers: ['db'], tools: { db: ['query', 'list_*', 'delete_user'] } },
      deny: { tools: { db: ['drop_*', 'delete_*'] } },
    },
    admin: { allow: { servers: ['*'] }, deny: { servers: ['api'], tools: { db: ['drop_table'] } } },
    default: { deny: { servers: ['*'] } },
  },
  defaults: { deny_on_missing_agent: true },
};

const EMPTY_SECTION = { servers: [], tools: {} };

describe('parseRulesConfig: valid files', () => {
  it('normalizes R0, filling in absent sections, in file order', () => {
    const result = parseRulesConfig(R0);
    expect(result.issues).toEqual([]);
    const config = result.config!;
    expect(Object.keys(config.agents)).toEqual(['researcher', 'backend', 'admin', 'default']);
    expect(config.agents['researcher']).toEqual({
      allow: { servers: ['search', 'db'], tools: { db: ['query'] } },
      deny: EMPTY_SECTION,
    });
    expect(config.agents['default']).toEqual({ allow: EMPTY_SECTION, deny: { servers: ['*'], tools: {} } });
    expect(config.defaults).toEqual({ deny_on_missing_agent: true });
    expect(config.credentials).toBeUndefined();
  });

  it.each([
    [{}, true],
    [{ defaults: {} }, true],
    [{ defaults: { deny_on_missing_agent: true } }, true],
    [{ defaults: { deny_on_missing_agent: false } }, false],
  ])('deny_on_missing_agent in %j is %s', (extra, expected) => {
    expect(parseRulesConfig({ ...agent({}), ...extra }).config?.defaults.deny_on_missing_agent).toBe(expected);
  });

  it.each([
    [{}, undefined],
    [{ defaults: { debug: true } }, true],
    [{ defaults: { debug: false } }, false],
  ])('defaults.debug in %j is %s (absent unless set)', (extra, expected) => {
    expect(parseRulesConfig({ ...agent({}), ...extra }).config?.defaults.debug).toBe(expected);
  });

  it('rejects a defaults.debug that is not a boolean', () => {
    expect(parseRulesConfig({ ...agent({}), defaults: { debug: 'yes' } }).issues.map((i) => `${i.severity} ${i.message}`)).toEqual([
      expect.stringContaining('must be a boolean'),
    ]);
  });

  it.each(['team.backend', 'team-backend_v2', 'A', '0', 'a.b.c'])('accepts agent id %j (reference D.1 #11)', (id) => {
    expect(parseRulesConfig({ agents: { [id]: {} } }).issues).toEqual([]);
  });

  it.each(['*', 'get_*', '*_query', 'get_*_all', 'get*x', '**', '*get*', 'db?', '[ab]*', 'tool{1}'])(
    'accepts the tool pattern %j (reference D.1 #12 rejects some; one glob language here)',
    (pattern) => {
      expect(parseRulesConfig(agent({ allow: { servers: ['db'], tools: { db: [pattern] } } })).issues).toEqual([]);
    },
  );

  it.each(['*', 'db-*', 'db?', 'db[12]', 'team.*'])('accepts the server pattern %j (reference D.1 #13 rejects db-*)', (pattern) => {
    expect(parseRulesConfig(agent({ allow: { servers: [pattern] }, deny: { servers: [pattern] } })).issues).toEqual([]);
  });

  it('accepts a $schema key', () => {
    expect(parseRulesConfig({ $schema: './x.json', ...R0 }).issues).toEqual([]);
  });

  it('returns frozen structures whose records inherit nothing', () => {
    const config = parseRulesConfig({ agents: { a: { allow: { tools: { db: ['x'] } } } } }).config!;
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.agents)).toBe(true);
    expect(Object.isFrozen(config.agents['a'])).toBe(true);
    expect(Object.isFrozen(config.agents['a']?.allow.tools)).toBe(true);
    expect(Object.isFrozen(config.agents['a']?.allow.tools['db'])).toBe(true);
    // A lookup by an attacker-chosen agent id must not find Object.prototype members.
    expect(config.agents['constructor']).toBeUndefined();
    expect(config.agents['toString']).toBeUndefined();
    expect(config.agents['a']?.allow.tools['hasOwnProperty']).toBeUndefined();
  });

  it('keeps an explicit empty allow.tools list, with a warning that it means no tools', () => {
    const result = parseRulesConfig(agent({ allow: { servers: ['db'], tools: { db: [] } } }));
    expect(result.config?.agents['a']?.allow.tools).toEqual({ db: [] });
    expect(lines(result.issues)).toEqual([
      'warning agents.a.allow.tools.db: empty list: agent "a" may use no tools of "db" (an absent entry would allow all of them); remove the entry to allow every tool, or deny the server to hide it',
    ]);
  });

  it('an empty deny.tools list is harmless and gives no warning', () => {
    expect(parseRulesConfig(agent({ deny: { tools: { db: [] } } })).issues).toEqual([]);
  });

  it.each([{}, { agents: {} }])('warns when %j defines no agents', (raw) => {
    const result = parseRulesConfig(raw);
    expect(result.config).toBeDefined();
    expect(lines(result.issues)).toEqual(['warning agents: no agents are defined, so the gateway will refuse every call']);
  });

  it('accepts credentials that map sha256 digests to defined agents', () => {
    const digest = 'ab'.repeat(32);
    const result = parseRulesConfig({ ...R0, credentials: { [digest]: 'backend' } });
    expect(result.issues).toEqual([]);
    expect(result.config?.credentials).toEqual({ [digest]: 'backend' });
  });
});

describe('parseRulesConfig: errors', () => {
  const digest = 'ab'.repeat(32);
  it.each<[string, unknown, string[]]>([
    ['array top level', [], ['error : Gateway rules configuration must be a JSON object, got an array']],
    ['string top level', 'x', ['error : Gateway rules configuration must be a JSON object, got a string']],
    ['agents an array', { agents: [] }, ['error agents: must be an object, got an array']],
    ['agent not an object', agent(true), ['error agents.a: agent "a" configuration must be an object, got true']],
    ['allow not an object', agent({ allow: [] }), ['error agents.a.allow: must be an object, got an array']],
    ['servers not an array', agent({ allow: { servers: 'db' } }), ['error agents.a.allow.servers: must be an array, got a string']],
    ['servers element not a string', agent({ deny: { servers: ['db', 1] } }), ['error agents.a.deny.servers[1]: must be a string, got an integer']],
    ['tools not an object', agent({ allow: { tools: ['db'] } }), ['error agents.a.allow.tools: must be an object, got an array']],
    ['tools list not an array', agent({ allow: { tools: { db: 'query' } } }), ['error agents.a.allow.tools.db: must be an array, got a string']],
    ['tool not a string', agent({ deny: { tools: { db: ['x', null] } } }), ['error agents.a.deny.tools.db[1]: must be a string, got null']],
    // reference D.1 #11, with strict anchoring
    [
      'id with @',
      { agents: { 'agent@invalid': {} } },
      ['error agents["agent@invalid"]: Agent ID "agent@invalid" contains invalid characters. Only letters, digits, underscore, dot, and hyphen are allowed'],
    ],
    ['empty id', { agents: { '': {} } }, ['error agents[""]: Agent ID must be a non-empty string, got \'\'']],
    [
      'id with a trailing newline',
      { agents: { 'agent\n': {} } },
      ['error agents["agent\\n"]: Agent ID "agent\\n" contains invalid characters. Only letters, digits, underscore, dot, and hyphen are allowed'],
    ],
    ['id over 256 characters', { agents: { ['a'.repeat(257)]: {} } }, [`error agents.${'a'.repeat(257)}: Agent ID is 257 characters long; at most 256 are allowed`]],
    [
      'id with a space',
      { agents: { 'a b': {} } },
      ['error agents["a b"]: Agent ID "a b" contains invalid characters. Only letters, digits, underscore, dot, and hyphen are allowed'],
    ],
    // reference D.1 #14
    [
      'deny_on_missing_agent "true"',
      { ...agent({}), defaults: { deny_on_missing_agent: 'true' } },
      ['error defaults.deny_on_missing_agent: must be a boolean (true or false), got a string'],
    ],
    [
      'deny_on_missing_agent 0',
      { ...agent({}), defaults: { deny_on_missing_agent: 0 } },
      ['error defaults.deny_on_missing_agent: must be a boolean (true or false), got an integer'],
    ],
    [
      'deny_on_missing_agent null',
      { ...agent({}), defaults: { deny_on_missing_agent: null } },
      ['error defaults.deny_on_missing_agent: must be a boolean (true or false), got null'],
    ],
    ['defaults not an object', { ...agent({}), defaults: true }, ['error defaults: must be an object, got true']],
    // patterns that can never match
    [
      'server pattern with /',
      agent({ allow: { servers: ['a/b'] } }),
      ['error agents.a.allow.servers[0]: pattern "a/b" contains "/"; a pattern cannot (match a "/" in a tool name with ? or *)'],
    ],
    [
      'server pattern with a space',
      agent({ deny: { servers: ['my db'] } }),
      ['error agents.a.deny.servers[0]: pattern "my db" contains whitespace, which no name can contain'],
    ],
    ['empty server pattern', agent({ allow: { servers: [''] } }), ['error agents.a.allow.servers[0]: pattern is empty']],
    ['unclosed [ in a server pattern', agent({ allow: { servers: ['db['] } }), ['error agents.a.allow.servers[0]: pattern "db[" has an unclosed "["']],
    [
      'literal that no server name can be',
      agent({ allow: { servers: ['db@x'] } }),
      ['error agents.a.allow.servers[0]: "db@x" can never match a server: server names are 1 to 64 letters, digits, "_", "-" or "."'],
    ],
    [
      'tool pattern with an unclosed [',
      agent({ deny: { tools: { db: ['ok', 'drop_[a'] } } }),
      ['error agents.a.deny.tools.db[1]: pattern "drop_[a" has an unclosed "["'],
    ],
    [
      'tool pattern with a newline',
      agent({ allow: { tools: { db: ['query\n'] } } }),
      ['error agents.a.allow.tools.db[0]: pattern "query\n" contains whitespace, which no name can contain'],
    ],
    ['empty tool pattern', agent({ allow: { tools: { db: [''] } } }), ['error agents.a.allow.tools.db[0]: pattern is empty']],
    // tools keys are exact server names
    [
      'tools key "*"',
      agent({ deny: { tools: { '*': ['drop_*'] } } }),
      [
        'error agents.a.deny.tools["*"]: tools keys are exact server names, not patterns: "*" can never apply, because server names cannot contain "*", "?" or "["; list the tools under each server\'s own name',
      ],
    ],
    [
      'tools key not a server name',
      agent({ allow: { tools: { 'my db': ['x'] } } }),
      ['error agents.a.allow.tools["my db"]: "my db" is not a valid server name (1 to 64 letters, digits, "_", "-" or "."), so this entry can never apply'],
    ],
    // unknown keys, with suggestions
    ['alow', agent({ alow: { servers: ['db'] } }), ['error agents.a.alow: unknown key "alow" (did you mean "allow"?)']],
    ['dney', agent({ dney: {} }), ['error agents.a.dney: unknown key "dney" (did you mean "deny"?)']],
    ['server (singular)', agent({ allow: { server: ['db'] } }), ['error agents.a.allow.server: unknown key "server" (did you mean "servers"?)']],
    ['tool (singular)', agent({ deny: { tool: {} } }), ['error agents.a.deny.tool: unknown key "tool" (did you mean "tools"?)']],
    // resources and prompts: the same per-server shape as tools; resource patterns are URI globs
    ['resource (singular)', agent({ allow: { resource: {} } }), ['error agents.a.allow.resource: unknown key "resource" (did you mean "resources"?)']],
    [
      'resources key "*"',
      agent({ deny: { resources: { '*': ['x'] } } }),
      [
        'error agents.a.deny.resources["*"]: resources keys are exact server names, not patterns: "*" can never apply, because server names cannot contain "*", "?" or "["; list the resources under each server\'s own name',
      ],
    ],
    [
      'resource pattern with whitespace',
      agent({ allow: { resources: { fs: ['file:///my doc'] } } }),
      ['error agents.a.allow.resources.fs[0]: pattern "file:///my doc" contains whitespace, which no URI can contain'],
    ],
    [
      'resource pattern with an unclosed [',
      agent({ deny: { resources: { fs: ['file:///[a'] } } }),
      ['error agents.a.deny.resources.fs[0]: pattern "file:///[a" has an unclosed "["'],
    ],
    ['resources not a record', agent({ allow: { resources: ['x'] } }), ['error agents.a.allow.resources: must be an object, got an array']],
    [
      'prompt pattern with "/"',
      agent({ deny: { prompts: { db: ['a/b'] } } }),
      ['error agents.a.deny.prompts.db[0]: pattern "a/b" contains "/"; a pattern cannot (match a "/" in a tool name with ? or *)'],
    ],
    [
      'prompts key not a server name',
      agent({ allow: { prompts: { 'my db': ['x'] } } }),
      ['error agents.a.allow.prompts["my db"]: "my db" is not a valid server name (1 to 64 letters, digits, "_", "-" or "."), so this entry can never apply'],
    ],
    [
      'empty prompts list under allow',
      agent({ allow: { prompts: { db: [] } } }),
      [
        'warning agents.a.allow.prompts.db: empty list: agent "a" may use no prompts of "db" (an absent entry would allow all of them); remove the entry to allow every prompt, or deny the server to hide it',
      ],
    ],
    [
      'deny_on_missing_agnet',
      { ...agent({}), defaults: { deny_on_missing_agnet: true } },
      ['error defaults.deny_on_missing_agnet: unknown key "deny_on_missing_agnet" (did you mean "deny_on_missing_agent"?)'],
    ],
    [
      'agent (singular) at the top',
      { agent: {} },
      ['error agent: unknown key "agent" (did you mean "agents"?)', 'warning agents: no agents are defined, so the gateway will refuse every call'],
    ],
    ['default (singular) at the top', { ...agent({}), default: {} }, ['error default: unknown key "default" (did you mean "defaults"?)']],
    // credentials
    ['credentials not an object', { ...agent({}), credentials: [] }, ['error credentials: must be an object, got an array']],
    [
      'credential key not hex',
      { ...agent({}), credentials: { secret: 'a' } },
      ['error credentials.secret: key must be the SHA-256 of a credential as 64 lowercase hexadecimal characters (0-9, a-f)'],
    ],
    [
      'credential key upper case',
      { ...agent({}), credentials: { ['AB'.repeat(32)]: 'a' } },
      [`error credentials.${'AB'.repeat(32)}: key must be the SHA-256 of a credential as 64 lowercase hexadecimal characters (0-9, a-f)`],
    ],
    [
      'credential key too short',
      { ...agent({}), credentials: { ['ab'.repeat(31)]: 'a' } },
      [`error credentials.${'ab'.repeat(31)}: key must be the SHA-256 of a credential as 64 lowercase hexadecimal characters (0-9, a-f)`],
    ],
    [
      'credential for an unknown agent',
      { agents: { backend: {} }, credentials: { [digest]: 'backnd' } },
      [`error credentials.${digest}: names agent "backnd", which is not defined in "agents" (did you mean "backend"?)`],
    ],
    ['credential value not a string', { ...agent({}), credentials: { [digest]: 1 } }, [`error credentials.${digest}: must be a string, got an integer`]],
  ])('%s', (_name, raw, expected) => {
    const result = parseRulesConfig(raw);
    expect(lines(result.issues)).toEqual(expected);
    if (expected.some((line) => line.startsWith('error'))) expect(result.config).toBeUndefined();
  });

  it('keeps resources and prompts rules, URI patterns with "/" included', () => {
    const result = parseRulesConfig(
      agent({ allow: { servers: ['fs'], resources: { fs: ['file:///docs/*'] }, prompts: { fs: ['summarize'] } }, deny: { resources: { fs: ['*secret*'] } } }),
    );
    expect(result.issues).toEqual([]);
    expect(result.config?.agents['a']).toEqual({
      allow: { servers: ['fs'], tools: {}, resources: { fs: ['file:///docs/*'] }, prompts: { fs: ['summarize'] } },
      deny: { servers: [], tools: {}, resources: { fs: ['*secret*'] } },
    });
  });

  it('reports every error of a broken file at once, in file order, each at its own path', () => {
    const result = parseRulesConfig({
      agents: {
        backend: {
          alow: { servers: ['db'] },
          deny: { tools: { postgres: ['ok', 'bad/pattern'] }, servers: 'db' },
        },
        'bad id!': {},
        fine: { allow: { servers: ['*'] } },
      },
      defaults: { deny_on_missing_agnet: true, deny_on_missing_agent: 'yes' },
      extra: 1,
    });
    expect(result.config).toBeUndefined();
    expect(result.issues.map((i) => i.path)).toEqual([
      'agents.backend.deny.servers',
      'agents.backend.alow',
      'agents.backend.deny.tools.postgres[1]',
      'agents["bad id!"]',
      'defaults.deny_on_missing_agent',
      'defaults.deny_on_missing_agnet',
      'extra',
    ]);
  });
});
