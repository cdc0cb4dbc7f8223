import type { Readable, Writable } from 'node:stream';
import { JsonlAuditSink, NullAuditSink, type AuditSink } from '../audit/auditLog.js';
import { crossCheckRules } from '../policy/crossCheck.js';
import { didYouMean } from '../config/suggest.js';
import { formatIssues, loadRulesFile, loadSignalWireFile, type Loaded } from '../config/load.js';
import { signalWireRules, SIGNALWIRE_AGENT } from '../config/signalwireConfig.js';
import type { RulesConfig, ServerSpec, ServersConfig } from '../config/types.js';
import { compilePolicy } from '../policy/engine.js';
import { watchConfigFiles, type ConfigWatcher } from './configWatcher.js';
import { Gateway } from '../gateway/gateway.js';
import type { CallEvent, GatewayOptions } from '../gateway/options.js';
import type { ConfigFileKey } from '../gateway/reload/ledger.js';
import { describeFailedServers, loadServersForReload, type ServersReload } from '../gateway/reload/loaders.js';
import { serveStdio } from '../gateway/serveStdio.js';
import { createLogger, type Logger } from '../log.js';
import { VERSION } from '../version.js';
import { DownstreamOAuth } from '../downstream/oauthProvider.js';
import { OAuthStore } from '../downstream/oauthStore.js';
import type { CliIo } from './io.js';
import { loginCommandFor } from './login.js';
import { locateBoth, locateRulesIfAny } from './loadConfigs.js';
import { withoutSelf } from './selfReference.js';
import { openPins } from './pin.js';
import { SettingsError, type ServeSettings, type SignalWireSource } from './settings.js';

export interface ServeHandle {
  /** Resolves when the client has gone away (stdin closed); never in HTTP mode. */
  readonly clientGone: Promise<void>;
  /** Graceful: stop serving, close every downstream and its process group, flush the audit log. Idempotent. */
  shutdown(): Promise<void>;
  /** Last resort on a forced exit: SIGKILL every downstream process group, flush the audit buffer. */
  killSync(): void;
  /** Reloads both configuration files now (SIGHUP). Never throws; the outcome is logged and shown by get_gateway_status. */
  reload(trigger?: string): void;
  readonly logger: Logger;
  /** How long main.ts lets shutdown() run before killing everything (default: the stdio bound). */
  readonly shutdownGraceMs?: number;
}

/** Start-up does not wait longer than this for the file watches (a huge folder, a slow disk). */
const WATCH_READY_BOUND_MS = 2_000;

/** Observers of gateway events, added after the gateway exists (metrics need the gateway). */
export interface GatewayObservers {
  readonly call: ((event: CallEvent) => void)[];
  readonly reload: ((file: ConfigFileKey, outcome: 'success' | 'failure') => void)[];
}

export interface PreparedGateway {
  readonly gateway: Gateway;
  readonly logger: Logger;
  readonly observers: GatewayObservers;
  /** What the start-up log line reports of the configuration. */
  readonly summary: Record<string, unknown>;
}

/**
 * Both transports start the same way: locate and load both files (strictly), build the
 * audit sink and the Gateway, and watch the files. The caller serves, then calls
 * gateway.start().
 */
export async function prepareGateway(io: CliIo, settings: ServeSettings): Promise<PreparedGateway> {
  const logger = createLogger(settings.logLevel, settings.logFile);
  // The rules file is strict at start (any error stops it); .mcp.json is per server, as on reload.
  const { paths, servers, rules, reloaders, soleAgent, failedServers } = settings.signalWire
    ? signalWireSources(io, settings.signalWire, settings.rulesFlag)
    : fileSources(io, settings);
  if (failedServers !== undefined) logger.warn(failedServers);
  const cross = crossCheckRules(
    rules.config,
    servers.config.servers.map((s) => s.name),
  );
  const configs = { servers: servers.config, rules: rules.config, paths };
  const allWarnings = [...servers.warnings, ...rules.warnings, ...cross];
  if (allWarnings.length) logger.warn(`configuration warnings:\n${formatIssues(allWarnings)}`);
  const debounceMs = settings.reloadDebounceMs;
  // A gateway bound to nobody would start, show as connected, and refuse every call; stop here
  // instead, before anything is spawned. (A reload that later drops the agent keeps refusing.)
  if (settings.agent !== undefined && !Object.hasOwn(configs.rules.agents, settings.agent)) {
    throw new SettingsError(undefinedAgentMessage(settings.agent, Object.keys(configs.rules.agents), paths.rules));
  }
  if (settings.mode !== 'meta' && settings.agent === undefined && settings.defaultAgent === undefined && settings.transport === 'stdio') {
    logger.warn({ mode: settings.mode }, 'native tools, resources and prompts carry no agent_id: without --agent (or a fallback agent) the native lists are empty');
  }
  const observers: GatewayObservers = { call: [], reload: [] };
  const audit: AuditSink = settings.auditLog ? openAuditLog(settings.auditLog, logger) : new NullAuditSink();
  const pins = openPins(settings, soleAgent === undefined ? paths.rules : undefined, logger, audit);
  const gateway = new Gateway({
    servers: configs.servers,
    rules: configs.rules,
    configPaths: configs.paths,
    ...(settings.agent !== undefined ? { boundAgent: settings.agent } : {}),
    ...(settings.defaultAgent !== undefined ? { fallbackAgent: settings.defaultAgent } : {}),
    debug: settings.debug,
    defaultTimeoutMs: settings.timeoutMs,
    maxTimeoutMs: settings.maxTimeoutMs,
    maxResultBytes: settings.maxResultBytes,
    initStrategy: settings.initStrategy,
    searchIndexAtStart: settings.searchIndexAtStart,
    nativeSearch: settings.nativeSearch,
    mode: settings.mode,
    naming: settings.naming,
    audit,
    auditPath: settings.auditLog,
    auditArgs: settings.auditArgs,
    logger,
    // The variables config.json takes the gateway's credentials from are its secrets too: no server gets them.
    parentEnv: settings.signalWire ? withoutVariables(io.env, settings.signalWire.secretVariables) : io.env,
    initialWarnings: { mcp_config: servers.warnings, gateway_rules: rules.warnings },
    session: settings.session,
    ...(pins ? { pins } : {}),
    oauth: new DownstreamOAuth({
      store: new OAuthStore(settings.oauthDir.path),
      loginCommand: loginCommandFor(io, settings, paths.mcpConfig),
      warn: (message) => logger.warn(message),
    }),
    ...(reloaders ? { reloaders } : {}),
    ...(soleAgent !== undefined ? { soleAgent } : {}),
    // Only when someone listens: the gateway builds no event for nobody.
    ...(settings.transport === 'http'
      ? {
          onCall: (event: CallEvent) => {
            for (const observe of observers.call) observe(event);
          },
          onReload: (file: ConfigFileKey, outcome: 'success' | 'failure') => {
            for (const observe of observers.reload) observe(file, outcome);
          },
        }
      : {}),
  });
  // The watcher belongs to this function (it started it) and is handed to the gateway, whose
  // close() closes it before anything else.
  const watcher: ConfigWatcher = watchConfigFiles<ConfigFileKey>({
    files:
      soleAgent === undefined ? { mcp_config: paths.mcpConfig, gateway_rules: paths.rules } : ({ mcp_config: paths.mcpConfig } as Record<ConfigFileKey, string>),
    debounceMs,
    logger,
    onChange: (key) => gateway.reload([key], 'file change'),
  });
  // `pin --accept` edits the lockfile: the pins in force follow it, without a restart.
  const lockWatcher = pins ? watchConfigFiles({ files: { lockfile: pins.path }, debounceMs, logger, onChange: () => pins.reload() }) : undefined;
  gateway.attachWatcher(lockWatcher ? { close: async () => void (await Promise.all([watcher.close(), lockWatcher.close()])) } : watcher);
  // Edits made right after start-up must be seen, so serving waits (briefly) for the watches.
  await Promise.race([Promise.all([watcher.ready, lockWatcher?.ready]), delay(WATCH_READY_BOUND_MS)]);
  const summary = {
    version: VERSION,
    mcp_config: configs.paths.mcpConfig,
    rules: configs.paths.rules,
    ...(settings.signalWire ? { signalwire_config: settings.signalWire.path } : {}),
    servers: configs.servers.servers.map((s) => s.name),
    agents: Object.keys(configs.rules.agents),
    default_policy: configs.rules.defaults.deny_on_missing_agent ? 'deny missing agent_id' : 'fallback agent for missing agent_id',
    bound_agent: settings.agent ?? null,
    mode: settings.mode,
    tools: gateway.listTools().map((t) => t.name),
    audit_log: settings.auditLog ?? 'off',
    debug: settings.debug || configs.rules.defaults.debug === true,
    init_strategy: settings.initStrategy,
    pinning: pins ? { mode: pins.mode, lockfile: pins.path } : 'off',
    reload:
      soleAgent === undefined
        ? `watching both files (debounce ${debounceMs} ms); SIGHUP reloads both`
        : `watching ${paths.mcpConfig} (debounce ${debounceMs} ms; its services reload, other sections need a restart); SIGHUP reloads it`,
  };
  return { gateway, logger, observers, summary };
}

function undefinedAgentMessage(agent: string, defined: readonly string[], rulesPath: string): string {
  const shown = JSON.stringify(agent.length > 128 ? `${agent.slice(0, 128)}...` : agent);
  // Stray spaces around a defined id are the likeliest mistake, and didYouMean skips exact matches.
  const trimmed = agent.trim();
  const suggestion = defined.includes(trimmed) ? trimmed : didYouMean(trimmed, defined);
  const hint =
    suggestion !== undefined
      ? `; did you mean "${suggestion}"?`
      : defined.length === 0
        ? '; the rules define no agent'
        : `; defined agents: ${defined.slice(0, 20).join(', ')}${defined.length > 20 ? ', ...' : ''}`;
  return `--agent / GATEWAY_AGENT: agent ${shown} is not defined in the rules (${rulesPath})${hint}`;
}

/** An audit log that cannot be opened stops the start: calls are never served unrecorded. */
function openAuditLog(path: string, logger: Logger): AuditSink {
  try {
    return new JsonlAuditSink(path, logger);
  } catch (err) {
    throw new SettingsError(`cannot open the audit log '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function withoutVariables(env: CliIo['env'], names: readonly string[]): CliIo['env'] {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
}

interface Sources {
  readonly paths: { readonly mcpConfig: string; readonly rules: string };
  readonly servers: Loaded<ServersConfig>;
  readonly rules: Loaded<RulesConfig>;
  readonly reloaders?: GatewayOptions['reloaders'];
  readonly soleAgent?: string;
  /** The message for server entries that did not load (each is a failed server). */
  readonly failedServers?: string;
}

function fileSources(io: CliIo, settings: ServeSettings): Sources {
  const paths = locateBoth(io, {
    ...(settings.mcpConfigFlag ? { mcpConfig: settings.mcpConfigFlag } : {}),
    ...(settings.rulesFlag ? { rules: settings.rulesFlag } : {}),
  });
  const self = { cwd: io.cwd, home: io.home, env: io.env, mcpConfig: paths.mcpConfig };
  const reloadServers = (previous: ReadonlyMap<string, ServerSpec>): ServersReload => {
    const loaded = loadServersForReload(paths.mcpConfig, io.env, previous);
    const { specs, warnings } = withoutSelf(loaded.specs, self);
    return { specs, warnings: [...loaded.warnings, ...warnings], failed: loaded.failed };
  };
  // As a reload does: one entry that does not load (an unset variable) is one failed server, not a failed start.
  const loaded = reloadServers(new Map());
  return {
    paths,
    servers: { config: { servers: loaded.specs }, warnings: [...loaded.warnings] },
    rules: loadRulesFile(paths.rules),
    reloaders: { mcp_config: reloadServers },
    ...(loaded.failed.length > 0 ? { failedServers: describeFailedServers(paths.mcpConfig, loaded.failed, new Map()) } : {}),
  };
}

/** What the rules path shows (get_gateway_status, start-up log) when the rules are made for a SignalWire config.json. */
const NO_RULES_FILE = `none: no rules file, every service allowed to every caller (as agent "${SIGNALWIRE_AGENT}")`;

/**
 * --config: the servers are config.json's services (reloaded from it on edits); the rules
 * are a rules file when one is named or found, else every service for everybody, as in SignalWire.
 */
function signalWireSources(io: CliIo, signalWire: SignalWireSource, rulesFlag: string | undefined): Sources {
  const reloadServers = (): ServersReload => {
    const loaded = loadSignalWireFile(signalWire.path, io.env, io.cwd);
    return { specs: loaded.config.servers.servers, warnings: loaded.warnings, failed: [] };
  };
  const servers = { config: signalWire.servers, warnings: [...signalWire.warnings] };
  const rulesPath = locateRulesIfAny(io, rulesFlag);
  if (rulesPath !== undefined) {
    return { paths: { mcpConfig: signalWire.path, rules: rulesPath }, servers, rules: loadRulesFile(rulesPath), reloaders: { mcp_config: reloadServers } };
  }
  const made = signalWireRules();
  const policy = compilePolicy(made);
  return {
    paths: { mcpConfig: signalWire.path, rules: NO_RULES_FILE },
    servers,
    rules: { config: made, warnings: [] },
    reloaders: { mcp_config: reloadServers, gateway_rules: () => ({ rules: made, policy, warnings: [] }) },
    soleAgent: SIGNALWIRE_AGENT,
  };
}

export async function runServe(io: CliIo, settings: ServeSettings, streams: { stdin: Readable; stdout: Writable }): Promise<ServeHandle> {
  const { gateway, logger, summary } = await prepareGateway(io, settings);
  const stdio = await serveStdio(gateway, streams.stdin, streams.stdout, { logger, maxMessageBytes: settings.maxMessageBytes });
  gateway.start(stdio.answered);
  logger.info(summary, 'agent-mcp-gateway ready on stdio');
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
    reload: (trigger = 'SIGHUP') => {
      gateway.reload(undefined, trigger);
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
