// Input rules of SignalWire's REST gateway, anchored for real (no trailing newline), each
// failure a 400 naming the field.
import { AGENT_ID_MAX_LENGTH as AGENT_ID_MAX } from '../config/rulesFile.js';
import { isPlainObject } from '../values.js';
import { HttpError } from './respond.js';

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SESSION_ID = /^[A-Za-z0-9_.-]{1,128}$/;

function invalid(message: string): HttpError {
  return new HttpError(400, 'INVALID_ARGUMENT', message);
}

function checkName(value: unknown, field: string, label: string, max: number, rule: RegExp, allowed: string): string {
  if (typeof value !== 'string') throw invalid(`'${field}' must be a string`);
  if (value.length < 1 || value.length > max) throw invalid(`Invalid ${label} length in '${field}': 1 to ${max} characters`);
  if (!rule.test(value)) throw invalid(`${capitalize(label)} in '${field}' contains invalid characters (allowed: ${allowed})`);
  return value;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function serviceName(value: unknown, field = 'service'): string {
  return checkName(value, field, 'service name', 64, NAME, 'A-Z a-z 0-9 _ -');
}

export function toolName(value: unknown, field = 'tool'): string {
  return checkName(value, field, 'tool name', 64, NAME, 'A-Z a-z 0-9 _ -');
}

export function sessionId(value: unknown, field = 'session_id'): string {
  return checkName(value, field, 'session ID', 128, SESSION_ID, 'A-Z a-z 0-9 _ . -');
}

export interface CallBody {
  readonly tool: string;
  readonly arguments: Record<string, unknown>;
  readonly sessionId: string;
  /** Seconds, in (0, 3600]; undefined: the default. */
  readonly timeout?: number;
  readonly metadata: Record<string, unknown>;
  readonly agentId?: string;
}

/** POST /services/:name/call, in SignalWire's order: tool, session_id, arguments, timeout, metadata. */
export function callBody(body: unknown): CallBody {
  if (!isPlainObject(body)) throw invalid('The request body must be a JSON object');
  if (body['tool'] === undefined || body['tool'] === null || body['tool'] === '') throw invalid("Missing 'tool' parameter");
  const tool = toolName(body['tool']);
  if (body['session_id'] === undefined || body['session_id'] === null || body['session_id'] === '') {
    throw invalid("Missing 'session_id' parameter");
  }
  const sid = sessionId(body['session_id']);
  const args = body['arguments'] === undefined ? {} : body['arguments'];
  if (!isPlainObject(args)) throw invalid("Invalid 'arguments' parameter: must be a JSON object");
  let timeout: number | undefined;
  if (body['timeout'] !== undefined) {
    const t = body['timeout'];
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 3600) {
      throw invalid("Invalid 'timeout' parameter: must be a number of seconds greater than 0 and at most 3600");
    }
    timeout = t;
  }
  const metadata = body['metadata'] === undefined ? {} : body['metadata'];
  if (!isPlainObject(metadata)) throw invalid("Invalid 'metadata' parameter: must be a JSON object");
  const agentId = optionalAgentId(body['agent_id'] ?? metadata['agent_id'], body['agent_id'] !== undefined ? 'agent_id' : 'metadata.agent_id');
  return { tool, arguments: args, sessionId: sid, ...(timeout !== undefined ? { timeout } : {}), metadata, ...(agentId !== undefined ? { agentId } : {}) };
}

/** An agent_id from the body, metadata or query: a non-empty string; identity rules decide the rest. */
export function optionalAgentId(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(`'${field}' must be a string`);
  if (value.length > AGENT_ID_MAX) throw invalid(`'${field}' is longer than ${AGENT_ID_MAX} characters`);
  return value;
}
