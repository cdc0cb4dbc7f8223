// A Gateway in this process, built the way src/cli/serve.ts builds it but without a
// transport, to time an operation on its own. The only place the bench constructs src/
// objects: if GatewayOptions changes, this is the file to follow it.

import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { RequestExtra, UpstreamSession } from '../../src/gateway/serverRequests.js';
import { NullAuditSink } from '../../src/audit/auditLog.js';
import { loadRulesFile, loadServersFile } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { createLogger } from '../../src/log.js';
import { childEnv, gatewayRules, makeTmpDir, writeJsonAtomic, type ServerCommand } from './targets.js';

export interface InProcessGateway {
  readonly gateway: Gateway;
  /** A tool call as the stdio server would make it; `id` only labels the request. */
  call(name: string, args: Record<string, unknown>, id: number): Promise<CallToolResult>;
  close(): Promise<void>;
}

const session: UpstreamSession = {
  id: 'bench',
  clientCapabilities: () => ({}),
  request: () => Promise.reject(new Error('the benchmark session answers no server requests')),
  notifyToolListChanged: () => Promise.resolve(),
};

export function inProcessGateway(servers: Readonly<Record<string, ServerCommand>>): InProcessGateway {
  const dir = makeTmpDir();
  const mcpConfig = join(dir, '.mcp.json');
  const rules = join(dir, '.mcp-gateway-rules.json');
  const mcpServers: Record<string, { command: string; args: string[] }> = {};
  for (const [name, s] of Object.entries(servers)) mcpServers[name] = { command: s.command, args: [...s.args] };
  writeJsonAtomic(mcpConfig, { mcpServers });
  writeJsonAtomic(rules, gatewayRules());
  const env = childEnv();
  const gateway = new Gateway({
    servers: loadServersFile(mcpConfig, env).config,
    rules: loadRulesFile(rules).config,
    configPaths: { mcpConfig, rules },
    debug: false,
    defaultTimeoutMs: 60_000,
    maxTimeoutMs: 600_000,
    initStrategy: 'lazy',
    audit: new NullAuditSink(),
    auditPath: null,
    auditArgs: 'hash',
    logger: createLogger('silent'),
    parentEnv: env,
  });
  gateway.start();
  const signal = new AbortController().signal;
  return {
    gateway,
    call: (name, args, id) => {
      const extra = {
        mcpReq: {
          id,
          method: 'tools/call',
          requestState: () => undefined,
          signal,
          notify: () => Promise.resolve(),
          send: () => Promise.reject(new Error('no server requests in the benchmark')),
        },
      } as unknown as RequestExtra;
      // A 2025-era request: the answer is always a final result.
      return gateway.callTool(name, args, extra, session) as Promise<CallToolResult>;
    },
    close: () => gateway.close(),
  };
}
