import type { Policy, ToolDefinition } from './types.js';

/**
 * Whether the agent is shown (and may call) the tool: its name rules allow it and no
 * `deny.annotations` rule refuses it. What an agent is shown is exactly what it may call.
 */
export function toolListed(policy: Policy, agentId: string, server: string, tool: ToolDefinition): boolean {
  if (!policy.decideTool(agentId, server, tool.name).allow) return false;
  const rules = policy.annotationRules(agentId);
  return rules === undefined || !rules.hasDenies || rules.denied(server, tool) === undefined;
}
