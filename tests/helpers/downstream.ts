// Shared set-up for the downstream*.test.ts files: specs for real servers and fixtures, a
// silent logger, and bookkeeping so every test file can prove it left no process behind.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { expect } from 'vitest';
import { defaultSandbox } from '../../src/config/sandbox.js';
import type { ServerSpec } from '../../src/config/types.js';
import { DownstreamConnection, type ConnectionOptions } from '../../src/downstream/connection.js';
import { GatewayError } from '../../src/errors.js';
import { fixture } from './paths.js';
import { expectNoProcessesLeft } from './leakGuard.js';

export const silent = pino({ level: 'silent' });

/** A logger that keeps what it logs (info and up), for tests that check what a server said it is. */
export function recordingLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, records };
}

/** The serverInfo name `server` reported when it last connected (from its "downstream server connected" log line). */
export function connectedAs(records: readonly Record<string, unknown>[], server: string): unknown {
  return records.filter((r) => r['msg'] === 'downstream server connected' && r['server'] === server).at(-1)?.['serverName'];
}

/** Put into every child's env, so orphans of this test file can be found in /proc. */
export const MARKER_NAME = 'AMG_DOWNSTREAM_TEST_MARKER';
export const MARKER = randomUUID();

export function stdioSpec(name: string, args: readonly string[], extra: Partial<ServerSpec> = {}): ServerSpec {
  return {
    name,
    transport: 'stdio',
    command: process.execPath,
    args,
    headers: {},
    enabled: true,
    isolation: 'shared',
    sandbox: defaultSandbox(false),
    ...extra,
    env: { [MARKER_NAME]: MARKER, ...extra.env },
  };
}

export function fixtureSpec(name: string, file: string, extra: Partial<ServerSpec> = {}): ServerSpec {
  return stdioSpec(name, [fixture(file)], extra);
}

export function options(extra: Partial<ConnectionOptions> = {}): ConnectionOptions {
  return {
    logger: silent,
    clientInfo: { name: 'downstream-test', version: '0.0.0' },
    sandboxRoot: join(tmpdir(), 'amg-downstream-sandbox'),
    parentEnv: process.env,
    ...extra,
  };
}

/** Connections made through track() are closed by closeTracked() (call it in afterEach). */
const tracked = new Set<{ close(): Promise<void> }>();

export function track<T extends { close(): Promise<void> }>(thing: T): T {
  tracked.add(thing);
  return thing;
}

export function connection(spec: ServerSpec, extra: Partial<ConnectionOptions> = {}): DownstreamConnection {
  return track(new DownstreamConnection(spec, options(extra)));
}

export async function closeTracked(): Promise<void> {
  const all = [...tracked];
  tracked.clear();
  await Promise.allSettled(all.map((t) => t.close()));
  for (const file of callLogs) rmSync(file, { force: true });
  callLogs.clear();
}

/** Fails if any process started by this test file is still alive (zombies count as gone). */
export function expectNoLeftovers(): Promise<void> {
  return expectNoProcessesLeft(MARKER, { markerVar: MARKER_NAME, timeoutMs: 3_000 });
}

export { textOf } from './results.js';

/**
 * A fixture's call log (FIXTURE_CALL_LOG, see tests/fixtures/servers/_shared.mjs): put `env`
 * into the spec, then wait for reached(tool) to know a call got to the server.
 */
/** Removed by closeTracked(). */
const callLogs = new Set<string>();

export function callLog(): { env: Record<string, string>; reached(tool: string): boolean } {
  const file = join(tmpdir(), `amg-calls-${randomUUID()}.jsonl`);
  callLogs.add(file);
  return {
    env: { FIXTURE_CALL_LOG: file },
    reached: (tool) => existsSync(file) && readFileSync(file, 'utf8').includes(`"tool":${JSON.stringify(tool)}`),
  };
}

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

export function expectGatewayError(err: unknown, code: string): GatewayError {
  expect(err).toBeInstanceOf(GatewayError);
  expect((err as GatewayError).code).toBe(code);
  return err as GatewayError;
}

/** The SERVER_UNAVAILABLE a call or start must fail with. */
export async function unavailable(promise: Promise<unknown>): Promise<GatewayError> {
  return expectGatewayError(await rejection(promise), 'SERVER_UNAVAILABLE');
}
