import type { Server } from 'node:net';

/** Resolves once `server` listens on host:port, rejects with the error that stopped it (EADDRINUSE, say). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
