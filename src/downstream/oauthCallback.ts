// The loopback redirect of a login (RFC 8252): a listener on 127.0.0.1 (and on ::1 for a
// configured port, whose redirect URI names `localhost`, which a browser may resolve to
// either) that takes the one
// GET /callback whose `state` is the login's, and nothing else. A request with another state
// is answered 400 and ignored (it cannot be the authorization server answering this login),
// so a stray or forged request neither completes nor aborts the login.

import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from '../listen.js';

const PAGE_DONE = '<!doctype html><title>Logged in</title><p>The gateway has the authorization. You can close this window.</p>';
const PAGE_FAILED = '<!doctype html><title>Login failed</title><p>The authorization server refused the login. See the terminal.</p>';

export interface CallbackListener {
  /** http://127.0.0.1:PORT/callback, or http://localhost:PORT/callback for a configured port (Claude Code's form). */
  readonly redirectUri: string;
  /** The callback's query once one with `state` arrives; rejects on `error`, after `timeoutMs`, or when closed. */
  wait(state: string, timeoutMs: number): Promise<URLSearchParams>;
  /** Idempotent; ends the listener and its connections. */
  close(): Promise<void>;
}

/** What a host without IPv6 answers to a listen on ::1. */
const NO_IPV6 = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT']);

/** Listens on 127.0.0.1: `port` (a configured oauth.callbackPort) or one the system picks. */
export async function listenForCallback(port: number | undefined): Promise<CallbackListener> {
  let expected: string | undefined;
  let settle: ((outcome: { params?: URLSearchParams; error?: Error }) => void) | undefined;
  const handler: RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/callback') return void res.writeHead(404).end();
    const params = url.searchParams;
    if (expected === undefined || params.get('state') !== expected) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('state mismatch');
    const error = params.get('error');
    res.writeHead(error === null ? 200 : 400, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(error === null ? PAGE_DONE : PAGE_FAILED);
    // The error code is the authorization server's; its description is not shown (attacker-chosen text).
    settle?.(error === null ? { params } : { error: new Error(`the authorization server refused the login: ${JSON.stringify(error.slice(0, 64))}`) });
  };
  const servers: Server[] = [];
  const stop = (server: Server): Promise<void> =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const server = createServer(handler);
  await listenOn(server, port ?? 0, '127.0.0.1');
  servers.push(server);
  const bound = (server.address() as AddressInfo).port;
  if (port !== undefined) {
    const v6 = createServer(handler);
    try {
      await listenOn(v6, bound, '::1');
      servers.push(v6);
    } catch (err) {
      if (!NO_IPV6.has((err as { cause?: NodeJS.ErrnoException }).cause?.code ?? '')) {
        await stop(server);
        throw err;
      }
    }
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    settle?.({ error: new Error('the login was ended before the browser came back') });
    closing ??= Promise.all(servers.map(stop)).then(() => {});
    return closing;
  };
  return {
    redirectUri: `http://${port === undefined ? '127.0.0.1' : 'localhost'}:${bound}/callback`,
    wait(state, timeoutMs) {
      expected = state;
      return new Promise<URLSearchParams>((resolve, reject) => {
        const timer = setTimeout(() => settle?.({ error: new Error(`no answer from the browser within ${Math.round(timeoutMs / 1000)} s`) }), timeoutMs);
        settle = (outcome) => {
          settle = undefined;
          clearTimeout(timer);
          if (outcome.params !== undefined) resolve(outcome.params);
          else reject(outcome.error ?? new Error('login callback failed'));
        };
      });
    },
    close,
  };
}

function listenOn(server: Server, port: number, host: string): Promise<void> {
  return listen(server, port, host).catch((err: unknown) => {
    const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    throw new Error(`cannot listen for the login callback on ${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
}
