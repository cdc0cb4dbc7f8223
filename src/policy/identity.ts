import type { IdentityErrorCode, IdentityResult, Policy } from './types.js';

// Who is calling. Unlike the reference, an explicit agent_id must name a configured agent:
// there `deny_on_missing_agent:false` let any unknown id through with full access. That setting
// now only decides what happens when the id is *missing*.

export interface IdentityInput {
  /** The call's `agent_id` argument, as received (any JSON value, or undefined). */
  readonly requested?: unknown;
  /**
   * The one agent this gateway acts as (`--agent` / `GATEWAY_AGENT`). When set, even to "",
   * every call acts as it: an empty binding fails closed instead of silently unbinding.
   */
  readonly bound?: string;
  /** `GATEWAY_DEFAULT_AGENT`; "" counts as unset, as in the reference. */
  readonly fallbackAgent?: string;
  /**
   * The only agent there is (rules made for a SignalWire config.json, which has none): every
   * call acts as it and the `agent_id` it names is not checked, since SignalWire's skill sends
   * its own agent name and no name could reach more than this agent already may.
   */
  readonly sole?: string;
  readonly policy: Policy;
}

const MISSING_RULE = 'defaults.deny_on_missing_agent';
const FALLBACK_HELP =
  "Either provide 'agent_id' in your tool calls, or ask the user to configure the gateway fallback settings. " +
  'See gateway documentation for configuration options.';

export function resolveIdentity(input: IdentityInput): IdentityResult {
  const { requested, bound, fallbackAgent, sole, policy } = input;

  // Any falsy value counted as missing in the reference; we only accept the three that plausibly
  // mean "not given", so `0` or `false` surface as a type error instead of picking a fallback.
  if (requested !== undefined && requested !== null && typeof requested !== 'string') {
    return fail('INVALID_AGENT_ID', `Invalid agent_id: expected a string, got ${describeType(requested)}`);
  }
  const id = typeof requested === 'string' && requested !== '' ? requested : undefined;
  if (sole !== undefined && bound === undefined && policy.hasAgent(sole)) return { ok: true, agentId: sole, source: 'sole' };

  if (bound !== undefined) {
    // Checked before the rules so the refusal does not depend on what the rules currently hold.
    if (id !== undefined && id !== bound) {
      return fail(
        'AGENT_MISMATCH',
        `This gateway is bound to agent '${show(bound)}'; agent_id '${show(id)}' is not allowed. ` + `Omit agent_id or pass '${show(bound)}'.`,
      );
    }
    if (!policy.hasAgent(bound)) {
      return fail('INVALID_AGENT_ID', `This gateway is bound to agent '${show(bound)}', which is not configured in the gateway rules`);
    }
    return { ok: true, agentId: bound, source: 'bound' };
  }

  if (id !== undefined) {
    if (policy.hasAgent(id)) return { ok: true, agentId: id, source: 'argument' };
    return fail('INVALID_AGENT_ID', `Unknown agent_id '${show(id)}': it is not configured in the gateway rules`);
  }

  if (policy.denyOnMissingAgent) {
    return fail('MISSING_AGENT_ID', "Missing required parameter 'agent_id'. All tool calls must include agent identity.", MISSING_RULE);
  }

  // A configured fallback that does not exist is an operator error worth surfacing; falling
  // through to `default` would hide it (the reference does not fall through either).
  if (fallbackAgent !== undefined && fallbackAgent !== '') {
    if (policy.hasAgent(fallbackAgent)) return { ok: true, agentId: fallbackAgent, source: 'env_default' };
    return fail(
      'FALLBACK_AGENT_NOT_IN_RULES',
      `Missing 'agent_id' parameter and fallback agent '${show(fallbackAgent)}' is not configured in gateway rules.\n` + FALLBACK_HELP,
    );
  }

  if (policy.hasAgent('default')) return { ok: true, agentId: 'default', source: 'default_agent' };

  return fail('NO_FALLBACK_CONFIGURED', `Missing 'agent_id' parameter and no fallback agent configured.\n${FALLBACK_HELP}`);
}

function fail(code: IdentityErrorCode, message: string, rule?: string): IdentityResult {
  return rule === undefined ? { ok: false, code, message } : { ok: false, code, message, rule };
}

const PLAIN_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_SHOWN = 128;

// agent_id comes from the caller and lands in messages and logs: escape control characters and
// quotes, and cap its length, so it cannot forge lines or flood them.
function show(id: string): string {
  if (PLAIN_ID.test(id)) return id;
  const cut = id.length > MAX_SHOWN ? `${id.slice(0, MAX_SHOWN)}...` : id;
  return JSON.stringify(cut).slice(1, -1).replaceAll("'", "\\'");
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
