import { ConfigError } from '../config/configError.js';
import { formatIssues, loadRulesFile, loadServersFile, loadSignalWireFile } from '../config/load.js';
import { locateConfigFile, resolveUserPath } from '../config/locate.js';
import type { ConfigIssue, RulesConfig, ServersConfig } from '../config/types.js';
import { crossCheckArgumentRules } from '../policy/argumentsCrossCheck.js';
import { crossCheckRules } from '../policy/crossCheck.js';
import { launchWarnings } from './commandPath.js';
import type { CliIo } from './io.js';
import { locateBoth, locateRulesIfAny } from './loadConfigs.js';
import { resolveServeSettings } from './settings.js';

/** Loads both files, reports every error and warning of each with its path; 0 when both are valid. */
export function runValidate(io: CliIo, flags: { mcpConfig?: string; rules?: string; config?: string }): number {
  const signalWire = flags.config ?? (io.env['GATEWAY_CONFIG'] || undefined);
  if (signalWire !== undefined) return validateSignalWire(io, signalWire, flags.rules);
  let paths;
  try {
    paths = locateBoth(io, flags);
  } catch (err) {
    io.err(`${(err as Error).message}\n`);
    // locateBoth stops at the first missing file; say at once whether the rules file is missing too.
    try {
      locateConfigFile('rules', {
        cwd: io.cwd,
        home: io.home,
        ...(flags.rules ? { flag: flags.rules } : {}),
        ...(io.env['GATEWAY_RULES'] ? { envValue: io.env['GATEWAY_RULES'] } : {}),
      });
    } catch (rulesErr) {
      if ((rulesErr as Error).message !== (err as Error).message) io.err(`${(rulesErr as Error).message}\n`);
    }
    return 1;
  }
  let ok = true;
  let servers: ServersConfig | undefined;
  let rules: RulesConfig | undefined;
  const report = (label: string, path: string, load: () => { warnings: readonly ConfigIssue[] }): void => {
    try {
      const { warnings } = load();
      io.out(`${label}: ${path}: valid${warnings.length ? `, ${warnings.length} warning(s)` : ''}\n`);
      if (warnings.length) io.out(indent(formatIssues(warnings)));
    } catch (err) {
      ok = false;
      if (err instanceof ConfigError) {
        io.out(`${label}: ${path}: invalid\n`);
        io.out(indent(err.issues.length ? formatIssues(err.issues) : err.message));
      } else {
        io.out(`${label}: ${path}: ${(err as Error).message}\n`);
      }
    }
  };
  report('servers', paths.mcpConfig, () => {
    const r = loadServersFile(paths.mcpConfig, io.env);
    servers = r.config;
    return { warnings: [...r.warnings, ...launchWarnings(r.config.servers, io)] };
  });
  report('rules', paths.rules, () => {
    const r = loadRulesFile(paths.rules);
    rules = r.config;
    return r;
  });
  if (servers && rules) {
    const names = servers.servers.map((s) => s.name);
    const cross = [...crossCheckRules(rules, names), ...crossCheckArgumentRules(rules, names)];
    if (cross.length) io.out(`rules against servers: ${cross.length} warning(s)\n${indent(formatIssues(cross))}`);
  }
  return ok ? 0 : 1;
}

/**
 * `validate --config`: SignalWire's config.json (its settings checked as serving would check
 * them), and the rules file if there is one.
 */
function validateSignalWire(io: CliIo, given: string, rulesFlag: string | undefined): number {
  const path = resolveUserPath(given, { cwd: io.cwd, home: io.home });
  let ok = true;
  let servers: ServersConfig | undefined;
  try {
    const loaded = loadSignalWireFile(path, io.env, io.cwd);
    servers = loaded.config.servers;
    io.out(`signalwire config: ${path}: valid${loaded.warnings.length ? `, ${loaded.warnings.length} warning(s)` : ''}\n`);
    if (loaded.warnings.length) io.out(indent(formatIssues(loaded.warnings)));
    // Values the file's types allow can still be out of range for the flag they stand for (a port of 70000).
    resolveServeSettings({ config: path }, io.env, io.cwd);
  } catch (err) {
    ok = false;
    if (err instanceof ConfigError) {
      io.out(`signalwire config: ${path}: invalid\n`);
      io.out(indent(err.issues.length ? formatIssues(err.issues) : err.message));
    } else {
      io.out(`signalwire config: ${path}: ${(err as Error).message}\n`);
    }
  }
  let rulesPath: string | undefined;
  try {
    rulesPath = locateRulesIfAny(io, rulesFlag);
  } catch (err) {
    io.out(`rules: ${(err as Error).message}\n`);
    return 1;
  }
  if (rulesPath === undefined) {
    io.out('rules: none found: every service is allowed to every authenticated caller (see "SignalWire drop-in" in the README)\n');
    return ok ? 0 : 1;
  }
  try {
    const { config, warnings } = loadRulesFile(rulesPath);
    io.out(`rules: ${rulesPath}: valid${warnings.length ? `, ${warnings.length} warning(s)` : ''}\n`);
    if (warnings.length) io.out(indent(formatIssues(warnings)));
    const names = servers?.servers.map((s) => s.name);
    const cross = names ? [...crossCheckRules(config, names), ...crossCheckArgumentRules(config, names)] : [];
    if (cross.length) io.out(`rules against servers: ${cross.length} warning(s)\n${indent(formatIssues(cross))}`);
  } catch (err) {
    ok = false;
    io.out(`rules: ${rulesPath}: invalid\n`);
    io.out(indent(err instanceof ConfigError && err.issues.length ? formatIssues(err.issues) : (err as Error).message));
  }
  return ok ? 0 : 1;
}

function indent(text: string): string {
  return (
    text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => `  ${l}`)
      .join('\n') + '\n'
  );
}
