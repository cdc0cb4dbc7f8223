import { ConfigError } from '../config/configError.js';
import { loadRulesFile, loadServersFile } from '../config/load.js';
import { locateConfigFile } from '../config/locate.js';
import type { ConfigIssue, RulesConfig, ServersConfig } from '../config/types.js';
import { crossCheckRules } from '../policy/crossCheck.js';
import type { CliIo } from './io.js';

export interface LoadedConfigs {
  readonly servers: ServersConfig;
  readonly rules: RulesConfig;
  readonly paths: { readonly mcpConfig: string; readonly rules: string };
  readonly warnings: readonly ConfigIssue[];
}

export function locateBoth(io: CliIo, flags: { mcpConfig?: string; rules?: string }): { mcpConfig: string; rules: string } {
  const common = { cwd: io.cwd, home: io.home };
  const mcp = locateConfigFile('mcp', {
    ...common,
    ...(flags.mcpConfig ? { flag: flags.mcpConfig } : {}),
    ...(io.env['GATEWAY_MCP_CONFIG'] ? { envValue: io.env['GATEWAY_MCP_CONFIG'] } : {}),
  });
  const rules = locateConfigFile('rules', {
    ...common,
    ...(flags.rules ? { flag: flags.rules } : {}),
    ...(io.env['GATEWAY_RULES'] ? { envValue: io.env['GATEWAY_RULES'] } : {}),
  });
  return { mcpConfig: mcp.path, rules: rules.path };
}

/**
 * The rules file for a SignalWire config.json: the one --rules or GATEWAY_RULES names (which
 * must exist), else the first of the usual places, else none.
 */
export function locateRulesIfAny(io: CliIo, flag: string | undefined): string | undefined {
  const common = { cwd: io.cwd, home: io.home };
  const envValue = io.env['GATEWAY_RULES'];
  if (flag || envValue) return locateConfigFile('rules', { ...common, ...(flag ? { flag } : {}), ...(envValue ? { envValue } : {}) }).path;
  try {
    return locateConfigFile('rules', common).path;
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

/** Locates, loads and cross-checks both files; throws ConfigError on the first file that is unusable. */
export function loadConfigs(io: CliIo, flags: { mcpConfig?: string; rules?: string }): LoadedConfigs {
  const paths = locateBoth(io, flags);
  const servers = loadServersFile(paths.mcpConfig, io.env);
  const rules = loadRulesFile(paths.rules);
  const cross = crossCheckRules(
    rules.config,
    servers.config.servers.map((s) => s.name),
  );
  return {
    servers: servers.config,
    rules: rules.config,
    paths,
    warnings: [...servers.warnings, ...rules.warnings, ...cross],
  };
}
