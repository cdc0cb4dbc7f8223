import { compilePolicy } from '../policy/engine.js';
import type { CliIo } from './io.js';
import { loadConfigs } from './loadConfigs.js';

/** Answers "why was this denied": the decision for (agent, server[, tool, resource, prompt]) and the rule that made each. */
export function runExplain(
  io: CliIo,
  flags: { mcpConfig?: string; rules?: string; agent: string; server: string; tool?: string; resource?: string; prompt?: string },
): number {
  const configs = loadConfigs(io, flags);
  const policy = compilePolicy(configs.rules);
  const lines: string[] = [];
  if (!policy.hasAgent(flags.agent)) {
    lines.push(`agent '${flags.agent}' is not in the rules: every call naming it is refused (INVALID_AGENT_ID)`);
  }
  const server = policy.decideServer(flags.agent, flags.server);
  lines.push(`server ${flags.server}: ${server.allow ? 'ALLOW' : 'DENY'} (rule: ${server.rule})`);
  if (!configs.servers.servers.some((s) => s.name === flags.server)) {
    lines.push(`note: server '${flags.server}' is not configured in ${configs.paths.mcpConfig}`);
  }
  if (flags.tool !== undefined) {
    const tool = policy.decideTool(flags.agent, flags.server, flags.tool);
    lines.push(`tool ${flags.server}/${flags.tool}: ${tool.allow ? 'ALLOW' : 'DENY'} (rule: ${tool.rule})`);
  }
  if (flags.resource !== undefined) {
    const resource = policy.decideResource(flags.agent, flags.server, flags.resource);
    lines.push(`resource ${flags.server}/${flags.resource}: ${resource.allow ? 'ALLOW' : 'DENY'} (rule: ${resource.rule})`);
  }
  if (flags.prompt !== undefined) {
    const prompt = policy.decidePrompt(flags.agent, flags.server, flags.prompt);
    lines.push(`prompt ${flags.server}/${flags.prompt}: ${prompt.allow ? 'ALLOW' : 'DENY'} (rule: ${prompt.rule})`);
  }
  io.out(lines.join('\n') + '\n');
  return 0;
}
