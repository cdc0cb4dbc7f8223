// `agent-mcp-gateway pin`: start every enabled server (through the downstream pool, closed
// before returning), list its tools and prompts, and record them in the lockfile (`pin`),
// show how they differ from it (`pin --diff`), or record one server or item (`pin --accept`).
// Also where serve opens the pins in force (openPins).

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AuditSink } from '../audit/auditLog.js';
import {
  LOCK_FILE_NAME,
  LockFileError,
  MAX_DEFINITION_DEPTH,
  MAX_PINNED_ITEMS,
  MAX_PINNED_NAME_CHARS,
  pinsOf,
  readLockFile,
  withPins,
  type LockFile,
  type PinKind,
} from '../config/lockFile.js';
import { updateLockFile } from '../gateway/pins/lockFileUpdate.js';
import type { ServerSpec } from '../config/types.js';
import { DownstreamPool } from '../downstream/pool.js';
import { gatewayFolder } from '../downstream/sandboxFolders.js';
import { Catalog } from '../gateway/native/catalog.js';
import { PinStore } from '../gateway/pins/pinStore.js';
import { visible } from '../policy/pinsDiff.js';
import { createLogger, type Logger } from '../log.js';
import { errorMessage } from '../values.js';
import { VERSION } from '../version.js';
import type { CliIo } from './io.js';
import { loadConfigs } from './loadConfigs.js';
import { acceptItem, parseItemTarget } from './pinAccept.js';
import { pinReport, type Listed } from './pinReport.js';
import { withoutSelf } from './selfReference.js';
import { expandHome, SettingsError, type ServeSettings } from './settings.js';

export interface PinFlags {
  readonly mcpConfig?: string;
  readonly rules?: string;
  readonly lockFile?: string;
  readonly diff?: boolean;
  /** SERVER, SERVER/NAME (a tool or prompt of that server) or SERVER/NAME@DIGEST (only if its digest starts so). */
  readonly accept?: string;
}

/** The lockfile named by --lock-file / GATEWAY_LOCK_FILE (already absolute), else the one beside the rules file. */
export function lockFilePath(given: string | undefined, rulesPath: string): string {
  return given ?? join(dirname(rulesPath), LOCK_FILE_NAME);
}

/**
 * The pins in force for serve, or undefined with --pinning off. Without a rules file (a
 * SignalWire config.json alone) the lockfile must be named: there is no folder it belongs to.
 */
export function openPins(settings: ServeSettings, rulesPath: string | undefined, logger: Logger, audit: AuditSink): PinStore | undefined {
  if (settings.pinning === 'off') return undefined;
  if (settings.lockFile === undefined && rulesPath === undefined) {
    logger.info('pinning is off: there is no rules file to keep the lockfile beside (name one with --lock-file)');
    return undefined;
  }
  try {
    return new PinStore({ path: lockFilePath(settings.lockFile, rulesPath!), mode: settings.pinning, logger, audit });
  } catch (err) {
    if (err instanceof LockFileError)
      throw new SettingsError(`the lockfile cannot be used: ${err.message} (fix it, delete it to pin again on first use, or start with --pinning off)`);
    throw err;
  }
}

export async function runPin(io: CliIo, flags: PinFlags): Promise<number> {
  const configs = loadConfigs(io, flags);
  const path = lockFilePath(givenLockFile(io, flags.lockFile), configs.paths.rules);
  const self = { cwd: io.cwd, home: io.home, env: io.env, mcpConfig: configs.paths.mcpConfig };
  const specs = withoutSelf(configs.servers.servers, self).specs;
  const target = flags.accept === undefined ? undefined : parseTarget(flags.accept);
  if (target !== undefined && !specs.some((s) => s.name === target.server)) {
    io.err(`ERROR: server '${target.server}' is not configured in ${configs.paths.mcpConfig}\n`);
    return 1;
  }
  const lock = readLockFile(path) ?? undefined;
  const listed = await listServers(io, target === undefined ? specs : specs.filter((s) => s.name === target.server));
  for (const entry of listed) if ('error' in entry) io.err(`server ${entry.server}: not listed: ${visible(entry.error)}\n`);
  const failed = listed.some((entry) => 'error' in entry);

  if (flags.diff === true) {
    const report = pinReport(lock, listed);
    io.out(`${report.lines.join('\n')}\n`);
    return failed ? 2 : report.differs ? 1 : 0;
  }
  if (target !== undefined) {
    const entry = listed[0]!;
    if ('error' in entry) return 1;
    if (target.name !== undefined) return acceptItem(io, path, entry, parseItemTarget(target.server, target.name));
    const written = updateLockFile(path, (current) => recordServer(current, entry));
    io.out(`accepted ${flags.accept} in ${path}\n`);
    reportUnpinned(io, written, entry);
    return 0;
  }
  const written = updateLockFile(path, (current) => listed.reduce((next, entry) => ('error' in entry ? next : recordServer(next, entry)), current));
  for (const entry of listed) {
    if ('error' in entry) continue;
    io.out(`pinned ${entry.server}: ${entry.tools.length} tools, ${entry.prompts.length} prompts\n`);
    reportUnpinned(io, written, entry);
  }
  io.out(`lockfile: ${path}\n`);
  return failed ? 1 : 0;
}

/** Says how many listed items the lockfile could not take (see pinsOf): they stay quarantined. */
function reportUnpinned(io: CliIo, lock: LockFile, entry: Exclude<Listed, { error: string }>): void {
  for (const kind of ['tools', 'prompts'] as PinKind[]) {
    const pinned = lock.servers[entry.server]?.[kind] ?? {};
    const left = new Set(entry[kind].map((item) => String(item['name'])).filter((name) => !Object.hasOwn(pinned, name))).size;
    if (left > 0) {
      io.out(
        `  ${left} ${kind} not pinned (nested deeper than ${MAX_DEFINITION_DEPTH} levels, a name over ${MAX_PINNED_NAME_CHARS} characters, or past ${MAX_PINNED_ITEMS} per server): they stay quarantined\n`,
      );
    }
  }
}

function recordServer(lock: LockFile, entry: Exclude<Listed, { error: string }>): LockFile {
  let next = lock;
  for (const kind of ['tools', 'prompts'] as PinKind[]) next = withPins(next, entry.server, kind, pinsOf(kind, entry[kind]));
  return next;
}

/** --lock-file, else GATEWAY_LOCK_FILE, made absolute; undefined when neither is given. */
function givenLockFile(io: CliIo, flag: string | undefined): string | undefined {
  const value = flag !== undefined && flag !== '' ? flag : io.env['GATEWAY_LOCK_FILE'];
  return value === undefined || value === '' ? undefined : expandHome(value, io.home, io.cwd);
}

/** SERVER or SERVER/NAME: the server name ends at the first slash (tool names may hold more). */
function parseTarget(value: string): { server: string; name?: string } {
  const slash = value.indexOf('/');
  if (slash === -1) return { server: value };
  return { server: value.slice(0, slash), name: value.slice(slash + 1) };
}

/** Each server's tools and prompts as it lists them now, in config order; a server that fails says why. */
async function listServers(io: CliIo, specs: readonly ServerSpec[]): Promise<Listed[]> {
  const logger = createLogger('warn');
  const sandboxRoot = gatewayFolder(join(tmpdir(), 'agent-mcp-gateway-pin'));
  const pool = new DownstreamPool(specs, {
    logger,
    clientInfo: { name: 'agent-mcp-gateway', version: VERSION },
    parentEnv: { ...io.env },
    sandboxRoot,
    // One attempt: a server that does not start is reported, not retried.
    backoff: { failFastAfter: 1 },
  });
  const catalog = new Catalog();
  try {
    return await Promise.all(
      pool.connections().map(async (connection): Promise<Listed> => {
        try {
          const tools = await connection.listTools();
          const prompts = await catalog.prompts(connection);
          return { server: connection.name, tools: tools as unknown as Record<string, unknown>[], prompts: prompts as unknown as Record<string, unknown>[] };
        } catch (err) {
          return { server: connection.name, error: errorMessage(err) };
        }
      }),
    );
  } finally {
    await pool.close();
    rmSync(sandboxRoot, { recursive: true, force: true });
  }
}
