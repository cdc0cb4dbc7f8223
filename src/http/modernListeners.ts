// Change notifications for 2026-07-28 clients on /mcp. Such a client has no session the
// gateway could notify: it opens `subscriptions/listen` streams, which the SDK's handler
// serves from an event bus. The gateway's notifications go to UpstreamSessions, so each
// identity with at least one open listen stream gets one long-lived "listener" session
// attached to the gateway; what the gateway tells it (a list this identity sees changed) is
// published on the bus for that identity's streams only. Streams of other identities never
// hear of it, since what one agent sees says something about another's rules.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { Gateway } from '../gateway/gateway.js';
import { listenRequestContext } from '../gateway/listenResources.js';
import type { UpstreamSession } from '../gateway/serverRequests.js';
import type { Principal } from './auth.js';

/** A bus event addressed to the listen streams of one identity (Principal.key). */
type AddressedEvent = ServerEvent & { readonly identity?: string };

interface Listener {
  readonly identity: string | undefined;
  readonly deliver: (event: ServerEvent) => void;
}

/**
 * The bus the modern handler serves listen streams from. The SDK subscribes a stream while
 * answering its listen request, inside `run()` of that request: the identity is taken then.
 */
export class IdentityBus implements ServerEventBus {
  readonly #listeners = new Set<Listener>();
  readonly #current = new AsyncLocalStorage<string>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Runs `fn` (a request's handling) as `identity`: a stream it subscribes is that identity's. */
  run<T>(identity: string, fn: () => T): T {
    return this.#current.run(identity, fn);
  }

  publish(event: AddressedEvent): void {
    for (const listener of [...this.#listeners]) {
      // An event for nobody in particular reaches nobody: every publisher here names its identity.
      if (event.identity === undefined || listener.identity !== event.identity) continue;
      try {
        listener.deliver(event);
      } catch (err) {
        this.#logger.debug({ err }, 'a listen stream refused an event');
      }
    }
  }

  subscribe(deliver: (event: ServerEvent) => void): () => void {
    const listener: Listener = { identity: this.#current.getStore(), deliver };
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }
}

/** What a listen request asks to hear (its `params.notifications`). */
export interface ListenFilter {
  readonly toolsListChanged?: boolean;
  readonly promptsListChanged?: boolean;
  readonly resourcesListChanged?: boolean;
  /** Gateway URIs (native mode) whose notifications/resources/updated the stream wants. */
  readonly resourceSubscriptions?: readonly unknown[];
}

/** Resource URIs one listen stream may subscribe to; the rest are not subscribed. */
const MAX_STREAM_RESOURCES = 100;

interface Entry {
  readonly session: UpstreamSession;
  readonly detach: () => void;
  /** Open listen streams of the identity. */
  streams: number;
}

export class ModernListeners {
  readonly #gateway: Gateway;
  readonly #bus: IdentityBus;
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry>();

  constructor(gateway: Gateway, bus: IdentityBus, logger: Logger) {
    this.#gateway = gateway;
    this.#bus = bus;
    this.#logger = logger;
  }

  /**
   * A listen stream of `principal` opens: its listener session is attached (first stream) and
   * shown the lists the stream asks about, so the next change of them is noticed. Returns the
   * stream's release, to call once when it closes.
   */
  async open(principal: Principal, filter: ListenFilter | undefined, signal: AbortSignal): Promise<() => void> {
    let entry = this.#entries.get(principal.key);
    if (!entry) {
      const session = this.#listenerSession(principal);
      entry = { session, detach: this.#gateway.attachSession(session), streams: 0 };
      this.#entries.set(principal.key, entry);
      this.#logger.debug({ identity: principal.key }, 'listen stream opened; listener session attached');
    }
    entry.streams++;
    const opened = entry;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (--opened.streams > 0 || this.#entries.get(principal.key) !== opened) return;
      this.#entries.delete(principal.key);
      opened.detach();
      this.#logger.debug({ identity: principal.key }, 'last listen stream closed; listener session detached');
    };
    try {
      await this.#show(opened.session, filter);
    } catch (err) {
      // A list that cannot be computed now is compared from its next answer on.
      this.#logger.debug({ err, identity: principal.key }, 'could not compute the lists of a new listen stream');
    }
    await this.#subscribe(opened.session, filter, signal);
    return release;
  }

  /**
   * Subscribes the listener session to the stream's resources, each through the gateway's call
   * path (policy, audit) as a 2025 resources/subscribe is. One the agent may not read is not
   * subscribed, so its updates never reach the stream. The subscriptions end with the session.
   */
  async #subscribe(session: UpstreamSession, filter: ListenFilter | undefined, signal: AbortSignal): Promise<void> {
    const native = this.#gateway.native;
    const uris = filter?.resourceSubscriptions;
    if (!native.enabled || !Array.isArray(uris)) return;
    const wanted = [...new Set(uris.filter((uri): uri is string => typeof uri === 'string'))].slice(0, MAX_STREAM_RESOURCES);
    await Promise.all(
      wanted.map((uri) =>
        native.subscribe(uri, listenRequestContext(signal), session, true).catch((err: unknown) => {
          this.#logger.debug({ err, uri }, 'a listen stream asked for a resource it cannot subscribe to');
        }),
      ),
    );
  }

  /** The lists a change is looked for in are the ones a session was shown (native/listChanges.ts). */
  async #show(session: UpstreamSession, filter: ListenFilter | undefined): Promise<void> {
    const native = this.#gateway.native;
    if (!native.enabled) return;
    await Promise.all([
      filter?.toolsListChanged === true ? native.tools(session) : undefined,
      filter?.promptsListChanged === true ? native.prompts(session) : undefined,
      filter?.resourcesListChanged === true ? native.resources(session) : undefined,
    ]);
  }

  #listenerSession(principal: Principal): UpstreamSession {
    const identity = principal.key;
    const publish = (event: ServerEvent): Promise<void> => {
      this.#bus.publish({ ...event, identity });
      return Promise.resolve();
    };
    return {
      id: `listen:${identity}`,
      mcp: true,
      ...(principal.boundAgent !== undefined ? { boundAgent: principal.boundAgent } : {}),
      // It makes no calls and answers nothing: downstream requests go to the caller in flight.
      clientCapabilities: () => undefined,
      request: () => Promise.reject(new Error('a listen stream cannot answer requests')),
      notifyToolListChanged: () => publish({ kind: 'tools_list_changed' }),
      notifyListChanged: (kind) => publish({ kind: `${kind}_list_changed` }),
      notifyResourceUpdated: (uri) => publish({ kind: 'resource_updated', uri }),
    };
  }

  /** Detaches every listener session (the handler's close ends the streams). */
  closeAll(): void {
    for (const entry of this.#entries.values()) entry.detach();
    this.#entries.clear();
  }
}
