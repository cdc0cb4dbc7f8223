// A 2026 client subscribes to resources inside `subscriptions/listen`, which the SDK answers
// itself (acknowledgement, filtering, the stream's end; over stdio its entry, over HTTP
// createMcpHandler): the gateway never gets the request. Over stdio it watches it go by, so that the downstream servers are subscribed for
// the URIs the agent may read (and unsubscribed when the listen ends), the same way as for a
// 2025 client's resources/subscribe. A URI the agent may not read is subscribed nowhere: the
// listen goes on, and nothing about that resource ever reaches it.

import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';
import { isJSONRPCNotification, isJSONRPCRequest } from '@modelcontextprotocol/server';
import { isPlainObject } from '../values.js';
import type { RequestExtra } from './serverRequests.js';

/** At most this many URIs of one listen are followed; a URI longer than MAX_URI_LENGTH is skipped. */
const MAX_URIS_PER_LISTEN = 256;
const MAX_URI_LENGTH = 4096;

export type FollowResource = (uri: string, subscribe: boolean) => void;

/** At most this many listens with resources are followed at once on one connection. */
const MAX_LISTENS = 64;

/**
 * Calls `follow(uri, true)` when a listen first asks for a resource, and `follow(uri, false)`
 * when the last listen asking for it is cancelled. `legacy()`: the connection turned out to
 * be 2025-11-25, whose client has no listens to follow.
 */
export function followListens(transport: Transport, follow: FollowResource, legacy: () => boolean): void {
  const listens = new Map<string | number, readonly string[]>();
  const listeners = new Map<string, number>();
  const deliver = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage, extra) => {
    if (isJSONRPCRequest(message) && message.method === 'subscriptions/listen' && !legacy()) {
      const uris = resourceSubscriptions(message.params);
      if (uris.length > 0 && !listens.has(message.id) && listens.size < MAX_LISTENS) {
        listens.set(message.id, uris);
        for (const uri of uris) {
          const count = listeners.get(uri) ?? 0;
          listeners.set(uri, count + 1);
          if (count === 0) follow(uri, true);
        }
      }
    } else if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      const id = isPlainObject(message.params) ? message.params['requestId'] : undefined;
      const uris = typeof id === 'string' || typeof id === 'number' ? listens.get(id) : undefined;
      if (uris !== undefined) {
        listens.delete(id as string | number);
        for (const uri of uris) {
          const count = (listeners.get(uri) ?? 1) - 1;
          if (count > 0) listeners.set(uri, count);
          else {
            listeners.delete(uri);
            follow(uri, false);
          }
        }
      }
    }
    deliver?.(message, extra);
  };
}

function resourceSubscriptions(params: unknown): string[] {
  const notifications = isPlainObject(params) ? params['notifications'] : undefined;
  const uris = isPlainObject(notifications) ? notifications['resourceSubscriptions'] : undefined;
  if (!Array.isArray(uris)) return [];
  const wanted = uris.filter((u): u is string => typeof u === 'string' && u !== '' && u.length <= MAX_URI_LENGTH);
  return [...new Set(wanted)].slice(0, MAX_URIS_PER_LISTEN);
}

/**
 * What a resources/subscribe handler would get from the SDK, for a subscription a listen
 * asked for: the listen's own request has no handler, and nothing here is sent to the client.
 */
export function listenRequestContext(signal: AbortSignal = new AbortController().signal): RequestExtra {
  return {
    mcpReq: {
      id: 'subscriptions/listen',
      method: 'subscriptions/listen',
      signal,
      requestState: () => undefined,
      notify: () => Promise.resolve(),
      send: () => Promise.reject(new Error('a listen takes no requests')),
      log: () => Promise.resolve(),
      elicitInput: () => Promise.reject(new Error('a listen takes no requests')),
      requestSampling: () => Promise.reject(new Error('a listen takes no requests')),
    },
  };
}
