// The record of reloads behind get_gateway_status's `reload`: per configuration file, how many
// were tried and applied, when, why the last one failed, and the warnings of what is in force.
import type { ConfigIssue } from '../../config/types.js';

export type ConfigFileKey = 'mcp_config' | 'gateway_rules';
export const CONFIG_FILE_KEYS: readonly ConfigFileKey[] = ['mcp_config', 'gateway_rules'];

/** What get_gateway_status shows per file under `reload`. Timestamps are ISO 8601 UTC. */
export interface FileReloadStatus {
  /** Reloads tried since start (the initial load is not counted). */
  readonly attempts: number;
  /** Reloads that changed the running configuration (fully, or partly: see failed_servers). */
  readonly successes: number;
  readonly last_attempt: string | null;
  readonly last_success: string | null;
  /** Why the last attempt failed, or what part of it did not apply; null when it applied in full. */
  readonly last_error: string | null;
  /**
   * Warnings about the configuration in force from this file, as `path: message`. The rules
   * file also gets the cross-checks against the servers in force (rules naming servers that
   * do not exist), refreshed whenever either file reloads.
   */
  readonly warnings: readonly string[];
  /** The configuration revision this file's last successful load produced (1 = the start-up load). */
  readonly revision: number;
  /** mcp_config only: servers whose new entry is invalid and that kept their last good configuration (or were not added). */
  readonly failed_servers?: readonly string[];
}

/** The per-file counters and last outcomes behind `reload` in get_gateway_status. */
export class ReloadLedger {
  readonly #files = new Map<ConfigFileKey, MutableStatus>();
  readonly #now: () => number;
  #cross: string[];

  constructor(
    initial: {
      revision: number;
      /** Each file's own warnings from the start-up load. */
      warnings: Readonly<Record<ConfigFileKey, readonly ConfigIssue[]>>;
      /** Rules against servers, from the start-up load. */
      cross: readonly ConfigIssue[];
    },
    now: () => number = Date.now,
  ) {
    this.#now = now;
    this.#cross = describeIssues(initial.cross);
    for (const key of CONFIG_FILE_KEYS) {
      this.#files.set(key, {
        attempts: 0,
        successes: 0,
        last_attempt: null,
        last_success: null,
        last_error: null,
        warnings: describeIssues(initial.warnings[key]),
        revision: initial.revision,
        failed_servers: key === 'mcp_config' ? [] : undefined,
      });
    }
  }

  attempted(key: ConfigFileKey): void {
    const file = this.#file(key);
    file.attempts++;
    file.last_attempt = new Date(this.#now()).toISOString();
  }

  failed(key: ConfigFileKey, message: string): void {
    this.#file(key).last_error = message;
  }

  succeeded(key: ConfigFileKey, revision: number, warnings: readonly ConfigIssue[], partial?: { message: string; servers: readonly string[] }): void {
    const file = this.#file(key);
    file.successes++;
    file.last_success = file.last_attempt ?? new Date(this.#now()).toISOString();
    file.last_error = partial?.message ?? null;
    file.warnings = describeIssues(warnings);
    file.revision = revision;
    if (key === 'mcp_config') file.failed_servers = [...(partial?.servers ?? [])];
  }

  /** The rules-against-servers warnings for the configuration now in force. */
  crossChecked(cross: readonly ConfigIssue[]): void {
    this.#cross = describeIssues(cross);
  }

  status(): Record<ConfigFileKey, FileReloadStatus> {
    const out = {} as Record<ConfigFileKey, FileReloadStatus>;
    for (const key of CONFIG_FILE_KEYS) {
      const { failed_servers, ...rest } = this.#file(key);
      const warnings = key === 'gateway_rules' ? [...rest.warnings, ...this.#cross] : [...rest.warnings];
      out[key] = { ...rest, warnings, ...(failed_servers ? { failed_servers: [...failed_servers] } : {}) };
    }
    return out;
  }

  #file(key: ConfigFileKey): MutableStatus {
    const file = this.#files.get(key);
    if (!file) throw new Error(`unknown config file key ${key}`);
    return file;
  }
}

type MutableStatus = { -readonly [K in keyof FileReloadStatus]: FileReloadStatus[K] } & {
  failed_servers: string[] | undefined;
};

/** `path: message` per issue, the form logs and status share. */
export function describeIssues(issues: readonly ConfigIssue[]): string[] {
  return issues.map((issue) => `${issue.path === '' ? '(top level)' : issue.path}: ${issue.message}`);
}
