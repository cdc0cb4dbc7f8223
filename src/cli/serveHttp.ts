// `--transport http`: the same gateway as stdio, served over HTTP (Streamable HTTP on /mcp
// and the SignalWire-shaped REST API). Checks what must hold before listening (credentials
// on a non-loopback host, TLS files), then starts the server and returns the handle main.ts
// drives on SIGTERM/SIGINT/SIGHUP.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Authenticator } from '../http/auth.js';
import { createMetrics, type GatewayMetricsExporter } from '../http/metrics.js';
import { createRateLimiter, type RateLimiter } from '../http/rateLimit.js';
import { HostPolicy } from '../http/host.js';
import { OriginPolicy } from '../http/origin.js';
import { startHttpGateway, type HttpGatewayHandle } from '../http/server.js';
import type { CliIo } from './io.js';
import { prepareGateway, type ServeHandle } from './serve.js';
import { SettingsError, type HttpSettings, type ServeSettings } from './settings.js';

/** SignalWire's gateway serves HTTPS when this file (certificate and key in one PEM) exists in its working directory. */
const SIGNALWIRE_PEM = join('certs', 'server.pem');

const RATE_LIMIT_READY_BOUND_MS = 3_000;

/** Time for closing sessions, downstreams and the audit log after the drain, before main.ts forces the exit. */
const AFTER_DRAIN_GRACE_MS = 5_000;

function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.toLowerCase().startsWith('::ffff:127.');
  return false;
}

function readTls(http: HttpSettings, cwd: string): { cert: Buffer; key: Buffer; source: string } | undefined {
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new SettingsError(`${what}: cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  if (http.tls) {
    return {
      cert: read(http.tls.certPath, '--tls-cert (GATEWAY_TLS_CERT)'),
      key: read(http.tls.keyPath, '--tls-key (GATEWAY_TLS_KEY)'),
      source: 'flags',
    };
  }
  const pem = join(cwd, SIGNALWIRE_PEM);
  if (!existsSync(pem)) return undefined;
  const both = read(pem, SIGNALWIRE_PEM);
  return { cert: both, key: both, source: pem };
}

export async function runServeHttp(io: CliIo, settings: ServeSettings): Promise<ServeHandle> {
  const http = settings.http;
  if (!http) throw new SettingsError('--transport http without HTTP settings');
  const tls = readTls(http, io.cwd);
  const prepared = await prepareGateway(io, settings);
  const { gateway, logger } = prepared;
  const loopback = isLoopbackHost(http.host);
  const perAgent = Object.keys(gateway.credentials() ?? {}).length;
  const shared = http.basic !== undefined || http.token !== undefined;
  const issuers = gateway.oauth()?.issuers.length ?? 0;
  let server: HttpGatewayHandle;
  let metrics: GatewayMetricsExporter | undefined;
  let rateLimiter: RateLimiter | undefined;
  try {
    if (issuers > 0 && http.resourceUrl === undefined) {
      throw new SettingsError('the rules file configures "oauth" issuers: set --resource-url (GATEWAY_RESOURCE_URL), the audience their tokens must carry');
    }
    if (!loopback && !shared && perAgent === 0 && issuers === 0 && !http.allowUnauthenticated) {
      throw new SettingsError(
        `refusing to serve ${http.host} (not a loopback address) without credentials: set GATEWAY_AUTH_TOKEN, ` +
          'GATEWAY_AUTH_USER/GATEWAY_AUTH_PASSWORD, or per-agent "credentials" in the rules file; or pass --allow-unauthenticated',
      );
    }
    metrics = createMetrics(gateway);
    const exporter = metrics;
    prepared.observers.call.push((event) => exporter.onCall(event));
    prepared.observers.reload.push((file, outcome) => exporter.onReload(file, outcome));
    rateLimiter = createRateLimiter({ limits: http.rateLimits.limits, storage: http.rateLimits.storage, logger });
    // Redis: wait briefly for shared counters; meanwhile (or if Redis stays away) each instance counts alone.
    await rateLimiter.ready(RATE_LIMIT_READY_BOUND_MS).catch(() => {
      logger.warn({ storage: http.rateLimits.storage.display }, 'rate-limit storage not reachable yet; counting per instance until it is');
    });
    server = await startHttpGateway({
      rateLimiter,
      metrics,
      gateway,
      logger,
      host: http.host,
      port: http.port,
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      authenticator: new Authenticator(
        { ...(http.basic ? { basic: http.basic } : {}), ...(http.token !== undefined ? { token: http.token } : {}) },
        loopback || http.allowUnauthenticated,
        {
          ...(http.resourceUrl !== undefined ? { resourceUrl: http.resourceUrl } : {}),
          onProviderError: (issuer, err) =>
            logger.warn({ issuer, err: err instanceof Error ? err.message : String(err) }, 'identity provider metadata or keys unavailable'),
        },
      ),
      origins: new OriginPolicy(http.allowedOrigins),
      hosts: new HostPolicy(http.allowedHosts, { host: http.host, loopback }),
      limits: http.connectionLimits,
      maxMcpSessions: http.maxMcpSessions,
      ...(http.maxMcpSessionsPerIdentity !== undefined ? { maxMcpSessionsPerIdentity: http.maxMcpSessionsPerIdentity } : {}),
      mcpSessionIdleTimeoutMs: http.mcpSessionIdleTimeoutMs,
      maxBodyBytes: http.maxBodyBytes,
      drainTimeoutMs: http.drainTimeoutMs,
    });
  } catch (err) {
    await rateLimiter?.close();
    metrics?.close();
    await gateway.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new SettingsError(`--port (GATEWAY_HTTP_PORT): ${http.host}:${http.port} is already in use`);
    if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL' || (err as NodeJS.ErrnoException).code === 'ENOTFOUND') {
      throw new SettingsError(`--host (GATEWAY_HTTP_HOST): cannot listen on '${http.host}'`);
    }
    throw err;
  }
  gateway.start();
  logger.info(
    {
      ...prepared.summary,
      url: server.url,
      tls: tls ? tls.source : false,
      auth: {
        basic: http.basic !== undefined,
        bearer: http.token !== undefined,
        per_agent_credentials: perAgent,
        oauth_issuers: issuers,
        ...(http.resourceUrl !== undefined ? { resource_url: http.resourceUrl } : {}),
        anonymous: !shared && (loopback || http.allowUnauthenticated) ? 'allowed while no credential is configured' : false,
      },
      allowed_origins: http.allowedOrigins ?? 'loopback origins',
      allowed_hosts: http.allowedHosts ?? (loopback ? 'loopback names' : 'any'),
      rate_limits: { storage: rateLimiter?.status() ?? null, custom: Object.keys(http.rateLimits.limits) },
      max_body_bytes: http.maxBodyBytes,
    },
    `agent-mcp-gateway ready on ${server.url}`,
  );
  if (!loopback && !tls) logger.warn('serving plain HTTP on a non-loopback address: credentials cross the network in clear text; use TLS');
  let shuttingDown: Promise<void> | undefined;
  return {
    clientGone: new Promise<void>(() => undefined),
    logger,
    shutdownGraceMs: http.drainTimeoutMs + AFTER_DRAIN_GRACE_MS,
    shutdown: () => {
      // Stop accepting and drain (bounded), close MCP sessions, then the downstreams and the audit log.
      const limiter = rateLimiter;
      const exporter = metrics;
      shuttingDown ??= server
        .close()
        .then(() => Promise.all([gateway.close(), limiter?.close()]))
        .then(() => exporter?.close());
      return shuttingDown;
    },
    killSync: () => {
      server.destroyConnections();
      gateway.killSync();
    },
    reload: (trigger = 'SIGHUP') => {
      gateway.reload(undefined, trigger);
    },
  };
}
