import { isAbsolute, resolve } from 'node:path';
import { frozenArray, frozenRecord } from './frozen.js';
import { configError, configWarning, fromZodError, hasErrors, jsonType } from './issues.js';
import type { PathSegment } from './jsonPath.js';
import { buildSandbox, SandboxEntrySchema } from './sandbox.js';
import { SERVER_NAME, SERVER_NAME_RULE } from './serversFile.js';
import type { ConfigIssue, SandboxSpec, ServerSpec } from './types.js';
import { coerceBoolean, coerceNumber, describe, warnUnknown } from './signalwireValues.js';
import { isPlainObject } from '../values.js';

// The `services` section of a SignalWire config.json: each service is a stdio server with one
// process per session, as SignalWire runs them.

const SERVICE_KEYS = ['command', 'description', 'enabled', 'sandbox', 'sandbox_config'] as const;
const SANDBOX_KEYS = ['enabled', 'resource_limits', 'restricted_env', 'working_dir', 'limits'] as const;
const LIMIT_KEYS = ['cpu_seconds', 'memory_mb', 'processes', 'file_size_mb'] as const;

/** One entry of `services`, or undefined when it is disabled or has an error (added to `issues`). */
export function parseService(name: string, entry: unknown, cwd: string, issues: ConfigIssue[]): ServerSpec | undefined {
  const base: PathSegment[] = ['services', name];
  const before = issues.length;
  if (!SERVER_NAME.test(name)) issues.push(configError(base, `service name ${JSON.stringify(name)} is invalid: use ${SERVER_NAME_RULE}`));
  else if (name.includes('.')) issues.push(configWarning(base, 'a service name with "." cannot be called over the REST API (its names are A-Z a-z 0-9 _ -)'));
  if (!isPlainObject(entry)) {
    issues.push(configError(base, `must be an object, got ${jsonType(entry)}`));
    return undefined;
  }
  warnUnknown(entry, base, SERVICE_KEYS, 'service', issues);

  const enabledRaw = coerceBoolean(entry['enabled']);
  if (enabledRaw !== undefined && typeof enabledRaw !== 'boolean') {
    issues.push(configError([...base, 'enabled'], `must be true or false, got ${describe(enabledRaw)}`));
  }
  const enabled = enabledRaw !== false;

  const command = parseCommand(entry['command'], [...base, 'command'], issues);
  const description = entry['description'];
  if (description !== undefined && typeof description !== 'string') {
    issues.push(configError([...base, 'description'], `must be a string, got ${jsonType(description)}`));
  }

  // SignalWire's docs write `sandbox_config`, its code reads `sandbox` (and ignores the other):
  // both are honoured here, since either way the user wrote down what they want.
  let sandboxKey: 'sandbox' | 'sandbox_config' = 'sandbox';
  if (entry['sandbox_config'] !== undefined) {
    if (entry['sandbox'] !== undefined) {
      issues.push(configError([...base, 'sandbox_config'], 'give "sandbox" or "sandbox_config", not both'));
    } else {
      sandboxKey = 'sandbox_config';
      issues.push(configWarning([...base, 'sandbox_config'], 'read as "sandbox" (SignalWire\'s gateway ignores "sandbox_config"; it applies here)'));
    }
  }
  const sandbox = parseSandbox(entry[sandboxKey], [...base, sandboxKey], cwd, issues);

  if (!enabled) {
    // SignalWire skips a disabled service without reading it; a half-written one must not stop the start.
    for (let i = before; i < issues.length; i++) {
      const issue = issues[i]!;
      if (issue.severity === 'error')
        issues[i] = { ...issue, severity: 'warning', message: `${issue.message} (the service is disabled, so this is not an error yet)` };
    }
    return undefined;
  }
  if (hasErrors(issues.slice(before)) || command === undefined || sandbox === undefined) return undefined;
  const [program, ...args] = command;
  const spec: { -readonly [K in keyof ServerSpec]: ServerSpec[K] } = {
    name,
    transport: 'stdio',
    command: program!,
    args: frozenArray(args),
    env: frozenRecord([]),
    headers: frozenRecord([]),
    enabled,
    // One server process per session id (a SignalWire call id), as SignalWire runs them.
    isolation: 'session',
    sandbox,
  };
  if (typeof description === 'string' && description !== '') spec.description = description;
  return Object.freeze(spec);
}

function parseCommand(value: unknown, path: PathSegment[], issues: ConfigIssue[]): string[] | undefined {
  if (value === undefined) {
    issues.push(configError(path, 'required key "command" is missing (the program and its arguments, e.g. ["node", "server.mjs"])'));
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) {
    issues.push(configError(path, `must be a non-empty list of strings, got ${jsonType(value)}`));
    return undefined;
  }
  const before = issues.length;
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string') issues.push(configError([...path, i], `must be a string, got ${jsonType(item)}`));
    else if (item.includes('\0')) issues.push(configError([...path, i], 'must not contain a NUL character'));
    else if (i === 0 && item === '') issues.push(configError([...path, 0], 'the program must not be empty'));
  });
  return issues.length === before ? (value as string[]) : undefined;
}

function parseSandbox(value: unknown, base: PathSegment[], cwd: string, issues: ConfigIssue[]): SandboxSpec | undefined {
  if (value !== undefined && !isPlainObject(value)) {
    issues.push(configError(base, `must be an object, got ${jsonType(value)}`));
    return undefined;
  }
  // The block's keys, checks and defaults are those of `.mcp.json` (config/sandbox.ts); only
  // SignalWire's string coercion comes first, and the keys it does not use are left out.
  const block = value ?? {};
  warnUnknown(block, base, SANDBOX_KEYS, 'sandbox', issues);
  const entry: Record<string, unknown> = {};
  for (const key of ['enabled', 'resource_limits', 'restricted_env'] as const) {
    if (block[key] !== undefined) entry[key] = coerceBoolean(block[key]);
  }
  if (block['working_dir'] !== undefined) entry['working_dir'] = block['working_dir'];
  const limits = block['limits'];
  if (isPlainObject(limits)) {
    warnUnknown(limits, [...base, 'limits'], LIMIT_KEYS, 'limits', issues);
    entry['limits'] = Object.fromEntries(LIMIT_KEYS.filter((key) => limits[key] !== undefined).map((key) => [key, coerceNumber(limits[key])]));
  } else if (limits !== undefined) {
    entry['limits'] = limits;
  }
  const parsed = SandboxEntrySchema.safeParse(entry);
  if (!parsed.success) {
    issues.push(...fromZodError(parsed.error, SandboxEntrySchema, entry, base));
    return undefined;
  }
  // SignalWire starts every service in the gateway's working directory (its sample runs
  // "./test/todo_mcp.py"), never in the sandbox folder, so relative commands keep working.
  const dir = parsed.data.working_dir;
  const workingDir = dir === undefined ? cwd : isAbsolute(dir) ? dir : resolve(cwd, dir);
  return buildSandbox({ ...parsed.data, working_dir: workingDir }, true);
}
