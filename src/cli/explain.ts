import { compilePolicy } from '../policy/engine.js';
import { canonicalResourceUri } from '../config/resourceUri.js';
import type { Policy } from '../policy/types.js';
import { isPlainObject } from '../values.js';
import type { CliIo } from './io.js';
import { loadConfigs } from './loadConfigs.js';

/** Answers "why was this denied": the decision for (agent, server[, tool, resource, prompt]) and the rule that made each. */
export function runExplain(
  io: CliIo,
  flags: { mcpConfig?: string; rules?: string; agent: string; server: string; tool?: string; resource?: string; prompt?: string; args?: string },
): number {
  const args = flags.args === undefined ? undefined : parseArgsFlag(flags.args, flags.tool);
  if (typeof args === 'string') {
    io.err(`${args}\n`);
    return 1;
  }
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
    if (args !== undefined) lines.push(...explainArguments(policy, flags.agent, flags.server, flags.tool, args));
  }
  if (flags.resource !== undefined) lines.push(...explainResource(policy, flags.agent, flags.server, flags.resource));
  if (flags.prompt !== undefined) {
    const prompt = policy.decidePrompt(flags.agent, flags.server, flags.prompt);
    lines.push(`prompt ${flags.server}/${flags.prompt}: ${prompt.allow ? 'ALLOW' : 'DENY'} (rule: ${prompt.rule})`);
  }
  io.out(lines.join('\n') + '\n');
  return 0;
}

/** As the gateway decides a resource: in its canonical form, or refused when it has none. */
function explainResource(policy: Policy, agent: string, server: string, uri: string): string[] {
  const canonical = canonicalResourceUri(uri);
  if (!canonical.ok) return [`resource ${server}/${uri}: REFUSED (INVALID_ARGUMENT: the URI ${canonical.reason})`];
  const lines = canonical.uri === uri ? [] : [`resource ${server}/${uri}: decided and forwarded as ${canonical.uri}`];
  const resource = policy.decideResource(agent, server, canonical.uri);
  lines.push(`resource ${server}/${canonical.uri}: ${resource.allow ? 'ALLOW' : 'DENY'} (rule: ${resource.rule})`);
  return lines;
}

/** The `--args` JSON: an object, or why not (a message for stderr). */
function parseArgsFlag(text: string, tool: string | undefined): Record<string, unknown> | string {
  if (tool === undefined) return '--args needs --tool: argument rules are per tool';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return `--args is not valid JSON: ${(err as Error).message}`;
  }
  return isPlainObject(parsed) ? parsed : '--args must be a JSON object (the arguments of the tool call)';
}

/**
 * Every argument decision with its rule, as the gateway makes them, then the outcome. The
 * values shown are the operator's own, normalized as they would be forwarded.
 */
function explainArguments(policy: Policy, agent: string, server: string, tool: string, args: Record<string, unknown>): string[] {
  const verdict = policy.decideArguments(agent, server, tool, args, true);
  if (verdict === undefined) return [`arguments: ALLOW (no argument rule applies), forwarded as given`];
  const lines = verdict.decisions.map(
    (d) => `argument ${d.pointer}: ${d.allow ? 'ALLOW' : 'DENY'} (rule: ${d.rule}) ${d.reason}${d.value !== undefined ? ` (value: ${d.value})` : ''}`,
  );
  if (verdict.allow) lines.push(`arguments: ALLOW, forwarded as ${JSON.stringify(verdict.args)}`);
  else lines.push(`arguments: DENY (rule: ${verdict.refusal.rule}): argument ${verdict.refusal.pointer} ${verdict.refusal.reason}`);
  return lines;
}
