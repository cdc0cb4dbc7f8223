import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configWarning } from '../config/issues.js';
import { locateConfigFile } from '../config/locate.js';
import type { ConfigIssue, ServerSpec } from '../config/types.js';
import { PACKAGE_ROOT } from '../version.js';
import { launchFolder, realPath, resolveCommand, scriptArgument } from './commandPath.js';

// `claude mcp add -s project gateway -- node .../dist/main.js ...` writes the gateway into
// ./.mcp.json, the very file the gateway then reads: it would list itself as one of its
// servers, and start a copy of itself (eager mode), which would do the same. An entry that
// would start this gateway on the same servers file is left out, with a warning.

/** The entry point a `node ...` or `agent-mcp-gateway` command starts (the installed bin links here). */
const OWN_MAIN = realPath(join(PACKAGE_ROOT, 'dist', 'main.js'));
const SUBCOMMANDS = new Set(['validate', 'init', 'explain']);

export interface Context {
  readonly cwd: string;
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The servers file this gateway serves. */
  readonly mcpConfig: string;
  /** This gateway's entry point; default dist/main.js of this package (a test gives its own, so needs no build). */
  readonly ownMain?: string;
}

/** The specs without those that would start this gateway on `ctx.mcpConfig`, and a warning for each one left out. */
export function withoutSelf(specs: readonly ServerSpec[], ctx: Context): { specs: ServerSpec[]; warnings: ConfigIssue[] } {
  const kept: ServerSpec[] = [];
  const warnings: ConfigIssue[] = [];
  for (const spec of specs) {
    if (startsThisGateway(spec, ctx)) {
      warnings.push(
        configWarning(
          ['mcpServers', spec.name],
          `server "${spec.name}" would start this gateway again on the same file (${ctx.mcpConfig}); it is left out. ` +
            "Point it at another file with --mcp-config, or keep the gateway's own entry out of the file it reads",
        ),
      );
    } else {
      kept.push(spec);
    }
  }
  return { specs: kept, warnings };
}

function startsThisGateway(spec: ServerSpec, ctx: Context): boolean {
  if (spec.transport !== 'stdio' || spec.command === undefined || spec.configError !== undefined) return false;
  const folder = launchFolder(spec, ctx.cwd) ?? ctx.cwd;
  const childPath = spec.env['PATH'] ?? ctx.env['PATH'];
  const command = resolveCommand(spec.command, folder, childPath);
  if (command === undefined) return false;
  const ownMain = ctx.ownMain === undefined ? OWN_MAIN : realPath(ctx.ownMain);
  let args: readonly string[];
  if (realPath(command) === ownMain) {
    args = spec.args;
  } else {
    const script = scriptArgument(spec.command, spec.args);
    if (script === undefined || realPath(resolve(folder, spec.args[script]!)) !== ownMain) return false;
    args = spec.args.slice(script + 1);
  }
  const served = servedFile(args, folder, { ...ctx.env, ...spec.env }, ctx.home);
  return served !== undefined && realPath(served) === realPath(ctx.mcpConfig);
}

/** The servers file a gateway started with `args` in `folder` would serve, or undefined (another command, SignalWire mode, none found). */
function servedFile(args: readonly string[], folder: string, env: Readonly<Record<string, string | undefined>>, home: string): string | undefined {
  let flag: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (i === 0 && SUBCOMMANDS.has(arg)) return undefined;
    if (arg === '--config' || arg.startsWith('--config=')) return undefined;
    if (arg === '--mcp-config') flag = args[i + 1];
    else if (arg.startsWith('--mcp-config=')) flag = arg.slice('--mcp-config='.length);
  }
  if (flag === undefined && env['GATEWAY_CONFIG']) return undefined;
  try {
    const located = locateConfigFile('mcp', {
      cwd: folder,
      home,
      ...(flag !== undefined ? { flag } : {}),
      ...(env['GATEWAY_MCP_CONFIG'] ? { envValue: env['GATEWAY_MCP_CONFIG'] } : {}),
    });
    return existsSync(located.path) ? located.path : undefined;
  } catch {
    return undefined;
  }
}
