import type { ArgumentVerdict } from './argumentsVerdict.js';

// The policy's answers. Every decision names the rule that decided it, as a JSON path
// into the rules file (`agents.backend.deny.tools.db[0]`), or `defaults.deny_on_missing_agent`,
// or `implicit` (a server is allowed and has no `allow.tools` entry), or `invalid_uri` (a resource
// URI with no canonical form, see config/resourceUri.ts).

export interface Decision {
  readonly allow: boolean;
  readonly rule: string;
}

export interface Policy {
  /** Agent ids in file order. */
  readonly agentIds: readonly string[];
  readonly denyOnMissingAgent: boolean;
  hasAgent(agentId: string): boolean;
  decideServer(agentId: string, server: string): Decision;
  decideTool(agentId: string, server: string, tool: string): Decision;
  /**
   * As decideTool, under the `resources` rules: `uri` is a resource URI or a URI template, decided
   * in its canonical form (canonicalResourceUri); one without a canonical form is denied.
   */
  decideResource(agentId: string, server: string, uri: string): Decision;
  /** As decideTool, under the `prompts` rules. */
  decidePrompt(agentId: string, server: string, prompt: string): Decision;
  /**
   * The agent's argument rules on a call (policy/arguments.ts), for a tool decideTool allowed:
   * undefined when none applies (forward `args` as they are), else a refusal or the arguments to
   * forward. `explain` collects every decision with the normalized values.
   */
  decideArguments(agentId: string, server: string, tool: string, args: Record<string, unknown>, explain?: boolean): ArgumentVerdict | undefined;
  /** The servers of `configured` (kept in that order) this agent may use: exactly those whose decideServer allows. */
  visibleServers(agentId: string, configured: readonly string[]): string[];
  /** The agent's `deny.annotations` and `approve` rules, compiled; undefined when it has none (nothing to check). */
  annotationRules(agentId: string): AnnotationPolicy | undefined;
  /** decideServer and decideTool remembered for this policy's lifetime (bounded), for the call path. */
  readonly remembered: RememberedDecisions;
}

/** Server and tool decisions as the policy decides them, asked again at no cost. */
export interface RememberedDecisions {
  server(agentId: string, server: string): Decision;
  tool(agentId: string, server: string, tool: string): Decision;
}

export type IdentitySource = 'bound' | 'argument' | 'env_default' | 'default_agent' | 'sole';

export type IdentityErrorCode = 'MISSING_AGENT_ID' | 'INVALID_AGENT_ID' | 'AGENT_MISMATCH' | 'FALLBACK_AGENT_NOT_IN_RULES' | 'NO_FALLBACK_CONFIGURED';

export type IdentityResult =
  | { readonly ok: true; readonly agentId: string; readonly source: IdentitySource }
  | { readonly ok: false; readonly code: IdentityErrorCode; readonly message: string; readonly rule?: string };

/** What the policy reads of a downstream tool: its name and whatever it sent as annotations. */
export interface ToolDefinition {
  readonly name: string;
  readonly annotations?: unknown;
}

/** An agent's `deny.annotations` and `approve` rules (policy/annotations.ts). */
export interface AnnotationPolicy {
  /** The `deny.annotations` rule that refuses the tool; undefined: none does. */
  denied(server: string, tool: ToolDefinition): string | undefined;
  /** The `approve` rule a call of the tool falls under (by name first, then annotations); undefined: no approval needed. */
  approval(server: string, tool: ToolDefinition): string | undefined;
  readonly hasDenies: boolean;
}
