// Argument rules against the configured servers and the agent's tool rules: warnings only.
import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import { crossCheckArgumentRules } from '../../../src/policy/argumentsCrossCheck.js';

describe('crossCheckArgumentRules', () => {
  it('warns about unknown servers (with a suggestion), unreachable servers and denied tools; patterns are left alone', () => {
    const rules = parseRulesConfig({
      agents: {
        dev: {
          allow: { servers: ['fs', 'db'] },
          deny: { tools: { fs: ['move_*'] } },
          arguments: {
            fss: { x: { '/a': { required: true } } },
            web: { x: { '/a': { required: true } } },
            fs: { move_file: { '/a': { required: true } }, 'move_*': { '/a': { required: true } }, read_file: { '/a': { required: true } } },
          },
        },
      },
    }).config!;
    expect(crossCheckArgumentRules(rules, ['fs', 'db', 'web']).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'agents.dev.arguments.fss: references undefined server "fss" (did you mean "fs"?)',
      'agents.dev.arguments.web: has no effect: agent "dev" can never reach server "web" (rule: agents.dev.allow.servers)',
      'agents.dev.arguments.fs.move_file: has no effect: agent "dev" may not call tool "move_file" (rule: agents.dev.deny.tools.fs[0])',
    ]);
  });
});
