// Request rate limits for the HTTP mode, per route class and caller identity, on
// rate-limiter-flexible: fixed windows counted in memory, or in Redis so that several
// gateway instances behind a load balancer share one set of counters.
//
// Failure policy: when Redis cannot answer (down, unreachable, slower than the command
// timeout), each instance keeps limiting with its own in-memory counters (the library's
// insuranceLimiter) until Redis is back. Requests are neither all refused (a Redis outage
// must not stop every agent's tool calls) nor let through unlimited (a runaway client is
// still stopped, at worst at N times the limit behind N instances).

import { createHash } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import type { RateLimiterAbstract, RateLimiterRedis } from 'rate-limiter-flexible';
// Each limiter from its own file: the package's index loads every store it supports (Mongo,
// MySQL, Postgres, etcd, cluster, ...), about 1 MB of a process's memory for two classes.
import RateLimiterMemory from 'rate-limiter-flexible/lib/RateLimiterMemory.js';
import RateLimiterRes from 'rate-limiter-flexible/lib/RateLimiterRes.js';
import type { Logger } from '../log.js';
import {
  DEFAULT_RATE_LIMITS,
  parseRateLimitStorage,
  policyItem,
  ROUTE_CLASSES,
  type RateLimitRule,
  type RateLimitStorage,
  type RouteClass,
} from './rateLimitSpec.js';
import { errorMessage } from '../values.js';

export {
  DEFAULT_RATE_LIMIT_SPECS,
  DEFAULT_RATE_LIMITS,
  parseRateLimits,
  parseRateLimitStorage,
  RateLimitSpecError,
  ROUTE_CLASSES,
  type RateLimitRule,
  type RateLimitStorage,
  type RouteClass,
} from './rateLimitSpec.js';

export interface RateLimiterOptions {
  /** Rules per route class; a class left out gets DEFAULT_RATE_LIMITS. */
  readonly limits: Partial<Record<RouteClass, readonly RateLimitRule[]>>;
  /** "memory" (or "memory://"), a redis:// or rediss:// URL, or the result of parseRateLimitStorage. */
  readonly storage: string | RateLimitStorage;
  /** Prefix of every counter key in Redis. Default "agent-mcp-gateway:rl". */
  readonly keyPrefix?: string;
  readonly logger: Logger;
  /** A Redis command slower than this counts as Redis being unavailable. Default 500 ms. */
  readonly redisCommandTimeoutMs?: number;
}

/** The answer for one request: the tightest of its route class's rules decides the numbers. */
export interface RateDecision {
  readonly allowed: boolean;
  /** The deciding rule's quota (RateLimit-Limit). */
  readonly limit: number;
  /** Requests left in the deciding rule's window (RateLimit-Remaining). */
  readonly remaining: number;
  /** Seconds until the deciding rule's window resets (RateLimit-Reset). */
  readonly resetSeconds: number;
  /** Set when refused: seconds until every refusing rule lets a request through again. */
  readonly retryAfterSeconds?: number;
  /** RateLimit-Policy: every rule of the class, e.g. "30;w=60, 1000;w=3600". */
  readonly policy: string;
  readonly routeClass: RouteClass;
  /** The deciding rule. */
  readonly rule: RateLimitRule;
}

export interface RateLimiterStatus {
  readonly store: 'memory' | 'redis';
  /** The storage without credentials, e.g. "redis://10.0.0.5:6379/2". */
  readonly display: string;
  /** For Redis: whether counters are shared right now (false while counting per instance). */
  readonly shared: boolean;
}

export interface RateLimiter {
  /** Counts one request of `identityKey` (e.g. "agent:researcher", "ip:10.0.0.7") against every rule of the class. */
  check(routeClass: RouteClass, identityKey: string): Promise<RateDecision>;
  /** The response headers of a decision: RateLimit-Limit/-Remaining/-Reset/-Policy, and Retry-After when refused. */
  headers(decision: RateDecision): Record<string, string>;
  /** Resolves once counters are shared (at once for memory); rejects after `timeoutMs` without Redis. */
  ready(timeoutMs?: number): Promise<void>;
  status(): RateLimiterStatus;
  /** Disconnects from Redis. Idempotent. Later checks still answer, from per-instance memory. */
  close(): Promise<void>;
}

interface RuleLimiter {
  readonly rule: RateLimitRule;
  /** With Redis: its in-memory insurance until ioredis is loaded, then the Redis limiter over it. */
  limiter: RateLimiterAbstract;
}

interface Outcome {
  readonly entry: RuleLimiter;
  readonly allowed: boolean;
  readonly remaining: number;
  readonly resetMs: number;
}

const DEFAULT_KEY_PREFIX = 'agent-mcp-gateway:rl';
/** Identity keys longer than this are hashed, so a caller cannot grow Redis keys at will. */
const MAX_KEY_LENGTH = 200;

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const storage = typeof options.storage === 'string' ? parseRateLimitStorage(options.storage, 'rate-limit storage') : options.storage;
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const log = options.logger;
  const rules = resolveRules(options.limits);
  const redis = storage.kind === 'redis' ? new RedisStore(storage, options.redisCommandTimeoutMs ?? 500, log) : undefined;

  const classes = new Map<RouteClass, { entries: RuleLimiter[]; policy: string }>();
  for (const routeClass of ROUTE_CLASSES) {
    const classRules = rules[routeClass];
    const entries = classRules.map((rule): RuleLimiter => {
      const common = {
        points: rule.limit,
        duration: rule.windowSeconds,
        keyPrefix: `${keyPrefix}:${routeClass}:${rule.limit}/${rule.windowSeconds}`,
      };
      const insurance = new RateLimiterMemory(common);
      const entry: RuleLimiter = { rule, limiter: insurance };
      // Until ioredis is loaded Redis cannot be ready, and a Redis limiter would count in its
      // insurance: the insurance counts alone until then, and goes on under the Redis limiter.
      redis?.onClient((client, RedisLimiter) => {
        entry.limiter = new RedisLimiter({
          ...common,
          storeClient: client,
          // Fail fast to the insurance limiter instead of waiting for a reconnect.
          rejectIfRedisNotReady: true,
          insuranceLimiter: insurance,
          // A key over its quota is refused from memory until its window ends: a flood from
          // one identity does not become a flood of Redis commands.
          inMemoryBlockOnConsumed: rule.limit + 1,
        });
      });
      return entry;
    });
    classes.set(routeClass, { entries, policy: classRules.map(policyItem).join(', ') });
  }

  let closing: Promise<void> | undefined;

  return {
    async check(routeClass, identityKey) {
      const cls = classes.get(routeClass);
      if (!cls) throw new TypeError(`unknown rate-limit route class "${String(routeClass)}"`);
      const key = boundedKey(identityKey);
      const outcomes = await Promise.all(cls.entries.map((entry) => consume(entry, key, log)));
      const refused = outcomes.filter((o) => !o.allowed);
      if (refused.length > 0) {
        // A refused request does no work, so it costs nothing in the windows that had room.
        await Promise.all(outcomes.filter((o) => o.allowed).map((o) => o.entry.limiter.reward(key, 1).catch(() => undefined)));
      }
      const decider = refused.length > 0 ? pickRefusing(refused) : pickTightest(outcomes);
      const resetSeconds = Math.max(0, Math.ceil(decider.resetMs / 1000));
      return {
        allowed: refused.length === 0,
        limit: decider.entry.rule.limit,
        remaining: refused.length > 0 ? 0 : decider.remaining,
        resetSeconds,
        ...(refused.length > 0 ? { retryAfterSeconds: Math.max(1, resetSeconds) } : {}),
        policy: cls.policy,
        routeClass,
        rule: decider.entry.rule,
      };
    },

    headers(decision) {
      const h: Record<string, string> = {
        'RateLimit-Limit': String(decision.limit),
        'RateLimit-Remaining': String(decision.remaining),
        'RateLimit-Reset': String(decision.resetSeconds),
        'RateLimit-Policy': decision.policy,
      };
      if (!decision.allowed) h['Retry-After'] = String(decision.retryAfterSeconds ?? Math.max(1, decision.resetSeconds));
      return h;
    },

    ready(timeoutMs = 5000) {
      return redis ? redis.ready(timeoutMs) : Promise.resolve();
    },

    status() {
      return { store: storage.kind, display: storage.display, shared: redis ? redis.connected : false };
    },

    close() {
      closing ??= redis ? redis.close() : Promise.resolve();
      return closing;
    },
  };
}

function resolveRules(limits: RateLimiterOptions['limits']): Record<RouteClass, readonly RateLimitRule[]> {
  const out = {} as Record<RouteClass, readonly RateLimitRule[]>;
  for (const routeClass of ROUTE_CLASSES) {
    const given = limits[routeClass] ?? DEFAULT_RATE_LIMITS[routeClass];
    if (given.length === 0) throw new TypeError(`rate limits for "${routeClass}": at least one rule is required`);
    for (const rule of given) {
      if (!Number.isSafeInteger(rule.limit) || rule.limit < 1 || !Number.isSafeInteger(rule.windowSeconds) || rule.windowSeconds < 1) {
        throw new TypeError(`rate limits for "${routeClass}": invalid rule ${JSON.stringify(rule)}; build rules with parseRateLimits`);
      }
    }
    out[routeClass] = given;
  }
  return out;
}

async function consume(entry: RuleLimiter, key: string, log: Logger): Promise<Outcome> {
  try {
    const res = await entry.limiter.consume(key, 1);
    return { entry, allowed: true, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { entry, allowed: false, remaining: 0, resetMs: err.msBeforeNext };
    // Only when the insurance limiter failed too (it is in memory, so never in practice):
    // this rule lets the request through rather than failing it.
    log.warn({ err: errorMessage(err), rule: entry.rule.text }, 'rate limiter failed; request not counted');
    return { entry, allowed: true, remaining: entry.rule.limit, resetMs: entry.rule.windowSeconds * 1000 };
  }
}

/** Among refusing rules, the one that stays closed longest: Retry-After must outlast them all. */
function pickRefusing(refused: readonly Outcome[]): Outcome {
  return refused.reduce((a, b) => (b.resetMs > a.resetMs ? b : a));
}

/** The rule closest to exhaustion; on a tie, the one that takes longer to reset. */
function pickTightest(outcomes: readonly Outcome[]): Outcome {
  return outcomes.reduce((a, b) => (b.remaining < a.remaining || (b.remaining === a.remaining && b.resetMs > a.resetMs) ? b : a));
}

function boundedKey(identityKey: string): string {
  if (identityKey.length <= MAX_KEY_LENGTH) return identityKey;
  return `sha256:${createHash('sha256').update(identityKey).digest('hex')}`;
}

/**
 * The one Redis connection of a limiter: its owner, its state, its logs (never the URL's
 * credentials). ioredis (and the Redis limiter) is loaded here, so a gateway counting in
 * memory never loads it (about 10 MB of a process's memory).
 */
class RedisStore {
  #client: Redis | undefined;
  /** The client once ioredis is loaded; undefined when the store was closed first. */
  readonly #loading: Promise<Redis | undefined>;
  #limiter: typeof RateLimiterRedis | undefined;
  readonly #display: string;
  readonly #log: Logger;
  /** Set after the first failure, until the connection is ready again: one warning per outage. */
  #degraded = false;
  #closed = false;

  constructor(storage: Extract<RateLimitStorage, { kind: 'redis' }>, commandTimeoutMs: number, log: Logger) {
    this.#display = storage.display;
    this.#log = log;
    this.#loading = Promise.all([import('ioredis'), import('rate-limiter-flexible/lib/RateLimiterRedis.js')]).then(([{ Redis }, limiter]) => {
      if (this.#closed) return undefined;
      this.#limiter = limiter.default;
      this.#client = this.#connect(new Redis(storage.url, redisOptions(commandTimeoutMs)));
      return this.#client;
    });
    this.#loading.catch((err: unknown) => this.#failed(err));
  }

  /** `use` gets the client as soon as it exists, with the Redis limiter class to build on it. */
  onClient(use: (client: Redis, limiter: typeof RateLimiterRedis) => void): void {
    void this.#loading.then((client) => client && this.#limiter && use(client, this.#limiter), ignore);
  }

  #connect(client: Redis): Redis {
    client.on('ready', () => {
      if (this.#degraded) this.#log.info({ storage: this.#display }, 'rate-limit storage reachable again; counters are shared');
      else this.#log.info({ storage: this.#display }, 'rate-limit storage connected');
      this.#degraded = false;
    });
    // Without an 'error' listener ioredis reports every failed reconnect on the console.
    client.on('error', (err: unknown) => this.#failed(err));
    client.on('close', () => this.#failed(undefined));
    return client;
  }

  get connected(): boolean {
    return this.#client?.status === 'ready';
  }

  #failed(err: unknown): void {
    if (this.#closed) return;
    if (this.#degraded) {
      if (err !== undefined) this.#log.debug({ storage: this.#display, err: errorMessage(err) }, 'rate-limit storage still unavailable');
      return;
    }
    this.#degraded = true;
    this.#log.warn(
      { storage: this.#display, ...(err !== undefined ? { err: errorMessage(err) } : {}) },
      'rate-limit storage unavailable; limits are counted per gateway instance in memory until it is back',
    );
  }

  ready(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.#closed) return Promise.reject(new Error(`rate-limit storage ${this.#display}: closed`));
    return new Promise((resolve, reject) => {
      let lastError = '';
      let client: Redis | undefined;
      let settled = false;
      const onError = (err: unknown): void => {
        lastError = errorMessage(err);
      };
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client?.off('ready', onReady);
        client?.off('error', onError);
        if (err) reject(err);
        else resolve();
      };
      const onReady = (): void => settle();
      const timer = setTimeout(() => {
        const why = lastError ? ` (last error: ${lastError})` : '';
        settle(new Error(`rate-limit storage ${this.#display}: not reachable within ${timeoutMs} ms${why}`));
      }, timeoutMs);
      timer.unref();
      this.#loading.then(
        (loaded) => {
          if (settled) return;
          if (loaded === undefined) return settle(new Error(`rate-limit storage ${this.#display}: closed`));
          if (loaded.status === 'ready') return settle();
          client = loaded;
          client.on('ready', onReady);
          client.on('error', onError);
        },
        (err: unknown) => settle(new Error(`rate-limit storage ${this.#display}: ${errorMessage(err)}`)),
      );
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = await this.#loading.catch(() => undefined);
    if (client === undefined) return;
    if (client.status === 'ready') {
      await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
    client.disconnect();
  }
}

function redisOptions(commandTimeoutMs: number): RedisOptions {
  return {
    // Commands fail at once while disconnected (and then go to the in-memory insurance
    // limiter) instead of queueing until Redis is back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 5000,
    // Reconnect forever, at most every 2 s.
    retryStrategy: (times) => Math.min(times * 100, 2000),
  };
}

function ignore(): void {}
