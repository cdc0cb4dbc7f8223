import { configWarning } from '../config/issues.js';
import { isLiteralPattern } from '../config/patternSyntax.js';
import { suggestionSuffix } from '../config/suggest.js';
import type { ConfigIssue, RulesConfig } from '../config/types.js';
import { compilePolicy } from './engine.js';

// Argument rules against the configured servers and the agent's own tool rules. Warnings only,
// as for the other cross-checks: the files are edited and reloaded independently.

export function crossCheckArgumentRules(rules: RulesConfig, serverNames: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const configured = new Set(serverNames);
  const policy = compilePolicy(rules);
  for (const [id, agent] of Object.entries(rules.agents)) {
    for (const [server, tools] of Object.entries(agent.arguments ?? {})) {
      const serverPath = ['agents', id, 'arguments', server];
      if (!configured.has(server)) {
        issues.push(configWarning(serverPath, `references undefined server "${server}"${suggestionSuffix(server, serverNames)}`));
        continue;
      }
      const reach = policy.decideServer(id, server);
      if (!reach.allow) {
        issues.push(configWarning(serverPath, `has no effect: agent "${id}" can never reach server "${server}" (rule: ${reach.rule})`));
        continue;
      }
      for (const tool of Object.keys(tools)) {
        if (!isLiteralPattern(tool)) continue;
        const decision = policy.decideTool(id, server, tool);
        if (!decision.allow) issues.push(configWarning([...serverPath, tool], `has no effect: agent "${id}" may not call tool "${tool}" (rule: ${decision.rule})`));
      }
    }
  }
  return issues;
}
