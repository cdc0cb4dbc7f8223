import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { compilePattern } from '../policy/pattern.js';

// What get_server_tools shows of a downstream tool: every field a model can use, nothing
// else (no _meta, icons or execution hints, which cost tokens and mean nothing to it).
const MODEL_FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

export function toolForModel(tool: Tool): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of MODEL_FIELDS) {
    const value = (tool as Record<string, unknown>)[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** Token estimate of one tool as returned: ceil(length of its compact JSON / 4). */
export function estimateTokens(tool: Record<string, unknown>): number {
  return Math.ceil(JSON.stringify(tool).length / 4);
}

export interface ToolSelection {
  readonly names?: readonly string[];
  readonly pattern?: string;
  readonly maxTokens?: number;
  readonly allowed: (tool: string) => boolean;
}

export interface SelectedTools {
  readonly tools: Record<string, unknown>[];
  readonly totalAvailable: number;
  readonly tokensUsed: number | null;
  readonly truncated: boolean;
}

/**
 * Filters in a fixed order: names, pattern, policy, budget. `totalAvailable` counts what
 * the agent may call before the names, pattern and budget filters, so it never leaks how
 * many tools are hidden from it. The budget skips a tool that does not fit and goes on,
 * so one large tool early in the list cannot hide every smaller one after it.
 */
export function selectTools(all: readonly Tool[], sel: ToolSelection): SelectedTools {
  const nameSet = sel.names ? new Set(sel.names) : undefined;
  const matches = sel.pattern !== undefined ? compilePattern(sel.pattern) : undefined;
  let totalAvailable = 0;
  let tokensUsed = 0;
  let truncated = false;
  const tools: Record<string, unknown>[] = [];
  for (const tool of all) {
    const allowed = sel.allowed(tool.name);
    if (allowed) totalAvailable++;
    if (nameSet && !nameSet.has(tool.name)) continue;
    if (matches && !matches(tool.name)) continue;
    if (!allowed) continue;
    const view = toolForModel(tool);
    if (sel.maxTokens !== undefined) {
      const cost = estimateTokens(view);
      if (tokensUsed + cost > sel.maxTokens) {
        truncated = true;
        continue;
      }
      tokensUsed += cost;
    }
    tools.push(view);
  }
  return { tools, totalAvailable, tokensUsed: sel.maxTokens === undefined ? null : tokensUsed, truncated };
}
