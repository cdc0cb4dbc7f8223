import type { Readable, Writable } from 'node:stream';
import { JsonlAuditSink, NullAuditSink, type AuditSink } from '../audit/auditLog.js';
import { formatIssues } from '../config/load.js';
import { Gateway } from '../gateway/gateway.js';
import { serveStdio } from '../gateway/serveStdio.js';
import { createLogger, type Logger } from '../log.js';
import { VERSION } from '../version.js';
import type { CliIo } from './io.js';
import { loadConfigs } from './loadConfigs.js';
import type { ServeSettings } from './settings.js';

export interface ServeHandle {
  /** Resolves when the client has gone away (stdin closed). */
  readonly clientGone: Promise<void>;
  /** Graceful: stop serving, close every downstream and its process group, flush the audit log. Idempotent. */
  shutdown(): Promise<void>;
  /** Last resort on a forced exit: SIGKILL every downstream process group, flush the audit buffer. */
  killSync(): void;
  readonly logger: Logger;
}

export async function runServe(
  io: CliIo,
  settings: ServeSettings,
  streams: { stdin: Readable; stdout: Writable },
): Promise<ServeHandle> {
  const logger = createLogger(settings.logLevel);
  const configs = loadConfigs(io, {
    ...(settings.mcpConfigFlag ? { mcpConfig: settings.mcpConfigFlag } : {}),
    ...(settings.rulesFlag ? { rules: settings.rulesFlag } : {}),
  });
  if (configs.warnings.length) logger.warn(`configuration warnings:\n${formatIssues(configs.warnings)}`);
  if (settings.agent !== undefined && !(settings.agent in configs.rules.agents)) {
    logger.warn({ agent: settings.agent }, 'the bound agent is not in the rules: every call will be refused (INVALID_AGENT_ID)');
  }
  const audit: AuditSink = settings.auditLog ? new JsonlAuditSink(settings.auditLog, logger) : new NullAuditSink();
  const gateway = new Gateway({
    servers: configs.servers,
    rules: configs.rules,
    configPaths: configs.paths,
    ...(settings.agent !== undefined ? { boundAgent: settings.agent } : {}),
    ...(settings.defaultAgent !== undefined ? { fallbackAgent: settings.defaultAgent } : {}),
    debug: settings.debug,
    defaultTimeoutMs: settings.timeoutMs,
    maxTimeoutMs: settings.maxTimeoutMs,
    initStrategy: settings.initStrategy,
    audit,
    auditPath: settings.auditLog,
    auditArgs: settings.auditArgs,
    logger,
    parentEnv: io.env,
  });
  const stdio = await serveStdio(gateway, streams.stdin, streams.stdout);
  gateway.start();
  logger.info(
    {
      version: VERSION,
      mcp_config: configs.paths.mcpConfig,
      rules: configs.paths.rules,
      servers: configs.servers.servers.map((s) => s.name),
      agents: Object.keys(configs.rules.agents),
      default_policy: configs.rules.defaults.deny_on_missing_agent ? 'deny missing agent_id' : 'fallback agent for missing agent_id',
      bound_agent: settings.agent ?? null,
      tools: gateway.listTools().map((t) => t.name),
      audit_log: settings.auditLog ?? 'off',
      debug: settings.debug,
      init_strategy: settings.initStrategy,
    },
    'agent-mcp-gateway ready on stdio',
  );
  let shuttingDown: Promise<void> | undefined;
  return {
    clientGone: stdio.closed,
    logger,
    shutdown: () => {
      // Close the client side first so no new call starts, then the downstreams, then the audit log.
      shuttingDown ??= stdio.close().then(() => gateway.close());
      return shuttingDown;
    },
    killSync: () => gateway.killSync(),
  };
}
