import * as z from 'zod';
import { frozenArray, frozenRecord } from './frozen.js';
import { configError, configWarning } from './issues.js';
import type { PathSegment } from './jsonPath.js';
import { isLiteralPattern, patternProblem } from './patternSyntax.js';
import { SERVER_NAME, SERVER_NAME_RULE } from './serversFile.js';
import type { AgentRules, AnnotationHint, AnnotationRule, ApproveRules, ConfigIssue } from './types.js';
import { isPlainObject } from '../values.js';

// `deny.annotations` and `approve` of an agent in `.mcp-gateway-rules.json`. The shapes are
// checked by the agent's schema (rulesFile.ts takes the keys below); what a schema cannot say
// (an entry naming no hint, patterns that can never match, `annotations` under `allow`) is
// checked here, and the IR built.

const ANNOTATION_HINTS: readonly AnnotationHint[] = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'];

const PatternList = z.array(z.string());

const AnnotationRuleSchema = z.strictObject({
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
  servers: PatternList.optional().describe('Server names or glob patterns the entry applies to (default: all).'),
  tools: PatternList.optional().describe('Tool names or glob patterns the entry applies to (default: all).'),
});

const AnnotationRules = z
  .array(AnnotationRuleSchema)
  .describe("Tools matched by their annotations: an entry matches when every hint it names equals the tool's effective hint (spec defaults for missing ones).");

/** Keys of the `deny` section beyond the name rules. */
export const DENY_SECTION_KEYS = { annotations: AnnotationRules.optional() };

/** `allow` takes no annotation rules, but the key is known so that the error can say what to write instead. */
export const ALLOW_SECTION_KEYS = {
  annotations: z.unknown().optional().describe('Not allowed: annotations only deny (deny.annotations) or ask for approval (approve.annotations).'),
};

/** Keys of an agent beyond `allow` and `deny`. */
export const APPROVE_AGENT_KEYS = {
  approve: z
    .strictObject({
      tools: z.record(z.string(), PatternList).optional().describe('Per server: tool names or glob patterns whose calls need a human approval.'),
      annotations: AnnotationRules.optional(),
    })
    .optional()
    .describe('Calls that wait for a human approval (elicitation) before they are forwarded.'),
};

/**
 * Checks an agent entry's annotation and approval rules, reporting under `base`
 * (`agents.<id>`). Shapes the schema already refused are skipped, not reported twice.
 */
export function checkApprovalRules(entry: Record<string, unknown>, base: readonly PathSegment[], issues: ConfigIssue[]): void {
  const allow = entry['allow'];
  if (isPlainObject(allow) && Object.hasOwn(allow, 'annotations')) {
    issues.push(
      configError(
        [...base, 'allow', 'annotations'],
        'annotation rules cannot allow: annotations are claims of the server, so they may only narrow what the name rules allow; ' +
          'use "deny.annotations" to refuse tools by their annotations, or "approve.annotations" to ask a human first',
      ),
    );
  }
  const deny = entry['deny'];
  if (isPlainObject(deny)) checkAnnotationRules(deny['annotations'], [...base, 'deny', 'annotations'], issues);
  const approve = entry['approve'];
  if (!isPlainObject(approve)) return;
  checkAnnotationRules(approve['annotations'], [...base, 'approve', 'annotations'], issues);
  const tools = approve['tools'];
  if (!isPlainObject(tools)) return;
  for (const [server, list] of Object.entries(tools)) {
    const path = [...base, 'approve', 'tools', server];
    if (!SERVER_NAME.test(server)) {
      const why = isLiteralPattern(server)
        ? `"${server}" is not a valid server name (${SERVER_NAME_RULE}), so this entry can never apply`
        : `tools keys are exact server names, not patterns: "${server}" can never apply; list the tools under each server's own name`;
      issues.push(configError(path, why));
    }
    checkPatterns(list, path, false, issues);
  }
}

function checkAnnotationRules(rules: unknown, path: readonly PathSegment[], issues: ConfigIssue[]): void {
  if (!Array.isArray(rules)) return;
  rules.forEach((rule: unknown, i) => {
    if (!isPlainObject(rule)) return;
    const at = [...path, i];
    const named = ANNOTATION_HINTS.filter((hint) => typeof rule[hint] === 'boolean');
    if (named.length === 0 && !ANNOTATION_HINTS.some((hint) => Object.hasOwn(rule, hint))) {
      issues.push(configError(at, `names no hint, so it would match every tool; name at least one of ${ANNOTATION_HINTS.join(', ')}`));
    }
    // A read-only tool is effectively neither destructive nor non-idempotent (policy/annotations.ts).
    if (rule['readOnlyHint'] === true && (rule['destructiveHint'] === true || rule['idempotentHint'] === false)) {
      issues.push(configWarning(at, 'can never match: a read-only tool is effectively not destructive and idempotent'));
    }
    checkPatterns(rule['servers'], [...at, 'servers'], true, issues);
    checkPatterns(rule['tools'], [...at, 'tools'], false, issues);
  });
}

function checkPatterns(list: unknown, path: readonly PathSegment[], servers: boolean, issues: ConfigIssue[]): void {
  if (!Array.isArray(list)) return;
  list.forEach((pattern: unknown, i) => {
    if (typeof pattern !== 'string') return;
    let problem = patternProblem(pattern);
    if (problem === undefined && servers && isLiteralPattern(pattern) && !SERVER_NAME.test(pattern)) {
      problem = `"${pattern}" can never match a server: server names are ${SERVER_NAME_RULE}`;
    }
    if (problem !== undefined) issues.push(configError([...path, i], problem));
  });
}

/** The agent's IR with its annotation and approval rules, from an entry checkApprovalRules found no error in. */
export function withApprovalRules(agent: AgentRules, entry: Record<string, unknown>): AgentRules {
  const deny = entry['deny'];
  const denyAnnotations = isPlainObject(deny) ? deny['annotations'] : undefined;
  const approve = entry['approve'];
  if (!Array.isArray(denyAnnotations) && !isPlainObject(approve)) return agent;
  return Object.freeze({
    ...agent,
    ...(Array.isArray(denyAnnotations) ? { denyAnnotations: buildRules(denyAnnotations) } : {}),
    ...(isPlainObject(approve) ? { approve: buildApprove(approve) } : {}),
  });
}

function buildApprove(approve: Record<string, unknown>): ApproveRules {
  const tools = isPlainObject(approve['tools']) ? (approve['tools'] as Record<string, string[]>) : {};
  const annotations = approve['annotations'];
  return Object.freeze({
    // Built by own keys from the raw entry, so a key "__proto__" stays a key (as rulesFile.ts does).
    tools: frozenRecord(Object.entries(tools).map(([server, list]) => [server, frozenArray(list)] as const)),
    annotations: Array.isArray(annotations) ? buildRules(annotations) : frozenArray([]),
  });
}

function buildRules(rules: readonly unknown[]): readonly AnnotationRule[] {
  return frozenArray(
    rules.map((raw) => {
      const rule = raw as Record<string, unknown>;
      const hints: Partial<Record<AnnotationHint, boolean>> = {};
      for (const hint of ANNOTATION_HINTS) if (typeof rule[hint] === 'boolean') hints[hint] = rule[hint];
      const servers = rule['servers'] as string[] | undefined;
      const tools = rule['tools'] as string[] | undefined;
      return Object.freeze({
        hints: Object.freeze(hints),
        ...(servers !== undefined ? { servers: frozenArray(servers) } : {}),
        ...(tools !== undefined ? { tools: frozenArray(tools) } : {}),
      });
    }),
  );
}
