import { formatPath } from '../config/jsonPath.js';
import type { AgentRules, AnnotationHint, AnnotationRule } from '../config/types.js';
import { RuleList, type PatternCompiler } from './ruleList.js';
import type { NameMatcher } from './pattern.js';
import type { AnnotationPolicy, ToolDefinition } from './types.js';

// Rules on what a tool says of itself (MCP ToolAnnotations): `deny.annotations` hides and
// refuses tools, `approve` (by name or annotations) makes their calls wait for a human.
// Annotations are the server's claims, decided on as listed; pinning is what keeps them stable.

export type EffectiveHints = Readonly<Record<AnnotationHint, boolean>>;

// The specification's defaults: a tool that says nothing may change, destroy and reach anything.
const DEFAULTS: EffectiveHints = Object.freeze({ readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true });
const READ_ONLY: EffectiveHints = Object.freeze({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true });
const READ_ONLY_CLOSED: EffectiveHints = Object.freeze({ ...READ_ONLY, openWorldHint: false });

/**
 * The hints a tool is decided by. A value that is not a boolean (a hostile server's `"false"`,
 * `0`, an object) counts as missing, so it takes the default. `destructiveHint` and
 * `idempotentHint` mean something only for a tool that is not read-only: a read-only tool
 * has no effect to destroy or repeat, so it is effectively not destructive and idempotent.
 */
export function effectiveHints(annotations: unknown): EffectiveHints {
  if (annotations === null || typeof annotations !== 'object' || Array.isArray(annotations)) return DEFAULTS;
  const stated = (hint: AnnotationHint): boolean | undefined => {
    const value: unknown = Object.hasOwn(annotations, hint) ? (annotations as Record<string, unknown>)[hint] : undefined;
    return typeof value === 'boolean' ? value : undefined;
  };
  const openWorld = stated('openWorldHint') ?? true;
  if (stated('readOnlyHint') === true) return openWorld ? READ_ONLY : READ_ONLY_CLOSED;
  return {
    readOnlyHint: false,
    destructiveHint: stated('destructiveHint') ?? true,
    idempotentHint: stated('idempotentHint') ?? false,
    openWorldHint: openWorld,
  };
}

interface CompiledEntry {
  readonly hints: readonly (readonly [AnnotationHint, boolean])[];
  readonly servers: NameMatcher | undefined;
  readonly tools: NameMatcher | undefined;
  readonly rule: string;
}

/** One list of annotation rules, compiled; entry i decides with rule `${path}[i]`. */
class AnnotationRuleList {
  readonly #entries: readonly CompiledEntry[];

  constructor(rules: readonly AnnotationRule[], path: string, compile: PatternCompiler) {
    this.#entries = rules.map((rule, i) => {
      const rulePath = `${path}[${i}]`;
      return {
        hints: Object.entries(rule.hints) as [AnnotationHint, boolean][],
        servers: rule.servers && anyOf(rule.servers, `${rulePath}.servers`, compile),
        tools: rule.tools && anyOf(rule.tools, `${rulePath}.tools`, compile),
        rule: rulePath,
      };
    });
  }

  /** The rule path of the first entry matching the tool, in file order. */
  first(server: string, tool: ToolDefinition): string | undefined {
    let hints: EffectiveHints | undefined;
    for (const entry of this.#entries) {
      if (entry.servers !== undefined && !entry.servers(server)) continue;
      if (entry.tools !== undefined && !entry.tools(tool.name)) continue;
      hints ??= effectiveHints(tool.annotations);
      if (entry.hints.every(([hint, value]) => hints![hint] === value)) return entry.rule;
    }
    return undefined;
  }
}

function anyOf(patterns: readonly string[], path: string, compile: PatternCompiler): NameMatcher {
  const list = new RuleList(patterns, path, true, compile);
  return (name) => list.first(name) !== undefined;
}

/** Undefined when the agent has no such rules, so callers skip the whole check. */
export function compileAnnotationPolicy(id: string, rules: AgentRules, compile: PatternCompiler): AnnotationPolicy | undefined {
  const denies = rules.denyAnnotations ?? [];
  const approve = rules.approve;
  const approveTools = Object.entries(approve?.tools ?? {}).filter(([, list]) => list.length > 0);
  if (denies.length === 0 && approveTools.length === 0 && (approve?.annotations.length ?? 0) === 0) return undefined;
  const deny = new AnnotationRuleList(denies, formatPath(['agents', id, 'deny', 'annotations']), compile);
  const byName = new Map(approveTools.map(([server, list]) => [server, new RuleList(list, formatPath(['agents', id, 'approve', 'tools', server]), true, compile)]));
  const byAnnotations = new AnnotationRuleList(approve?.annotations ?? [], formatPath(['agents', id, 'approve', 'annotations']), compile);
  return Object.freeze({
    hasDenies: denies.length > 0,
    denied: (server: string, tool: ToolDefinition) => deny.first(server, tool),
    approval: (server: string, tool: ToolDefinition) => byName.get(server)?.first(tool.name)?.rule ?? byAnnotations.first(server, tool),
  });
}
