// A Gateway built as a library in this test process, from real configuration files in a
// temporary folder, with an in-memory audit sink and silent logs. For integration tests that
// call Gateway.callTool directly (with testSession/testExtra) or connect an SDK client over
// InMemoryTransport. closeGateways() in afterEach closes every one built and checks that no
// process any of them started (each carries MARKER in its environment) is left.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { MemoryAuditSink } from './memoryAuditSink.js';
import { loadRulesFile, loadServersFile } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { GatewayOptions } from '../../src/gateway/options.js';
import type { RequestExtra, UpstreamSession } from '../../src/gateway/serverRequests.js';
import { createLogger } from '../../src/log.js';
import { expectNoProcessesLeft } from './leakGuard.js';
import { fixture } from './paths.js';
import { makeTmpDir, writeJson } from './tmp.js';

/** One downstream: our echo fixture, a real child process. */
export const ECHO_SERVERS = { echo: { command: process.execPath, args: [fixture('echo')] } };

/** alice may call every echo tool; bob every one but `echo`. */
export const ALICE_BOB_RULES = {
  agents: {
    alice: { allow: { servers: ['echo'] } },
    bob: { allow: { servers: ['echo'] }, deny: { tools: { echo: ['echo'] } } },
  },
};

export interface InProcessGateway {
  readonly gateway: Gateway;
  readonly audit: MemoryAuditSink;
  /** Paths of the two files, for tests that edit them and reload. */
  readonly mcpConfig: string;
  readonly rules: string;
}

const open: Gateway[] = [];

const MARKER_VAR = 'AMG_IN_PROCESS_TEST_MARKER';
const MARKER = randomUUID();

export function buildGateway(mcpServers: object, rules: object, options: Partial<GatewayOptions> = {}): InProcessGateway {
  const dir = makeTmpDir();
  const mcpConfig = join(dir, '.mcp.json');
  const rulesPath = join(dir, '.mcp-gateway-rules.json');
  writeJson(mcpConfig, { mcpServers });
  writeJson(rulesPath, rules);
  const env = { ...process.env, [MARKER_VAR]: MARKER };
  const audit = new MemoryAuditSink();
  const gateway = new Gateway({
    servers: loadServersFile(mcpConfig, env).config,
    rules: loadRulesFile(rulesPath).config,
    configPaths: { mcpConfig, rules: rulesPath },
    debug: false,
    defaultTimeoutMs: 10_000,
    maxTimeoutMs: 60_000,
    initStrategy: 'lazy',
    audit,
    auditPath: null,
    auditArgs: 'hash',
    logger: createLogger('silent'),
    parentEnv: env,
    ...options,
  });
  open.push(gateway);
  return { gateway, audit, mcpConfig, rules: rulesPath };
}

export async function closeGateways(): Promise<void> {
  await Promise.all(open.splice(0).map((g) => g.close()));
  await expectNoProcessesLeft(MARKER, { markerVar: MARKER_VAR, timeoutMs: 3_000 });
}

/** A client session made by hand: no server-to-client requests, list changes dropped. */
export function testSession(fields: Partial<UpstreamSession> = {}): UpstreamSession {
  return {
    id: 'test-session',
    clientCapabilities: () => ({}),
    request: () => Promise.reject(new Error('no server requests here')),
    notifyToolListChanged: () => Promise.resolve(),
    ...fields,
  };
}

/** What the SDK hands a request handler, reduced to what the gateway reads. */
export function testExtra(): RequestExtra {
  return {
    mcpReq: {
      id: 1,
      method: 'tools/call',
      requestState: () => undefined,
      signal: new AbortController().signal,
      notify: () => Promise.resolve(),
      send: () => Promise.reject(new Error('no requests')),
    },
  } as unknown as RequestExtra;
}
