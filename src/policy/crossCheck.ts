import { configWarning } from '../config/issues.js';
import { formatPath, type PathSegment } from '../config/jsonPath.js';
import { isLiteralPattern, patternProblem } from '../config/patternSyntax.js';
import { suggestionSuffix } from '../config/suggest.js';
import type { ConfigIssue, RulesConfig } from '../config/types.js';
import { compilePattern, type NameMatcher } from './pattern.js';

// Rules against the configured servers. Only warnings: the two files are edited and reloaded
// independently, and a rule written before its server is added is normal, not broken.

/** The bare `*` names every server by design, so it never warns (the reference agrees). */
const EVERYTHING = '*';

export function crossCheckRules(rules: RulesConfig, serverNames: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const configured = new Set(serverNames);

  const checkReference = (pattern: string, path: PathSegment[]): boolean => {
    if (pattern === EVERYTHING || patternProblem(pattern) !== undefined) return true;
    if (isLiteralPattern(pattern)) {
      if (configured.has(pattern)) return true;
      issues.push(configWarning(path, `references undefined server "${pattern}"${suggestionSuffix(pattern, serverNames)}`));
      return false;
    }
    const match = compilePattern(pattern);
    if (serverNames.some(match)) return true;
    issues.push(configWarning(path, `pattern "${pattern}" matches no configured server`));
    return false;
  };

  for (const [id, agent] of Object.entries(rules.agents)) {
    for (const sectionName of ['allow', 'deny'] as const) {
      const section = agent[sectionName];
      section.servers.forEach((pattern, i) => {
        checkReference(pattern, ['agents', id, sectionName, 'servers', i]);
      });
      for (const key of ['tools', 'resources', 'prompts'] as const) {
        for (const server of Object.keys(section[key] ?? {})) {
          const path: PathSegment[] = ['agents', id, sectionName, key, server];
          const defined = checkReference(server, path);
          if (sectionName !== 'allow' || !defined || !isLiteralPattern(server)) continue;
          const blocked = whyUnreachable(server, agent.allow.servers, agent.deny.servers, id);
          if (blocked !== undefined) {
            issues.push(configWarning(path, `has no effect: agent "${id}" can never reach server "${server}" (${blocked})`));
          }
        }
      }
    }
  }
  return issues;
}

/** Why `server` is closed to the agent whatever the tool, or undefined when it is reachable. */
function whyUnreachable(server: string, allowServers: readonly string[], denyServers: readonly string[], id: string): string | undefined {
  const denied = denyServers.findIndex((p) => matcher(p)(server));
  if (denied >= 0) return `it is denied by ${formatPath(['agents', id, 'deny', 'servers', denied])}`;
  if (!allowServers.some((p) => matcher(p)(server))) return 'no allow.servers entry matches it';
  return undefined;
}

function matcher(pattern: string): NameMatcher {
  return patternProblem(pattern) === undefined ? compilePattern(pattern) : () => false;
}
