import type {
  CompleteRequest,
  InputRequiredResult,
  CompleteResult,
  GetPromptResult,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplateType,
  Tool,
} from '@modelcontextprotocol/server';
import { CompleteResultSchema } from '@modelcontextprotocol/core';
import type { Logger } from 'pino';
import type { DownstreamPool } from '../../downstream/pool.js';
import { GatewayError } from '../../errors.js';
import type { CallOutcome, CallRequest, Operation } from '../calls/request.js';
import type { OperationContext, Snapshot } from '../context.js';
import { authorizeResource, authorizeServer, canonicalUri } from '../operations/access.js';
import { isInputRequiredResult } from '../../downstream/connection.js';
import { connectionFor } from '../operations/lease.js';
import { downstreamRequest } from '../operations/downstreamRequest.js';
import { getPromptOn, promptArguments } from '../operations/getPrompt.js';
import { readResourceOn } from '../operations/readResource.js';
import { metaTools } from '../metaTools.js';
import type { ToolAnswer } from '../calls/toolAnswer.js';
import { toolResult } from '../results.js';
import { protocolValue } from '../calls/protocolValue.js';
import type { CallPeer, RequestExtra, UpstreamSession } from '../serverRequests.js';
import { Catalog, type PromptVetter } from './catalog.js';
import { ListChanges, type ListKind } from './listChanges.js';
import { nativeName, type NamingOptions } from './names.js';
import { quarantinedNative } from '../pins/quarantine.js';
import { nativeToolOperation } from './nativeTool.js';
import { fromGatewayUri, toGatewayUri } from './resourceUris.js';
import { Subscriptions } from './subscriptions.js';
import { visiblePrompts, visibleResources, visibleResourceTemplates, visibleTools, type Target, type VisibleToolsCache, type VisibilityContext } from './visible.js';
import { depthProblem } from '../inputBounds.js';
import type { SearchHit } from '../search/toolIndex.js';

// The native side of the gateway: the downstream tools, resources, templates and prompts an
// agent may use, offered directly, and list_changed when that set changes. Every request that
// reaches a downstream goes through the gateway's one call path (identity, policy, audit,
// metrics) as an operation; this class only maps names and URIs and shapes protocol answers.

/** Native requests carry no gateway arguments: the audit line records none. */
const NO_ARGS: Readonly<Record<string, unknown>> = Object.freeze({});

/** Every meta-tool name, whether offered now or not, so a native name never depends on debug mode. */
const RESERVED: ReadonlySet<string> = new Set(metaTools(true).map((t) => t.name));

/** What the surface needs of the Gateway. */
export interface SurfaceHost {
  readonly snapshot: Snapshot;
  readonly pool: DownstreamPool;
  /** The agent a session's requests act as when they carry no agent_id; undefined: none can be settled. */
  agentFor(session: UpstreamSession): string | undefined;
  /** Runs an operation through identity, audit and metrics (the gateway's one call path). */
  run<T>(request: CallRequest, operation: Operation<T>): Promise<CallOutcome<T>>;
  /** The gateway's own tools this session is offered (none in native mode). */
  metaTools(): readonly Tool[];
}

export interface SurfaceOptions {
  readonly host: SurfaceHost;
  readonly naming: NamingOptions;
  readonly logger: Logger;
  readonly listChangedDebounceMs: number;
  /** Native lists are offered (modes native and both). */
  readonly enabled: boolean;
  /** Every prompt list passes through it before it is cached or seen (the gateway's pins). */
  readonly vetPrompts?: PromptVetter;
}

export class NativeSurface {
  readonly #host: SurfaceHost;
  readonly #naming: NamingOptions;
  readonly #logger: Logger;
  readonly #enabled: boolean;
  readonly #catalog: Catalog;
  readonly #toolCache: VisibleToolsCache = new WeakMap();
  /** Per native tool list (its targets map): server and tool -> native name, for search_tools. */
  readonly #namesByTarget = new WeakMap<ReadonlyMap<string, Target>, Map<string, string>>();
  readonly #changes: ListChanges;
  readonly #subscriptions: Subscriptions;

  constructor(options: SurfaceOptions) {
    this.#host = options.host;
    this.#naming = options.naming;
    this.#logger = options.logger;
    this.#enabled = options.enabled;
    this.#catalog = new Catalog(options.vetPrompts);
    this.#changes = new ListChanges({
      debounceMs: options.listChangedDebounceMs,
      logger: options.logger,
      current: (session, kind) => this.#answer(session, kind),
    });
    this.#subscriptions = new Subscriptions(() => this.#host.pool, options.logger);
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get catalog(): Catalog {
    return this.#catalog;
  }

  #visibility(): VisibilityContext {
    return {
      snapshot: this.#host.snapshot,
      pool: this.#host.pool,
      catalog: this.#catalog,
      naming: this.#naming,
      logger: this.#logger,
      reserved: RESERVED,
      toolCache: this.#toolCache,
    };
  }

  /**
   * Where a native tool name of this operation's agent leads. Clients list before they call,
   * so the servers already running nearly always hold the name, and a call does not wait for
   * the others; only a name not found there asks every server the agent may use.
   */
  async #resolveTool(ctx: OperationContext, name: string) {
    const visibility = { ...this.#visibility(), snapshot: ctx.snapshot, pool: ctx.pool };
    return (await visibleTools(visibility, ctx.agentId, true)).targets.get(name) ?? (await visibleTools(visibility, ctx.agentId)).targets.get(name);
  }

  /**
   * search_tools in native mode: a hit renamed to the native name this operation's agent
   * calls, or undefined when it has none. Only running servers' lists are read, so a search
   * never starts a server.
   */
  async searchNames(ctx: OperationContext): Promise<(hit: SearchHit) => SearchHit | undefined> {
    const { targets } = await visibleTools({ ...this.#visibility(), snapshot: ctx.snapshot, pool: ctx.pool }, ctx.agentId, true);
    let names = this.#namesByTarget.get(targets);
    if (!names) {
      names = new Map();
      for (const [name, target] of targets) names.set(`${target.server}\u0000${target.name}`, name);
      this.#namesByTarget.set(targets, names);
    }
    const byTarget = names;
    return (hit) => {
      const name = byTarget.get(`${hit.server}\u0000${hit.tool}`);
      return name === undefined ? undefined : { ...hit, tool: name };
    };
  }

  // ---- lists ----

  async tools(session: UpstreamSession): Promise<Tool[]> {
    const answer = await this.#answer(session, 'tools');
    if (this.#enabled) this.#changes.shown(session, 'tools', answer);
    return answer;
  }

  async resources(session: UpstreamSession): Promise<Resource[]> {
    return (await this.#resourceLists(session))[0];
  }

  async resourceTemplates(session: UpstreamSession): Promise<ResourceTemplateType[]> {
    return (await this.#resourceLists(session))[1];
  }

  async #resourceLists(session: UpstreamSession): Promise<[Resource[], ResourceTemplateType[]]> {
    const answer = (await this.#answer(session, 'resources')) as [Resource[], ResourceTemplateType[]];
    this.#changes.shown(session, 'resources', answer);
    return answer;
  }

  async prompts(session: UpstreamSession): Promise<Prompt[]> {
    const answer = await this.#answer(session, 'prompts');
    this.#changes.shown(session, 'prompts', answer);
    return answer;
  }

  async #answer(session: UpstreamSession, kind: 'tools'): Promise<Tool[]>;
  async #answer(session: UpstreamSession, kind: 'prompts'): Promise<Prompt[]>;
  async #answer(session: UpstreamSession, kind: ListKind): Promise<unknown>;
  async #answer(session: UpstreamSession, kind: ListKind): Promise<unknown> {
    const agent = this.#host.agentFor(session);
    const visibility = this.#visibility();
    switch (kind) {
      case 'tools': {
        const native = this.#enabled && agent !== undefined ? (await visibleTools(visibility, agent)).tools : [];
        return [...this.#host.metaTools(), ...native];
      }
      case 'prompts':
        return agent === undefined ? [] : (await visiblePrompts(visibility, agent)).prompts;
      case 'resources':
        // One fingerprint for both lists: resources/list_changed covers templates too.
        return agent === undefined ? [[], []] : Promise.all([visibleResources(visibility, agent), visibleResourceTemplates(visibility, agent)]);
    }
  }

  // ---- calls ----

  async callTool(name: string, args: unknown, peer: CallPeer): Promise<ToolAnswer> {
    const operation = nativeToolOperation(
      name,
      (ctx) => this.#resolveTool(ctx, name),
      (ctx) => quarantinedNative(ctx, name, (server, tool) => nativeName(server, tool, this.#naming)),
    );
    const request: CallRequest = { operation: 'native_call', caller: peer.session, args, ownArgs: false, signal: peer.extra.mcpReq.signal, peer };
    return toolResult(await this.#host.run(request, operation));
  }

  async readResource(uri: string, extra: RequestExtra, session: UpstreamSession): Promise<ReadResourceResult | InputRequiredResult> {
    const target = fromGatewayUri(uri);
    const outcome = await this.#host.run(nativeRequest('resources/read', NO_ARGS, extra, session), async (ctx) => {
      if (!target) throw resourceNotFound(uri);
      return readResourceOn(ctx, target.server, target.uri);
    });
    const result = protocolValue(outcome, { resource: uri });
    if (isInputRequiredResult(result)) return result;
    return { contents: result.contents.map((resource) => ({ ...resource, uri: toGatewayUri(target!.server, resource.uri) })) };
  }

  async getPrompt(name: string, rawArgs: unknown, extra: RequestExtra, session: UpstreamSession): Promise<GetPromptResult | InputRequiredResult> {
    const outcome = await this.#host.run(nativeRequest('prompts/get', NO_ARGS, extra, session), async (ctx) => {
      const target = (await visiblePrompts({ ...this.#visibility(), snapshot: ctx.snapshot }, ctx.agentId)).targets.get(name);
      if (!target) throw new GatewayError('PROMPT_NOT_FOUND', `Unknown prompt: ${name}`);
      return getPromptOn(ctx, target.server, target.name, promptArguments({ arguments: rawArgs }, 'arguments'));
    });
    return protocolValue(outcome, { prompt: name });
  }

  async complete(params: CompleteRequest['params'], extra: RequestExtra, session: UpstreamSession): Promise<CompleteResult> {
    const outcome = await this.#host.run(nativeRequest('completion/complete', NO_ARGS, extra, session), (ctx) => this.#complete(ctx, params));
    return protocolValue(outcome, {});
  }

  async #complete(ctx: OperationContext, params: CompleteRequest['params']): Promise<CompleteResult> {
    const tooDeep = depthProblem(params.context, 'context');
    if (tooDeep) throw tooDeep;
    const ref = params.ref;
    let server: string;
    let downstreamRef: Record<string, unknown>;
    if (ref.type === 'ref/prompt') {
      const target = (await visiblePrompts({ ...this.#visibility(), snapshot: ctx.snapshot }, ctx.agentId)).targets.get(ref.name);
      if (!target) throw new GatewayError('PROMPT_NOT_FOUND', `Unknown prompt: ${ref.name}`);
      server = target.server;
      downstreamRef = { ...ref, name: target.name };
      authorizeServer(ctx, server);
    } else {
      const target = fromGatewayUri(ref.uri);
      if (!target) throw resourceNotFound(ref.uri);
      server = target.server;
      authorizeServer(ctx, server);
      // The template is asked about in the form the policy decided on.
      downstreamRef = { ...ref, uri: authorizeResource(ctx, server, target.uri, () => resourceNotFound(ref.uri)) };
    }
    const connection = connectionFor(ctx, server);
    await connection.connect();
    if (connection.serverCapabilities?.completions === undefined) return { completion: { values: [], hasMore: false } };
    const spec = ctx.snapshot.servers.get(server)!;
    return downstreamRequest(
      ctx,
      connection,
      spec,
      // Only what completion means is forwarded: the client's _meta is for the gateway.
      {
        method: 'completion/complete',
        params: { ref: downstreamRef, argument: params.argument, ...(params.context !== undefined ? { context: params.context } : {}) },
      },
      CompleteResultSchema,
      () => new GatewayError('INVALID_ARGUMENT', 'The server cannot complete this reference'),
    );
  }

  async subscribe(uri: string, extra: RequestExtra, session: UpstreamSession, subscribe: boolean): Promise<void> {
    const label = subscribe ? 'resources/subscribe' : 'resources/unsubscribe';
    const outcome = await this.#host.run(nativeRequest(label, NO_ARGS, extra, session), async (ctx) => {
      const target = fromGatewayUri(uri);
      if (!target) throw resourceNotFound(uri);
      // Subscriptions are kept by canonical URI, so any spelling of it unsubscribes.
      if (!subscribe) {
        await this.#subscriptions.unsubscribe(session, target.server, canonicalUri(target.uri));
        return;
      }
      authorizeServer(ctx, target.server);
      const canonical = authorizeResource(ctx, target.server, target.uri, () => resourceNotFound(uri));
      await this.#subscriptions.subscribe(session, target.server, canonical, ctx.signal);
    });
    protocolValue(outcome, { resource: uri });
  }

  // ---- what happens downstream ----

  /** A downstream's tool list changed (the connection already dropped its cache). */
  toolsChanged(): void {
    if (this.#enabled) this.#changes.schedule();
  }

  /** A downstream (re)started: what it offers may differ, and it forgot our subscriptions. */
  serverReady(server: string): void {
    const connection = this.#host.pool.get(server);
    if (connection) this.#catalog.invalidate(connection);
    this.#subscriptions.resubscribe(server);
    if (this.#enabled) this.#changes.schedule();
  }

  notification(server: string, notification: { method: string; params?: unknown }): void {
    const connection = this.#host.pool.get(server);
    switch (notification.method) {
      case 'notifications/resources/list_changed':
        if (connection) {
          this.#catalog.invalidate(connection, 'resources');
          this.#catalog.invalidate(connection, 'resourceTemplates');
        }
        if (this.#enabled) this.#changes.schedule();
        return;
      case 'notifications/prompts/list_changed':
        if (connection) this.#catalog.invalidate(connection, 'prompts');
        if (this.#enabled) this.#changes.schedule();
        return;
      case 'notifications/resources/updated': {
        const uri = (notification.params as { uri?: unknown } | undefined)?.uri;
        if (typeof uri === 'string') this.#subscriptions.updated(server, uri);
        return;
      }
      default:
        this.#logger.debug({ server, method: notification.method }, 'downstream notification not forwarded');
    }
  }

  /** The configuration changed: the visible sets may have. */
  reloaded(): void {
    if (this.#enabled) this.#changes.schedule();
  }

  forget(session: UpstreamSession): void {
    this.#changes.forget(session);
    this.#subscriptions.forget(session);
  }

  close(): void {
    this.#changes.close();
  }
}

function resourceNotFound(uri: string): GatewayError {
  return new GatewayError('RESOURCE_NOT_FOUND', `Resource not found: ${uri}`);
}

function nativeRequest(operation: string, args: unknown, extra: RequestExtra, session: UpstreamSession): CallRequest {
  return { operation, caller: session, args, ownArgs: false, signal: extra.mcpReq.signal, peer: { session, extra } };
}
