// Rules on a tool's annotations, and a human's approval, on the path of a tool call
// (operations/executeTool.ts): `deny.annotations` refuses before anything is sent, and a call
// an `approve` rule names waits until the caller's user approves it through elicitation.
//
// Never fails open: only an explicit accept with an approving choice forwards the call. A
// caller that cannot be asked (REST, no elicitation capability) gets APPROVAL_UNAVAILABLE,
// and so does one whose client failed to answer (an error, or no answer in time): nobody
// decided, which is not the same as a human saying no (APPROVAL_DENIED).
//
// A 2025 caller is asked with an elicitation/create request on its own request's stream. A
// 2026-07-28 caller takes no requests: its call runs on the input bridge (inputBridge.ts), so
// asking parks the call and the caller gets an `input_required` result. The state it carries is
// the bridge's random token: single use, only for the same caller and tool, expiring; the retry
// resumes the parked call itself, with the arguments that were approved (a retry's own
// arguments are not used), so an answer can never approve another call.

import { ElicitResultSchema } from '@modelcontextprotocol/core';
import type { ElicitRequestFormParams, ElicitResult, Tool } from '@modelcontextprotocol/server';
import type { ApprovalAudit } from '../../audit/record.js';
import { GatewayError } from '../../errors.js';
import type { OperationContext, Snapshot } from '../context.js';
import { CLIENT_REQUEST_TIMEOUT_MS, callerCapabilities, type CallPeer, type UpstreamSession } from '../serverRequests.js';
import { isModernRequest } from './envelope.js';
import { approvalMessage } from './approvalMessage.js';

/** The choices of the approval form; only the first two forward the call. */
const APPROVE_ONCE = 'once';
const APPROVE_SESSION = 'session';
const DENY = 'deny';

const REQUESTED_SCHEMA: ElicitRequestFormParams['requestedSchema'] = {
  type: 'object',
  properties: {
    decision: {
      type: 'string',
      title: 'Decision',
      oneOf: [
        { const: APPROVE_ONCE, title: 'Approve once' },
        { const: APPROVE_SESSION, title: 'Approve for this session' },
        { const: DENY, title: 'Deny' },
      ],
      default: DENY,
    },
  },
  required: ['decision'],
};

// Tool lookups by name per cached tool list (frozen, replaced as a whole when it changes).
const byName = new WeakMap<readonly Tool[], ReadonlyMap<string, Tool>>();

function toolNamed(tools: readonly Tool[], name: string): Tool | undefined {
  let names = byName.get(tools);
  if (!names) {
    names = new Map(tools.map((t) => [t.name, t]));
    byName.set(tools, names);
  }
  return names.get(name);
}

/**
 * The agent's annotation rules on a tool it may call by name: refuses it when a
 * `deny.annotations` rule matches (DENIED_BY_POLICY, as a name rule would), else returns the
 * `approve` rule its call falls under (undefined: none). Nothing to do for an agent without such rules.
 */
export function checkAnnotations(ctx: OperationContext, server: string, tool: string, tools: readonly Tool[]): string | undefined {
  const rules = ctx.snapshot.policy.annotationRules(ctx.agentId);
  if (rules === undefined) return undefined;
  // Always found (the caller checked the tool exists); a tool the list lacks counts as one without annotations.
  const definition = toolNamed(tools, tool) ?? { name: tool };
  const denied = rules.hasDenies ? rules.denied(server, definition) : undefined;
  if (denied !== undefined) {
    ctx.note.rule = denied;
    throw new GatewayError('DENIED_BY_POLICY', `Agent '${ctx.agentId}' not authorized to call tool '${tool}' on server '${server}'`, { rule: denied, server, tool });
  }
  return rules.approval(server, definition);
}

/**
 * Waits for the caller's user to approve the call `rule` asks approval for; returns when
 * approved (or approved earlier for the session), throws APPROVAL_DENIED or APPROVAL_UNAVAILABLE.
 */
export async function requestApproval(ctx: OperationContext, server: string, tool: string, args: Record<string, unknown>, rule: string): Promise<void> {
  ctx.note.rule = rule;
  const peer = ctx.peer;
  const remembered = peer === undefined ? undefined : sessionApprovals(ctx.snapshot, peer);
  const key = JSON.stringify([ctx.agentId, server, tool]);
  if (remembered?.has(key) === true) {
    ctx.note.approval = 'remembered';
    return;
  }
  const details = { rule, server, tool };
  const refuse = (approval: ApprovalAudit, code: 'APPROVAL_DENIED' | 'APPROVAL_UNAVAILABLE', why: string): GatewayError => {
    ctx.note.approval = approval;
    return new GatewayError(code, `Tool '${tool}' on server '${server}' needs a human's approval (${rule}): ${why}`, details);
  };
  if (peer === undefined) throw refuse('unavailable', 'APPROVAL_UNAVAILABLE', 'this caller cannot be asked (only an MCP client that supports elicitation can)');
  if (!offersFormElicitation(peer))
    throw refuse('unavailable', 'APPROVAL_UNAVAILABLE', 'the client did not declare the elicitation capability, so it cannot be asked');

  const params: ElicitRequestFormParams = { mode: 'form', message: approvalMessage(ctx.agentId, server, tool, args, rule), requestedSchema: REQUESTED_SCHEMA };
  let answer: ElicitResult;
  try {
    answer = await ask(peer, params, ctx.signal);
  } catch (err) {
    // The caller cancelled its own call: that is the answer, not a failure to ask.
    if (ctx.signal.aborted) throw err;
    ctx.logger.debug({ err, server, tool }, 'approval could not be asked');
    throw refuse('unavailable', 'APPROVAL_UNAVAILABLE', 'the client gave no valid answer to the approval request');
  }
  const choice = answer.action === 'accept' ? answer.content?.['decision'] : undefined;
  if (choice === APPROVE_ONCE) {
    ctx.note.approval = 'once';
    return;
  }
  if (choice === APPROVE_SESSION) {
    ctx.note.approval = 'session';
    remembered?.add(key);
    return;
  }
  throw refuse('denied', 'APPROVAL_DENIED', answer.action === 'accept' ? 'the user denied it' : `the user did not approve it (${answer.action})`);
}

/**
 * A user may take minutes to answer: what changed meanwhile decides, not what held when they
 * were asked. A reload (the rules may now refuse the call) makes the caller call again; a
 * tool list that changed (a quarantine, a new definition with other annotations) is checked
 * again as it stands now.
 */
export function recheckAfterApproval(
  ctx: OperationContext,
  server: string,
  tool: string,
  asked: readonly Tool[],
  now: readonly Tool[] | undefined,
  missing: () => GatewayError,
): void {
  if (ctx.currentSnapshot() !== ctx.snapshot) {
    throw new GatewayError(
      'APPROVAL_UNAVAILABLE',
      `The gateway's configuration was reloaded while the approval of tool '${tool}' on server '${server}' was pending: call it again`,
      { server, tool },
    );
  }
  // Undefined: the server went away meanwhile, and the call fails on its own.
  if (now === undefined || now === asked) return;
  if (toolNamed(now, tool) === undefined) throw missing();
  checkAnnotations(ctx, server, tool, now);
}

function offersFormElicitation(peer: CallPeer): boolean {
  const elicitation = callerCapabilities(peer)?.elicitation as { form?: unknown; url?: unknown } | undefined;
  if (elicitation === undefined || elicitation === null) return false;
  // `elicitation: {}` is form mode (the 2025-06-18 shape); a client that names modes must name form.
  return elicitation.form !== undefined || elicitation.url === undefined;
}

async function ask(peer: CallPeer, params: ElicitRequestFormParams, signal: AbortSignal): Promise<ElicitResult> {
  if (peer.input !== undefined) {
    const answer = await peer.input.ask('elicitation/create', params as unknown as Record<string, unknown>, signal);
    return ElicitResultSchema.parse(answer);
  }
  if (isModernRequest(peer)) throw new Error('a 2026-07-28 call outside the input bridge cannot ask');
  return peer.extra.mcpReq.send({ method: 'elicitation/create', params }, ElicitResultSchema, { signal, timeout: CLIENT_REQUEST_TIMEOUT_MS });
}

// "Approve for this session", remembered per (session, agent, server, tool). A session is the
// client connection (stdio: the gateway's one client; /mcp 2025: the MCP session), or for a
// 2026 /mcp caller, which has no session, its identity (credential) and isolation key.
// Keyed by the snapshot, so a reload that changed anything forgets every approval (the rules
// may have changed), and by the session object, so a session's approvals go with it.
const MAX_PER_SESSION = 256;
const MAX_IDENTITIES = 1024;

class BoundedSet {
  readonly #keys = new Set<string>();
  has(key: string): boolean {
    return this.#keys.has(key);
  }
  add(key: string): void {
    if (this.#keys.size >= MAX_PER_SESSION) this.#keys.delete(this.#keys.values().next().value!);
    this.#keys.add(key);
  }
}

interface Approvals {
  readonly bySession: WeakMap<UpstreamSession, BoundedSet>;
  readonly byIdentity: Map<string, BoundedSet>;
}
const approvals = new WeakMap<Snapshot, Approvals>();

function sessionApprovals(snapshot: Snapshot, peer: CallPeer): BoundedSet {
  let all = approvals.get(snapshot);
  if (!all) {
    all = { bySession: new WeakMap(), byIdentity: new Map() };
    approvals.set(snapshot, all);
  }
  const identity = isModernRequest(peer) ? peer.extra.http?.authInfo?.clientId : undefined;
  if (identity === undefined) {
    let set = all.bySession.get(peer.session);
    if (!set) {
      set = new BoundedSet();
      all.bySession.set(peer.session, set);
    }
    return set;
  }
  const key = JSON.stringify([identity, peer.session.instanceScope?.key ?? null]);
  let set = all.byIdentity.get(key);
  if (!set) {
    if (all.byIdentity.size >= MAX_IDENTITIES) all.byIdentity.delete(all.byIdentity.keys().next().value!);
    set = new BoundedSet();
    all.byIdentity.set(key, set);
  }
  return set;
}
