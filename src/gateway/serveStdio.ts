import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Gateway } from './gateway.js';
import { DEFAULT_MAX_MESSAGE_BYTES, LineStdioServerTransport } from './stdioServerTransport.js';
import { createUpstreamServer } from './upstreamServer.js';

export interface StdioHandle {
  /** Resolves when the client goes away: stdin ended or closed, or the transport closed. */
  readonly closed: Promise<void>;
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

export async function serveStdio(gateway: Gateway, stdin: Readable, stdout: Writable, opts: ServeStdioOptions): Promise<StdioHandle> {
  const { server, detach, connect } = createUpstreamServer(gateway);
  const transport = new LineStdioServerTransport(stdin, stdout, {
    logger: opts.logger,
    maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
  });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const onEnd = (): void => resolveClosed();
  stdin.once('end', onEnd);
  stdin.once('close', onEnd);
  server.onclose = onEnd;
  await connect(transport);
  let closing: Promise<void> | undefined;
  return {
    closed,
    close: () => {
      closing ??= (async () => {
        stdin.off('end', onEnd);
        stdin.off('close', onEnd);
        detach();
        await server.close().catch(() => undefined);
        resolveClosed();
      })();
      return closing;
    },
  };
}
