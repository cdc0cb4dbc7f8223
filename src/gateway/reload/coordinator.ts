// A reload from start to finish: load the files asked for, put what loaded into the pool and
// the instance registry, swap in one new snapshot, record the outcome in the ledger, tell the
// observer and the log. The loaders decide what a file means; this decides what a reload does.
import type { Logger } from 'pino';
import { crossCheckRules } from '../../policy/crossCheck.js';
import type { ServerSpec } from '../../config/types.js';
import type { InstanceRegistry } from '../../downstream/instances.js';
import type { ApplyResult, DownstreamPool } from '../../downstream/pool.js';
import { ConfigError } from '../../config/configError.js';
import { errorMessage } from '../../values.js';
import type { Snapshot } from '../context.js';
import type { GatewayOptions } from '../options.js';
import { freezeSnapshot } from '../snapshot.js';
import { describeIssues, ReloadLedger, type ConfigFileKey, type FileReloadStatus } from './ledger.js';
import { describeFailedServers, loadRulesForReload, loadServersForReload, type RulesReload, type ServersReload } from './loaders.js';

/** What a reload did. */
export interface ReloadReport {
  /** The revision in force afterwards (unchanged when nothing applied). */
  readonly revision: number;
  /** Files whose new content is in force (mcp_config possibly in part: see status). */
  readonly applied: readonly ConfigFileKey[];
  /** Files that could not be used; their last good configuration stays. */
  readonly failed: readonly ConfigFileKey[];
  /** Server changes, when mcp_config applied. */
  readonly servers?: Pick<ApplyResult, 'added' | 'removed' | 'changed' | 'unchanged'>;
}

/** Where the snapshot in force lives: the Gateway, whose calls take it at their start. */
export interface SnapshotHolder {
  current(): Snapshot;
  /** Puts `next` in force; `previous` is the one it replaces. */
  swap(next: Snapshot, previous: Snapshot): void;
}

export interface ReloadCoordinatorOptions {
  readonly settings: Pick<
    GatewayOptions,
    'configPaths' | 'parentEnv' | 'reloaders' | 'initStrategy' | 'maxTimeoutMs' | 'boundAgent' | 'onReload' | 'initialWarnings'
  >;
  readonly logger: Logger;
  readonly pool: DownstreamPool;
  readonly instances: InstanceRegistry;
  readonly snapshots: SnapshotHolder;
}

export class ReloadCoordinator {
  readonly #o: ReloadCoordinatorOptions;
  readonly #logger: Logger;
  readonly #ledger: ReloadLedger;

  /** The snapshot in force when it is built is the start-up load, which the ledger starts from. */
  constructor(options: ReloadCoordinatorOptions) {
    this.#o = options;
    this.#logger = options.logger;
    const initial = options.snapshots.current();
    const warnings = options.settings.initialWarnings;
    this.#ledger = new ReloadLedger({
      revision: initial.revision,
      warnings: { mcp_config: warnings?.mcp_config ?? [], gateway_rules: warnings?.gateway_rules ?? [] },
      cross: crossCheckRules(initial.rules, initial.serverNames),
    });
  }

  /** Each file's reload record, for get_gateway_status. */
  status(): Record<ConfigFileKey, FileReloadStatus> {
    return this.#ledger.status();
  }

  /**
   * Loads the given files again and swaps what loaded. Each file stands alone: one that fails
   * keeps its last good configuration while the other applies. Everything that applies goes
   * into one new snapshot with one new revision, so a call sees the old configuration or the
   * new one, never a mix. Synchronous: nothing can interleave between loading and swapping.
   * Never throws.
   */
  reload(keys: readonly ConfigFileKey[], trigger: string): ReloadReport {
    const current = this.#o.snapshots.current();
    const started = performance.now();
    const failed: ConfigFileKey[] = [];
    const servers = keys.includes('mcp_config') ? this.#load('mcp_config', current, trigger, failed, () => this.#loadServers(current)) : undefined;
    const rules = keys.includes('gateway_rules') ? this.#load('gateway_rules', current, trigger, failed, () => this.#loadRules()) : undefined;
    if (!servers && !rules) return { revision: current.revision, applied: [], failed };

    const revision = current.revision + 1;
    const serverMap: ReadonlyMap<string, ServerSpec> = servers ? new Map(servers.specs.map((s) => [s.name, s] as const)) : current.servers;
    const changes = servers ? this.#applyServers(servers, serverMap) : undefined;
    const next = freezeSnapshot(revision, rules?.policy ?? current.policy, rules?.rules ?? current.rules, serverMap);
    const applyMs = Math.round((performance.now() - started) * 1000) / 1000;
    this.#o.snapshots.swap(next, current);

    const cross = crossCheckRules(next.rules, next.serverNames);
    this.#ledger.crossChecked(cross);
    const applied: ConfigFileKey[] = [];
    if (servers) {
      applied.push('mcp_config');
      this.#serversApplied(servers, current, revision, trigger);
    }
    if (rules) {
      applied.push('gateway_rules');
      this.#rulesApplied(rules, revision);
    }
    const warnings = [...(servers?.warnings ?? []), ...(rules?.warnings ?? []), ...cross];
    if (warnings.length > 0) this.#logger.warn({ revision, warnings: describeIssues(warnings) }, 'configuration warnings after reload');
    const serverChanges = changes ? { added: changes.added, removed: changes.removed, changed: changes.changed, unchanged: changes.unchanged } : undefined;
    this.#logger.info({ trigger, files: applied, revision, apply_ms: applyMs, ...serverChanges }, 'configuration reloaded');
    return { revision, applied, failed, ...(serverChanges ? { servers: serverChanges } : {}) };
  }

  /** One file's load, counted as an attempt; a failure is recorded and leaves `undefined`. */
  #load<T>(key: ConfigFileKey, current: Snapshot, trigger: string, failed: ConfigFileKey[], load: () => T): T | undefined {
    this.#ledger.attempted(key);
    try {
      return load();
    } catch (err) {
      failed.push(key);
      this.#failed(key, err, current.revision, trigger);
      return undefined;
    }
  }

  #loadServers(current: Snapshot): ServersReload {
    const custom = this.#o.settings.reloaders?.mcp_config;
    if (custom) return custom(current.servers);
    return loadServersForReload(this.#o.settings.configPaths.mcpConfig, this.#o.settings.parentEnv, current.servers);
  }

  #loadRules(): RulesReload {
    const custom = this.#o.settings.reloaders?.gateway_rules;
    return custom ? custom() : loadRulesForReload(this.#o.settings.configPaths.rules);
  }

  #applyServers(servers: ServersReload, serverMap: ReadonlyMap<string, ServerSpec>): ApplyResult {
    const { initStrategy, maxTimeoutMs } = this.#o.settings;
    const changes = this.#o.pool.apply(servers.specs, {
      connect: initStrategy === 'eager',
      // A call cannot outlive the hard maximum, so waiting that long lets every running call finish.
      drainMs: maxTimeoutMs,
    });
    const retiring = [...changes.changed, ...changes.removed];
    for (const name of changes.unchanged) {
      const spec = serverMap.get(name);
      if (spec) this.#o.instances.updateSpec(spec);
    }
    // Their instances were started from the old spec: they close once their calls finish.
    void this.#o.instances.retireServers(retiring, maxTimeoutMs);
    if (retiring.length > 0) {
      void changes.retired.then(() => this.#logger.debug({ servers: retiring }, 'replaced and removed downstream connections closed'));
    }
    return changes;
  }

  #serversApplied(servers: ServersReload, previous: Snapshot, revision: number, trigger: string): void {
    const path = this.#o.settings.configPaths.mcpConfig;
    const partial =
      servers.failed.length > 0 ? { message: describeFailedServers(path, servers.failed, previous.servers), servers: servers.failed.map((f) => f.name) } : undefined;
    this.#ledger.succeeded('mcp_config', revision, servers.warnings, partial);
    this.#observe('mcp_config', 'success');
    if (partial) {
      this.#logger.error({ file: path, trigger, revision, issues: servers.failed.flatMap((f) => f.issues) }, `reload: ${partial.message}`);
    }
  }

  #rulesApplied(rules: RulesReload, revision: number): void {
    this.#ledger.succeeded('gateway_rules', revision, rules.warnings);
    this.#observe('gateway_rules', 'success');
    const bound = this.#o.settings.boundAgent;
    if (bound !== undefined && !rules.policy.agentIds.includes(bound)) {
      this.#logger.warn({ agent: bound }, 'the bound agent is not in the new rules: every call will be refused (INVALID_AGENT_ID)');
    }
  }

  #failed(key: ConfigFileKey, err: unknown, revision: number, trigger: string): void {
    const path = key === 'mcp_config' ? this.#o.settings.configPaths.mcpConfig : this.#o.settings.configPaths.rules;
    const message = errorMessage(err);
    this.#ledger.failed(key, message);
    this.#observe(key, 'failure');
    const issues = err instanceof ConfigError ? err.issues.filter((i) => i.severity === 'error') : [];
    this.#logger.error(
      { file: path, trigger, kept_revision: revision, ...(issues.length > 0 ? { issues } : {}) },
      `reload of ${path} failed; the last good configuration stays in force: ${message}`,
    );
  }

  #observe(file: ConfigFileKey, outcome: 'success' | 'failure'): void {
    try {
      this.#o.settings.onReload?.(file, outcome);
    } catch (err) {
      this.#logger.warn({ err }, 'reload observer failed');
    }
  }
}
