// Where the OAuth credentials of hosted (http/sse) servers live between runs: one file per
// server, readable by the user alone (folder 0700, file 0600), replaced atomically so a
// gateway reading it never sees half a write. Written by `agent-mcp-gateway login` and by the
// gateway when it refreshes tokens; never logged.

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import type { OAuthDiscoveryState, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';
import { isPlainObject } from '../values.js';

/** A token file larger than this is not ours: it is refused rather than parsed. */
const MAX_RECORD_BYTES = 256 * 1024;
/**
 * A lock file older than this was left by a gateway that died while refreshing: a refresh
 * (discovery and the token request, each bounded to 15 s) takes far less.
 */
const LOCK_STALE_MS = 60_000;
/** How often a waiting refresh looks at the lock again. */
const LOCK_POLL_MS = 50;

/** What is kept for one server (name + URL). */
export interface OAuthRecord {
  readonly server: string;
  /** The server's URL without credentials, as the record is keyed. */
  readonly url: string;
  /** The loopback redirect URI the client was registered with. */
  readonly redirectUri?: string;
  readonly client?: StoredOAuthClientInformation;
  readonly tokens?: StoredOAuthTokens;
  /** When the access token was obtained and when it expires (ms since the epoch); no expiry when the server gave none. */
  readonly obtainedAt?: number;
  readonly expiresAt?: number;
  readonly discovery?: OAuthDiscoveryState;
}

/** The default folder: $XDG_CONFIG_HOME/agent-mcp-gateway/oauth, else ~/.config/agent-mcp-gateway/oauth. */
export function defaultOAuthDir(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const config = env['XDG_CONFIG_HOME'];
  return join(config !== undefined && config.startsWith('/') ? config : join(home, '.config'), 'agent-mcp-gateway', 'oauth');
}

/** The URL a record is keyed on: credentials and fragment dropped (they never reach the server as part of it). */
export function recordUrl(rawUrl: string): string {
  const url = new URL(rawUrl);
  url.username = '';
  url.password = '';
  url.hash = '';
  return url.href;
}

export class OAuthStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * The file of server `name` at `url`. Two configurations with a same-named server at
   * different URLs get different files, so one server's tokens never go to the other.
   */
  fileOf(name: string, url: string): string {
    const hash = createHash('sha256')
      .update(`${name}\n${recordUrl(url)}`)
      .digest('hex')
      .slice(0, 16);
    return join(this.dir, `${name}-${hash}.json`);
  }

  /**
   * What is stored for the server, read at once (status lines must not wait): 'tokens', or
   * 'no_tokens' for a record whose tokens were dropped (a refused refresh); undefined for none.
   */
  storedSync(name: string, url: string): 'tokens' | 'no_tokens' | undefined {
    const file = this.fileOf(name, url);
    try {
      if (statSync(file).size > MAX_RECORD_BYTES) return undefined;
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (!isPlainObject(parsed) || parsed['server'] !== name || parsed['url'] !== recordUrl(url)) return undefined;
      return isPlainObject(parsed['tokens']) ? 'tokens' : 'no_tokens';
    } catch {
      return undefined;
    }
  }

  /** The record, or undefined when there is none or it cannot be used (wrong server, not JSON, too large). */
  async read(name: string, url: string): Promise<OAuthRecord | undefined> {
    const file = this.fileOf(name, url);
    let text: string;
    try {
      if ((await stat(file)).size > MAX_RECORD_BYTES) return undefined;
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!isPlainObject(parsed) || parsed['server'] !== name || parsed['url'] !== recordUrl(url)) return undefined;
    return parsed as unknown as OAuthRecord;
  }

  /** Replaces the record: written to a private temp file in the same folder, then renamed over the old one. */
  async write(record: OAuthRecord): Promise<void> {
    await this.#ensureDir();
    const file = this.fileOf(record.server, record.url);
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /**
   * Runs `task` holding the server's lock file, so that gateways sharing the folder refresh one
   * at a time (a refresh token is often good for one use only). A lock left by a gateway that
   * died is broken once stale; where no lock can be made (a read-only folder) the task runs
   * without one, as nothing could be written there either.
   */
  async withLock<T>(name: string, url: string, task: () => Promise<T>): Promise<T> {
    const lock = `${this.fileOf(name, url)}.lock`;
    const owner = randomBytes(12).toString('hex');
    const held = await this.#acquire(lock, owner);
    try {
      return await task();
    } finally {
      if (held) await this.#release(lock, owner);
    }
  }

  async #acquire(lock: string, owner: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await writeFile(lock, owner, { mode: 0o600, flag: 'wx' });
        return true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt === 0) {
          await this.#ensureDir().catch(() => {});
          continue;
        }
        if (code !== 'EEXIST') return false;
      }
      const age = await stat(lock).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (age > LOCK_STALE_MS) await rm(lock, { force: true });
      else await delay(LOCK_POLL_MS);
    }
  }

  async #release(lock: string, owner: string): Promise<void> {
    // A lock broken as stale and taken by another gateway is not ours to remove.
    const current = await readFile(lock, 'utf8').catch(() => undefined);
    if (current === owner) await rm(lock, { force: true });
  }

  /**
   * The folder is made for the user alone. One that exists is tightened only when others can
   * open it, and a failure to do so (a folder of another owner, a read-only mount) does not
   * stop the write: the files themselves are 0600.
   */
  async #ensureDir(): Promise<void> {
    const created = await mkdir(this.dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) return;
    const mode = (await stat(this.dir)).mode;
    if ((mode & 0o077) !== 0) await chmod(this.dir, 0o700).catch(() => {});
  }
}
