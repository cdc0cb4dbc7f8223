import type { Tool } from '@modelcontextprotocol/server';
import { compilePattern } from '../policy/pattern.js';

// What get_server_tools shows of a downstream tool: every field a model can use, nothing
// else (no _meta, icons or execution hints, which cost tokens and mean nothing to it).
const MODEL_FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

function toolForModel(tool: Tool): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of MODEL_FIELDS) {
    const value = (tool as Record<string, unknown>)[field];
    if (value !== undefined) out[field] = value;
  }
  return out;
}

/** A tool as get_server_tools returns it, with its compact JSON and token estimate. */
export interface ToolView {
  /** Frozen (shallowly): shared by every answer that lists the tool. */
  readonly view: Readonly<Record<string, unknown>>;
  /** JSON.stringify(view). */
  readonly json: string;
  /** Token estimate of the tool as returned: ceil(json.length / 4). */
  readonly tokens: number;
}

// Per downstream Tool object. A cached tool list is frozen and replaced as a whole when
// the server's tools change, so an entry keyed by the Tool object can never go stale, and
// it goes away with the list: the Tool object is the owner, hence a WeakMap keyed by it.
const views = new WeakMap<Tool, ToolView>();

export function toolView(tool: Tool): ToolView {
  let entry = views.get(tool);
  if (!entry) {
    const view = Object.freeze(toolForModel(tool));
    const json = JSON.stringify(view);
    entry = Object.freeze({ view, json, tokens: Math.ceil(json.length / 4) });
    views.set(tool, entry);
  }
  return entry;
}

export interface ToolSelection {
  readonly names?: readonly string[];
  readonly pattern?: string;
  readonly maxTokens?: number;
  /** Whether the agent may call the tool at `index` of the list (named `tool`). */
  readonly allowed: (tool: string, index: number) => boolean;
}

export interface SelectedTools {
  readonly tools: Readonly<Record<string, unknown>>[];
  /** The compact JSON of each of `tools`, in the same order. */
  readonly json: readonly string[];
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
  const tools: Readonly<Record<string, unknown>>[] = [];
  const json: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const tool = all[i]!;
    const allowed = sel.allowed(tool.name, i);
    if (allowed) totalAvailable++;
    if (nameSet && !nameSet.has(tool.name)) continue;
    if (matches && !matches(tool.name)) continue;
    if (!allowed) continue;
    const entry = toolView(tool);
    if (sel.maxTokens !== undefined) {
      if (tokensUsed + entry.tokens > sel.maxTokens) {
        truncated = true;
        continue;
      }
      tokensUsed += entry.tokens;
    }
    tools.push(entry.view);
    json.push(entry.json);
  }
  return { tools, json, totalAvailable, tokensUsed: sel.maxTokens === undefined ? null : tokensUsed, truncated };
}
