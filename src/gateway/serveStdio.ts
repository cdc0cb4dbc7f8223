import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import { serveStdio as serveBothEras } from '@modelcontextprotocol/server/stdio';
import type { Gateway } from './gateway.js';
import { refuseInvalidParams } from './invalidParams.js';
import { followListens, listenRequestContext } from './listenResources.js';
import type { UpstreamSession } from './serverRequests.js';
import { errorMessage } from '../values.js';
import { DEFAULT_MAX_MESSAGE_BYTES, LineStdioServerTransport } from './stdioServerTransport.js';
import { StdioFastCalls } from './stdioFastCalls.js';
import { createUpstreamServer, requestSchemas } from './upstreamServer.js';

export interface StdioHandle {
  /** Resolves when the client goes away: stdin ended or closed, or the transport closed. */
  readonly closed: Promise<void>;
  /** Resolves once the client has had its first answer. */
  readonly answered: Promise<void>;
  close(): Promise<void>;
}

/**
 * Serves MCP on a pair of streams. The transport does not watch for stdin EOF, so the end
 * of stdin is watched here: a client that closes the pipe must stop the gateway.
 */
export interface ServeStdioOptions {
  readonly logger: Logger;
  /** Longest request line accepted (--max-message-bytes). Default DEFAULT_MAX_MESSAGE_BYTES. */
  readonly maxMessageBytes?: number;
}

/**
 * Both protocol eras on one pipe: the SDK's stdio entry reads the client's first message and
 * asks for a server of that era (2025-11-25: initialize and a session; 2026-07-28: requests
 * that carry their own envelope, server/discover, subscriptions/listen). A client that probes
 * with server/discover and then falls back to initialize gets a second server; the probe's
 * is closed, and with it detached from the gateway.
 */
export async function serveStdio(gateway: Gateway, stdin: Readable, stdout: Writable, opts: ServeStdioOptions): Promise<StdioHandle> {
  const transport = new LineStdioServerTransport(stdin, stdout, {
    logger: opts.logger,
    maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
  });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const onEnd = (): void => resolveClosed();
  stdin.once('end', onEnd);
  stdin.once('close', onEnd);
  const fast = new StdioFastCalls(gateway, transport, opts.logger);
  const detachers = new Set<() => void>();
  let modernSession!: (session: UpstreamSession) => void;
  // A client that opened with initialize: its connection is 2025-11-25 to the end.
  let legacy = false;
  const modern = new Promise<UpstreamSession>((resolve) => (modernSession = resolve));
  const entry = serveBothEras(
    ({ era }) => {
      const { server, session, detach } = createUpstreamServer(gateway, { era, firstAnswers: fast.firstAnswers });
      if (era === 'modern') modernSession(session);
      else {
        legacy = true;
        fast.serve(server, session);
      }
      detachers.add(detach);
      // A discarded probe server closes too; only the transport closing ends the connection.
      server.onclose = () => {
        detach();
        detachers.delete(detach);
      };
      return server;
    },
    { transport, legacy: 'serve', onerror: (err) => opts.logger.debug({ err: err.message }, 'stdio client protocol error') },
  );
  // The entry owns the transport's callbacks from here; the check runs in front of them, and
  // the fast path in front of both.
  refuseInvalidParams(transport, requestSchemas(gateway.mode !== 'meta'));
  transport.intercept = fast.take;
  if (gateway.mode !== 'meta') {
    followListens(
      transport,
      (uri, subscribe) => {
        void modern
          .then((session) => gateway.native.subscribe(uri, listenRequestContext(), session, subscribe))
          .catch((err: unknown) => opts.logger.debug({ err: errorMessage(err) }, 'resource subscription of a listen refused'));
      },
      () => legacy,
    );
  }
  const entryOnClose = transport.onclose;
  transport.onclose = () => {
    fast.close();
    entryOnClose?.();
    onEnd();
  };
  let closing: Promise<void> | undefined;
  return {
    closed,
    answered: transport.firstSend,
    close: () => {
      closing ??= (async () => {
        stdin.off('end', onEnd);
        stdin.off('close', onEnd);
        fast.close();
        for (const detach of detachers) detach();
        detachers.clear();
        await entry.close().catch(() => undefined);
        resolveClosed();
      })();
      return closing;
    },
  };
}
