// The life of one downstream's SDK client: started on demand, ready, broken (the process
// exited, the connection failed), started again after the backoff (supervision.ts), closed
// for good. DownstreamConnection puts the request surface on top of it.

import type { Logger } from 'pino';
import type { Client, Transport, LoggingLevel, ServerCapabilities, VersionNegotiationOptions } from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { redactSecrets } from '../redact.js';
import { errorMessage } from '../values.js';
import { clampTimer, raceAbort, TotalTimeoutReason } from './abort.js';
import { createClient, defaultTransportFactory, type TransportFactory } from './clientFactory.js';
import { realClock, type Clock } from './clock.js';
import type { ConnectionOptions, ConnectionState } from './connectionOptions.js';
import { Disposal } from './disposal.js';
import { describeConnectFailure, describeExitInfo, isTimeout, redactUrls, throwIfLoginRequired } from './failureMapping.js';
import { ListenStream } from './listenStream.js';
import { connectPrior, retryPlan, versionNegotiationFor, type EraPlan, type ProtocolEra } from './negotiation.js';
import { ProcessGroupTransport } from './processGroupTransport.js';
import { Supervision } from './supervision.js';
import { interceptTaskResults } from './tasks.js';
import type { CallContext } from './toolCall.js';
import { ToolCache } from './toolList.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_LIST_TIMEOUT_MS = 30_000;
const LOG_LEVEL_TIMEOUT_MS = 10_000;
const STDERR_LINES_IN_MESSAGES = 10;

export class SupervisedClient implements CallContext {
  spec: ServerSpec;
  readonly opts: ConnectionOptions;
  readonly log: Logger;
  readonly clock: Clock;
  readonly supervision: Supervision;
  /** The tool list of the current client; dropped with it. */
  readonly tools = new ToolCache();
  /** The subscriptions/listen stream of a modern client, and the resources subscribed. */
  readonly listen: ListenStream;
  /** How close() fails the calls that run without an AbortController of ours. */
  readonly failOnClose = new Set<(reason: unknown) => void>();
  readonly #makeTransport: TransportFactory;
  readonly #lifetime = new AbortController();
  readonly #disposal: Disposal;

  state: ConnectionState = 'idle';
  lastError: string | undefined;
  /** Set when the connection broke on a message over maxResultBytes, until the next one is ready. */
  resultTooLarge: string | undefined;
  client: Client | undefined;
  #transport: Transport | undefined;
  /** Bumped for every new client and on close; callbacks of older clients compare and bow out. */
  generation = 0;
  #connecting: Promise<void> | undefined;

  serverCapabilities: ServerCapabilities | undefined;
  /** What the last client that became ready negotiated; kept while a restart is pending. */
  era: ProtocolEra | undefined;
  protocolVersion: string | undefined;
  /** The server exited on the server/discover probe once: it is a 2025 server, started without the probe. */
  #exitsOnProbe = false;
  /** The level last sent to the current client with logging/setLevel. */
  #sentLogLevel: LoggingLevel | undefined;

  constructor(spec: ServerSpec, opts: ConnectionOptions) {
    this.spec = spec;
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.#makeTransport = opts.transportFactory ?? defaultTransportFactory(opts);
    this.supervision = new Supervision(opts.backoff, this.clock);
    this.log = opts.logger.child({ server: spec.name });
    this.#disposal = new Disposal(this.log, this.clock);
    this.listen = new ListenStream(this.log, this.clock, () =>
      Math.min(opts.listTimeoutMs ?? DEFAULT_LIST_TIMEOUT_MS, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    );
    if (spec.configError !== undefined) {
      this.state = 'failed';
      this.lastError = spec.configError;
    }
  }

  get server(): string {
    return this.spec.name;
  }
  /** Aborted when the connection is closed for good. */
  get lifetime(): AbortSignal {
    return this.#lifetime.signal;
  }
  get pid(): number | undefined {
    if (!(this.#transport instanceof ProcessGroupTransport) || this.#transport.exitInfo) return undefined;
    return this.#transport.pid;
  }
  get nextRetryAt(): number | undefined {
    return this.state === 'failed' ? this.supervision.retryAt() : undefined;
  }

  /** The level the gateway's clients asked for (CallContext). */
  readonly logLevel = (): LoggingLevel | undefined => this.opts.logLevel?.();

  syncLogLevel(): void {
    const client = this.client;
    const level = this.opts.logLevel?.();
    if (level === undefined || level === this.#sentLogLevel || this.state !== 'ready' || !client) return;
    // logging/setLevel is gone from the 2026 protocol.
    if (!this.serverCapabilities?.logging || client.getProtocolEra() === 'modern') return;
    this.#sentLogLevel = level;
    client.setLoggingLevel(level, { timeout: LOG_LEVEL_TIMEOUT_MS }).catch((err: unknown) => {
      this.log.debug({ err: errorMessage(err), level }, 'downstream refused logging/setLevel');
    });
  }

  stderrTail(lines: number): string {
    return this.#transport instanceof ProcessGroupTransport ? redactSecrets(this.#transport.stderrTail(lines)) : '';
  }

  connect(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(this.closedError());
    if (this.state === 'ready') return Promise.resolve();
    // An entry that did not load has nothing to start; a fixed entry comes as a new connection.
    if (this.spec.configError !== undefined) {
      return Promise.reject(new GatewayError('SERVER_UNAVAILABLE', this.spec.configError, { server: this.server }));
    }
    if (this.opts.singleLife && this.supervision.wasReady) return Promise.reject(this.unavailableError());
    if (!this.#connecting) {
      const retryAt = this.nextRetryAt;
      const wait = retryAt === undefined ? 0 : this.supervision.until(retryAt);
      // One reading of the clock decides both: refused, or waited out and tried.
      if (wait > 0 && this.supervision.consecutiveFailures >= this.supervision.policy.failFastAfter) {
        const message = this.supervision.failFastMessage(this.server, this.lastError, retryAt!);
        return Promise.reject(new GatewayError('SERVER_UNAVAILABLE', message, { server: this.server }));
      }
      const attempt = (wait > 0 ? this.#backoffWait(wait).then(() => this.#openClient()) : this.#openClient()).finally(() => {
        if (this.#connecting === attempt) this.#connecting = undefined;
      });
      this.#connecting = attempt;
    }
    return this.#connecting;
  }

  /** Connects if needed; the caller's abort stops the wait, not the shared attempt. */
  async ready(signal: AbortSignal | undefined): Promise<Client> {
    if (this.state === 'closed') throw this.closedError();
    if (this.state !== 'ready' || !this.client) {
      await raceAbort(this.connect(), signal);
    }
    const client = this.client;
    if (!client || this.state !== 'ready') throw this.unavailableError();
    return client;
  }

  /** The server answered: whatever failed before is over. */
  succeeded(client: Client): void {
    if (this.client === client && this.state === 'ready') this.supervision.recordSuccess();
  }

  async close(): Promise<void> {
    // Shutdown must not look like a crash: the state and generation change first, so the
    // onclose of the client being closed is recognized as ours.
    this.state = 'closed';
    this.generation++;
    this.tools.drop();
    this.listen.detach();
    const reason = new Error(`Connection to server '${this.server}' closed`);
    this.#lifetime.abort(reason);
    for (const fail of [...this.failOnClose]) fail(reason);
    this.failOnClose.clear();
    const client = this.client;
    const transport = this.#transport;
    this.client = undefined;
    if (client && transport) this.#disposal.dispose(client, transport, true);
    await this.#disposal.settled();
  }

  killSync(): void {
    this.#disposal.killSync();
  }

  async #openClient(): Promise<void> {
    if (this.state === 'failed') this.supervision.restarts++;
    this.state = 'connecting';
    const generation = ++this.generation;
    this.tools.drop();

    const timeoutMs = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    let outcome = await this.#attempt(generation, timeoutMs, timeoutMs, this.#exitsOnProbe ? 'legacy' : 'probe');
    if (typeof outcome === 'string') {
      const plan = outcome;
      this.log.info({ plan }, 'downstream server did not take the server/discover probe; starting it again');
      // A new process, so a new start: a slow starter needs its whole time again.
      outcome = await this.#attempt(generation, timeoutMs, timeoutMs, plan);
      if (typeof outcome === 'string') throw this.closedError();
      // Until this connection is replaced (config change) or the gateway restarts: a restart
      // of this server would only die on the probe again.
      if (plan === 'legacy') this.#exitsOnProbe = true;
    }
    const client = outcome;
    // Ready once changes can reach us: a change between connect and the stream would be lost.
    if (generation === this.generation) await this.listen.attach(client);
    if (generation !== this.generation || this.state !== 'connecting') {
      throw this.closedError();
    }
    this.#becameReady(client);
    // It closed while the stream was being opened, which onClose ignores before ready.
    if (client.transport === undefined) this.broken(this.#describeExit() ?? 'closed the connection');
  }

  /**
   * One start + connect, bounded by `boundMs` (`timeoutMs` is what messages name). Resolves
   * with the plan for one more start when the server did not take the probe (retryPlan).
   */
  async #attempt(generation: number, boundMs: number, timeoutMs: number, plan: EraPlan): Promise<Client | EraPlan> {
    let transport: Transport;
    try {
      transport = this.#makeTransport(this.spec);
      this.#disposal.track(transport);
    } catch (err) {
      if (generation !== this.generation || this.#isClosed()) throw this.closedError();
      const message = err instanceof GatewayError ? err.message : `Server '${this.server}' cannot be set up: ${errorMessage(err)}`;
      this.#startFailed(message);
      throw new GatewayError('SERVER_UNAVAILABLE', message, { server: this.server }, { cause: err });
    }
    const client = this.#newClient(generation, versionNegotiationFor(this.spec, plan, boundMs));
    this.client = client;
    this.#transport = transport;
    const attempt = new AbortController();
    const onLifetimeAbort = (): void => attempt.abort(this.#lifetime.signal.reason);
    this.#lifetime.signal.addEventListener('abort', onLifetimeAbort, { once: true });
    // client.connect's own timeout covers only initialize; transport start (an SSE stream
    // that never opens) needs a bound too.
    const timer = this.clock.setTimeout(() => attempt.abort(new TotalTimeoutReason('connect timeout')), clampTimer(boundMs));
    try {
      const connecting = client.connect(transport, { timeout: clampTimer(boundMs), signal: attempt.signal, ...connectPrior(plan) });
      await raceAbort(connecting, attempt.signal);
      interceptTaskResults(transport, generation);
      return client;
    } catch (err) {
      // close() ran meanwhile; it disposes this client itself. (A method call, because TS
      // narrowed state to 'connecting' above and cannot see close() change it.)
      if (generation !== this.generation || this.#isClosed()) throw this.closedError();
      const timedOut = attempt.signal.reason instanceof TotalTimeoutReason || isTimeout(err);
      // Whether the child ended by itself must be read before we kill it below.
      const exit = transport instanceof ProcessGroupTransport ? transport.exitInfo : undefined;
      // Make sure the process is gone (and its stderr drained) before describing it.
      this.client = undefined;
      await this.#disposal.disposeAndWait(client, transport);
      throwIfLoginRequired(err, this);
      const retry = plan === 'probe' && !timedOut && transport instanceof ProcessGroupTransport ? retryPlan(err, exit) : undefined;
      if (retry !== undefined) {
        if (generation !== this.generation || this.#isClosed()) throw this.closedError();
        return retry;
      }
      const message = describeConnectFailure({
        spec: this.spec,
        err,
        timedOut,
        timeoutMs,
        process: transport instanceof ProcessGroupTransport ? { exit, withStderr: (m) => this.#withStderr(m) } : undefined,
      });
      this.#startFailed(message);
      throw new GatewayError('SERVER_UNAVAILABLE', message, { server: this.server }, { cause: err });
    } finally {
      this.clock.clearTimeout(timer);
      this.#lifetime.signal.removeEventListener('abort', onLifetimeAbort);
    }
  }

  #becameReady(client: Client): void {
    this.state = 'ready';
    this.lastError = undefined;
    this.resultTooLarge = undefined;
    this.supervision.recordReady();
    this.serverCapabilities = client.getServerCapabilities();
    this.era = client.getProtocolEra();
    this.protocolVersion = client.getNegotiatedProtocolVersion();
    this.#sentLogLevel = undefined;
    this.syncLogLevel();
    const version = client.getServerVersion();
    const restarts = this.supervision.restarts;
    this.log.info(
      {
        pid: this.pid,
        serverName: version?.name,
        serverVersion: version?.version,
        protocolVersion: this.protocolVersion,
        ...(restarts > 0 ? { restarts } : {}),
      },
      'downstream server connected',
    );
    this.opts.onReady?.(this.server);
  }

  #newClient(generation: number, negotiation: VersionNegotiationOptions): Client {
    return createClient(
      this.opts.clientInfo,
      {
        server: this.server,
        logger: this.log,
        onServerRequest: this.opts.onServerRequest,
        isCurrent: () => generation === this.generation,
        onToolsChanged: () => {
          this.tools.drop();
          this.opts.onToolsChanged?.(this.server);
        },
        onLog: (params) => this.opts.onLog?.(this.server, params),
        onNotification: (notification) => this.opts.onNotification?.(this.server, notification),
        onClose: () => {
          // Protocol calls this before it rejects the pending requests, so they see lastError.
          if (this.state !== 'ready') return;
          const tooLarge = this.#transport instanceof ProcessGroupTransport ? this.#transport.outputTooLarge : undefined;
          if (tooLarge !== undefined) this.resultTooLarge = `Server '${this.server}' ${tooLarge}`;
          this.broken(tooLarge ?? this.#describeExit() ?? 'closed the connection');
        },
      },
      negotiation,
    );
  }

  /** Sleeps out the backoff before an attempt; close() cuts it short. */
  #backoffWait(ms: number): Promise<void> {
    this.log.debug({ waitMs: ms, failures: this.supervision.consecutiveFailures }, 'waiting before restarting downstream server');
    return this.supervision.wait(ms, this.#lifetime.signal, () => this.closedError());
  }

  /** The server died or the connection broke while we were using it. */
  broken(what: string): void {
    const message = `Server '${this.server}' ${what}`;
    this.log.warn({ lastError: message }, 'downstream server became unavailable');
    const client = this.client;
    const transport = this.#transport;
    this.client = undefined;
    this.listen.detach();
    this.supervision.recordBroken();
    this.#markFailed(message);
    if (client && transport) this.#disposal.dispose(client, transport, false);
  }

  /** Stops using a client without it counting as a failure (HTTP session expiry). */
  retire(client: Client): void {
    const transport = this.#transport;
    this.generation++;
    this.client = undefined;
    this.state = 'idle';
    this.tools.drop();
    this.listen.detach();
    if (transport) this.#disposal.dispose(client, transport, false);
  }

  /**
   * A start that failed on its own (never one that close() interrupted): logged here, once,
   * whoever asked for it (a call in lazy mode, the eager start, an isolated instance).
   */
  #startFailed(message: string): void {
    this.#markFailed(message);
    this.log.warn({ error: message }, 'downstream server failed to start');
  }

  #markFailed(message: string): void {
    this.state = 'failed';
    this.lastError = message;
    const failingFastNow = this.supervision.recordFailure();
    this.tools.drop();
    if (failingFastNow) {
      const retryAt = this.nextRetryAt;
      this.log.warn(
        { failures: this.supervision.consecutiveFailures, nextRetry: retryAt === undefined ? null : new Date(retryAt).toISOString() },
        'downstream server marked failed: calls fail fast until the next retry',
      );
    }
  }

  /** "exited with code 42. Last stderr lines: ..." once the stdio child has ended. */
  #describeExit(): string | undefined {
    const transport = this.#transport;
    if (!(transport instanceof ProcessGroupTransport) || !transport.exitInfo) return undefined;
    return this.#withStderr(describeExitInfo(transport.exitInfo));
  }

  #withStderr(message: string): string {
    const tail = this.stderrTail(STDERR_LINES_IN_MESSAGES);
    return tail === '' ? message : `${message}. Last stderr lines:\n${tail}`;
  }

  unavailableError(cause?: unknown, tool?: string): GatewayError {
    const details = tool === undefined ? { server: this.server } : { server: this.server, tool };
    // Between the child's exit and onclose (a few ms) lastError is not set yet.
    const exit = this.state === 'ready' ? this.#describeExit() : undefined;
    const message =
      this.lastError ??
      (exit !== undefined ? `Server '${this.server}' ${exit}` : `Server '${this.server}' is unavailable${cause ? `: ${redactUrls(errorMessage(cause))}` : ''}`);
    return new GatewayError('SERVER_UNAVAILABLE', message, details, { cause });
  }

  #isClosed(): boolean {
    return this.state === 'closed';
  }

  closedError(): GatewayError {
    return new GatewayError('SERVER_UNAVAILABLE', `Connection to server '${this.server}' is closed`, { server: this.server });
  }
}
