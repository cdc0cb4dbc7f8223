import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, isAbsolute, resolve } from 'node:path';
import { configWarning } from '../config/issues.js';
import type { ConfigIssue, ServerSpec } from '../config/types.js';

// Where a stdio server's command and script would be found when it starts: what `validate`
// warns about and how the gateway recognizes an entry that would start itself.

/**
 * The folder a stdio server starts in: its `cwd` or sandbox `working_dir`, else the gateway's;
 * undefined for a sandbox's own fresh folder, which does not exist before the start.
 */
export function launchFolder(spec: ServerSpec, gatewayCwd: string): string | undefined {
  const chosen = spec.sandbox.enabled ? spec.sandbox.workingDir : spec.cwd;
  if (chosen !== undefined) return resolve(gatewayCwd, chosen);
  return spec.sandbox.enabled ? undefined : gatewayCwd;
}

/**
 * Warnings for stdio servers that cannot start here: a command that is not on PATH (or not an
 * executable file), a script an interpreter is given that does not exist. Warnings, not
 * errors: the file may be written for another machine.
 */
export function launchWarnings(
  specs: readonly ServerSpec[],
  ctx: { readonly cwd: string; readonly env: Readonly<Record<string, string | undefined>> },
): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  for (const spec of specs) {
    if (spec.transport !== 'stdio' || spec.command === undefined || spec.configError !== undefined) continue;
    const folder = launchFolder(spec, ctx.cwd);
    const base = ['mcpServers', spec.name];
    const path = spec.env['PATH'] ?? ctx.env['PATH'];
    // Relative to a sandbox folder that does not exist yet: nothing to check.
    const checkable = (file: string): boolean => folder !== undefined || isAbsolute(file);
    if (checkable(spec.command) && resolveCommand(spec.command, folder ?? ctx.cwd, path) === undefined) {
      const problem = spec.command.includes('/') ? `is not an executable file in ${folder ?? ctx.cwd}` : 'was not found on PATH';
      warnings.push(configWarning([...base, 'command'], `command "${spec.command}" ${problem}; the server will not start here`));
    }
    const script = scriptArgument(spec.command, spec.args);
    const file = script === undefined ? undefined : spec.args[script]!;
    if (script !== undefined && file !== undefined && checkable(file) && !existsSync(resolve(folder ?? ctx.cwd, file))) {
      const shown = isAbsolute(file) ? file : `${file} (in ${folder ?? ctx.cwd})`;
      warnings.push(configWarning([...base, 'args', script], `script ${shown} does not exist; the server will not start here`));
    }
  }
  return warnings;
}

/** The file `command` runs: a path (relative to `cwd`) when it holds a `/`, else the first executable on `path`. */
export function resolveCommand(command: string, cwd: string, path: string | undefined): string | undefined {
  if (command.includes('/')) {
    const file = resolve(cwd, command);
    return isExecutableFile(file) ? file : undefined;
  }
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = resolve(cwd, dir, command);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

// Interpreters whose first argument that is not an option is the script they run.
const INTERPRETER = /^(node|nodejs|bun|deno|tsx|ts-node|python[0-9.]*|ruby|perl|php)$/;
// Options after which the interpreter runs code from the command line, not a file.
const INLINE_CODE = new Set(['-e', '--eval', '-p', '--print', '-c', '-m']);

/**
 * The index in `args` of the script an interpreter command runs (`node server.js`), or
 * undefined: not an interpreter, inline code (`node -e`), or no script argument.
 */
export function scriptArgument(command: string, args: readonly string[]): number | undefined {
  if (!INTERPRETER.test(basename(command))) return undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (INLINE_CODE.has(arg)) return undefined;
    if (arg === 'run' && basename(command) === 'deno') continue;
    if (!arg.startsWith('-')) return i;
  }
  return undefined;
}

/** The real path of `file`, or `file` itself when it cannot be resolved. */
export function realPath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
