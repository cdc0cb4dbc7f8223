import { crossCheckRules } from '../config/crossCheck.js';
import { formatIssues, loadRulesFile, loadServersFile } from '../config/load.js';
import { locateConfigFile } from '../config/locate.js';
import type { ConfigIssue, RulesConfig, ServersConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { CliIo } from './io.js';
import { locateBoth } from './loadConfigs.js';

/** Loads both files, reports every error and warning of each with its path; 0 when both are valid. */
export function runValidate(io: CliIo, flags: { mcpConfig?: string; rules?: string }): number {
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
    return r;
  });
  report('rules', paths.rules, () => {
    const r = loadRulesFile(paths.rules);
    rules = r.config;
    return r;
  });
  if (servers && rules) {
    const cross = crossCheckRules(
      rules,
      servers.servers.map((s) => s.name),
    );
    if (cross.length) io.out(`rules against servers: ${cross.length} warning(s)\n${indent(formatIssues(cross))}`);
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
