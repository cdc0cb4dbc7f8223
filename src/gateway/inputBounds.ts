import { AGENT_ID_MAX_LENGTH } from '../config/rulesFile.js';
import { SERVER_NAME, SERVER_NAME_RULE } from '../config/serversFile.js';
import { GatewayError } from '../errors.js';
import { invalid, type Args, type FieldNames } from './arguments.js';
import { nestsDeeperThan } from '../jsonDepth.js';

// The shape every call's input must have before anything looks at it: identity, policy,
// the decision caches, the audit line, a log line, a downstream. Names are refused only
// where they can never match anything configured (server names and agent ids follow the
// config files' own syntax); tool names belong to downstream servers, which may choose any,
// so they are only bounded in length and kept free of control characters.

/**
 * Deepest nesting of a call's arguments: the arguments object is level 1, each object or
 * array inside it one more. Deeper input would exhaust the stack of whatever walks it
 * recursively (the audit's canonical JSON, the SDK's serializer, a downstream's parser).
 */
export const MAX_ARGUMENT_DEPTH = 64;
/** MCP (2025-11-25) names tools with 1 to 128 characters; downstream servers may go beyond, never this far. */
const MAX_TOOL_NAME_LENGTH = 256;
const TOOL_NAME_RULE = `1 to ${MAX_TOOL_NAME_LENGTH} characters, none of them a control character`;
const AGENT_ID_RULE = `1 to ${AGENT_ID_MAX_LENGTH} characters, none of them a control character`;

// C0 controls, DEL and C1 controls: no name a person or a server chose contains them, and in
// a log or audit line they can forge or hide text.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A refusal when `value` nests deeper than MAX_ARGUMENT_DEPTH (plus `wrapping` levels around it); `field` names it. */
export function depthProblem(value: unknown, field: string, wrapping = 0, names?: FieldNames): GatewayError | undefined {
  if (!nestsDeeperThan(value, MAX_ARGUMENT_DEPTH + wrapping)) return undefined;
  return invalid(field, `nests objects and arrays more than ${MAX_ARGUMENT_DEPTH} levels deep (the limit)`, names);
}

/**
 * The depth check of a call's arguments, before anything walks them. `execute_tool` carries
 * the downstream arguments in `args`, one level below its own; a native call's arguments
 * are the downstream's (`ownArgs` false).
 */
export function argumentDepthProblem(operation: string, args: Args, ownArgs: boolean, names?: FieldNames): GatewayError | undefined {
  if (operation === 'execute_tool' && ownArgs) return depthProblem(args['args'], 'args', 0, names) ?? depthProblem(args, 'arguments', 1, names);
  return depthProblem(args, 'arguments', 0, names);
}

/** The syntax of the names among a gateway tool's own arguments (`agent_id`, `server`, `tool`), before identity. */
export function nameProblem(operation: string, args: Args, names?: FieldNames): GatewayError | undefined {
  const agentId = args['agent_id'];
  if (typeof agentId === 'string' && agentId !== '' && !fits(agentId, AGENT_ID_MAX_LENGTH)) {
    // An id no rules file can hold is refused as any unknown id is, only sooner.
    return new GatewayError('INVALID_AGENT_ID', `Invalid agent_id: agent ids are ${AGENT_ID_RULE} (${describe(agentId)})`);
  }
  const server = args['server'];
  if (typeof server === 'string' && server !== '' && operation !== 'list_servers' && !SERVER_NAME.test(server)) {
    return invalid('server', `server names are ${SERVER_NAME_RULE} (${describe(server)})`, names);
  }
  const tool = args['tool'];
  if (operation === 'execute_tool' && typeof tool === 'string' && tool !== '' && !fits(tool, MAX_TOOL_NAME_LENGTH)) {
    return invalid('tool', `tool names are ${TOOL_NAME_RULE} (${describe(tool)})`);
  }
  return undefined;
}

function fits(name: string, max: number): boolean {
  return name.length <= max && !CONTROL.test(name);
}

/** What is wrong with a name, without echoing it (it may be megabytes, or forge a line). */
function describe(name: string): string {
  return CONTROL.test(name) ? 'got a name with a control character' : `got ${name.length} characters`;
}
