// In-process doubles for downstream tests that are about supervision, timeouts and calls
// rather than processes: a transport factory that serves every connection attempt from a
// fresh in-process McpServer over the SDK's in-memory pair (the clock the test moves is
// manualClock.ts).
import { InMemoryTransport, McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { TransportFactory } from '../../src/downstream/clientFactory.js';

/** Resolves once the event loop has run everything already queued (I/O callbacks included). */
export function settleQueue(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Whether `promise` is still pending after everything already queued ran. For asserting that
 * something waits for the clock: with a ManualClock, nothing else can make it settle.
 */
export async function stillPending(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await settleQueue();
  return !settled;
}

/** What the server side of an in-memory attempt can do besides answering. */
export interface MemoryServerControls {
  /** Breaks the connection, as a crashed server process would; the call never gets an answer. */
  crash(): Promise<never>;
}

/**
 * A TransportFactory whose every attempt (start or restart) gets a fresh McpServer set up by
 * `build`, as a restarted process would be fresh.
 */
export function memoryServers(build: (server: McpServer, controls: MemoryServerControls) => void): TransportFactory {
  return () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = new McpServer({ name: 'memory', version: '1.0.0' });
    build(server, {
      crash: () => {
        void serverSide.close();
        return new Promise<never>(() => {});
      },
    });
    void server.connect(serverSide);
    return clientSide;
  };
}

/** A tool answering with `text`. */
export function textResult(text: string): { content: { type: 'text'; text: string }[] } {
  return { content: [{ type: 'text', text }] };
}

/**
 * In-process stand-in for the echo fixture's echo, slow and cancelled_count tools, shared by
 * every attempt: echo({message}) answers "Echo: <message>"; slow({ms}) answers "slept <ms>"
 * after ms, or counts a cancellation; reached(tool) says whether a call of it arrived.
 */
export function memoryEcho(): { transportFactory: TransportFactory; reached(tool: string): boolean } {
  const calls = new Set<string>();
  let cancelled = 0;
  const transportFactory = memoryServers((server) => {
    server.registerTool('echo', { description: 'echo', inputSchema: z.object({ message: z.string() }) }, ({ message }) => {
      calls.add('echo');
      return textResult(`Echo: ${message}`);
    });
    server.registerTool('slow', { description: 'slow', inputSchema: z.object({ ms: z.number() }) }, ({ ms }, ctx) => {
      calls.add('slow');
      return new Promise((resolve, reject) => {
        const onAbort = (): void => {
          clearTimeout(timer);
          cancelled++;
          reject(new Error('cancelled'));
        };
        const timer = setTimeout(() => {
          ctx.mcpReq.signal.removeEventListener('abort', onAbort);
          resolve(textResult(`slept ${ms}`));
        }, ms);
        if (ctx.mcpReq.signal.aborted) onAbort();
        else ctx.mcpReq.signal.addEventListener('abort', onAbort, { once: true });
      });
    });
    server.registerTool('cancelled_count', { description: 'cancelled_count' }, () => textResult(String(cancelled)));
  });
  return { transportFactory, reached: (tool) => calls.has(tool) };
}
