// Shared set-up for the downstream*.test.ts files: specs for real servers and fixtures, a
// silent logger, and bookkeeping so every test file can prove it left no process behind.
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect } from 'vitest';
import { defaultSandbox } from '../../src/config/sandbox.js';
import type { ServerSpec } from '../../src/config/types.js';
import { DownstreamConnection, type ConnectionOptions } from '../../src/downstream/connection.js';
import { GatewayError } from '../../src/errors.js';
import { fixture } from '../helpers/paths.js';
import { processesWithEnv, waitFor } from '../helpers/processes.js';

export const silent = pino({ level: 'silent' });

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
}

/** Fails if any process started by this test file is still alive (zombies count as gone). */
export async function expectNoLeftovers(): Promise<void> {
  await waitFor(() => processesWithEnv(MARKER_NAME, MARKER).length === 0, {
    timeoutMs: 3_000,
    message: `processes left behind: ${JSON.stringify(processesWithEnv(MARKER_NAME, MARKER).map((p) => p.cmd))}`,
  });
}

export { textOf } from '../helpers/results.js';

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
