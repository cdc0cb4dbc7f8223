// What a Gateway owns downstream, built in one place: the shared connections (pool), the
// isolated instances, and the reaper that ends their process groups if the gateway is killed.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from '../config/sessionSettings.js';
import type { ConnectionOptions } from '../downstream/connection.js';
import { InstanceRegistry } from '../downstream/instances.js';
import { DownstreamPool } from '../downstream/pool.js';
import { Reaper } from '../downstream/reaper.js';
import { gatewayFolder } from '../downstream/sandboxFolders.js';
import { VERSION } from '../version.js';
import type { GatewayOptions } from './options.js';

/** How downstream servers reach the gateway: their requests, notifications, logs and list changes. */
export type DownstreamEvents = Pick<ConnectionOptions, 'onServerRequest' | 'onToolsChanged' | 'onReady' | 'onNotification' | 'onLog' | 'logLevel' | 'vetTools'>;

export interface Downstreams {
  readonly pool: DownstreamPool;
  readonly instances: InstanceRegistry;
  readonly reaper: Reaper;
  /** The session settings with the sandbox folder made absolute. */
  readonly session: SessionSettings;
}

export function openDownstreams(options: GatewayOptions, events: DownstreamEvents): Downstreams {
  const given = options.session ?? DEFAULT_SESSION_SETTINGS;
  // Only the built-in default starts with "~/"; the CLI hands over absolute folders.
  const session = given.sandboxDir.startsWith('~/') ? { ...given, sandboxDir: join(homedir(), given.sandboxDir.slice(2)) } : given;
  // This gateway's sandbox folders live in one folder of its own; the reaper ends its process
  // groups and removes that folder if the gateway is killed.
  const sandboxFolder = gatewayFolder(session.sandboxDir);
  const reaper = new Reaper({ folder: sandboxFolder, path: options.parentEnv['PATH'], logger: options.logger });
  const connectionOptions: ConnectionOptions = {
    logger: options.logger,
    clientInfo: { name: 'agent-mcp-gateway', version: VERSION },
    parentEnv: { ...options.parentEnv },
    sandboxRoot: sandboxFolder,
    reaper,
    ...events,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.maxResultBytes !== undefined ? { maxResultBytes: options.maxResultBytes } : {}),
    ...(options.oauth ? { oauth: options.oauth } : {}),
  };
  const pool = new DownstreamPool(options.servers.servers, connectionOptions);
  const instances = new InstanceRegistry(connectionOptions, {
    defaultTimeoutS: session.defaultTimeoutS,
    cleanupIntervalS: session.cleanupIntervalS,
    maxPerServer: session.maxSessionsPerService,
    maxTotal: session.maxTotalSessions,
    ...(session.maxSessionsPerIdentity !== undefined ? { maxPerOwner: session.maxSessionsPerIdentity } : {}),
  });
  return { pool, instances, reaper, session };
}
