import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { needsProgram, REDIS_INSTALL, type ProgramCheck } from './programs.js';

// A real redis-server for tests (the Debian package; .ci/run installs it), on a free
// loopback port, without persistence. Every server started here is stopped by
// stopAllRedis(), which each test file using it calls in afterAll.

export interface RedisHandle {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** SIGKILL and wait for the exit (the "Redis went away" case). Idempotent. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: Redis hangs with its connections open (the "Redis is slow" case). */
  pause(): void;
  resume(): void;
}

const running = new Set<ChildProcess>();

/** Whether the tests named by `what` run: redis-server is on PATH, or CI requires it (see programs.ts). */
export function needsRedis(what: string): ProgramCheck {
  return needsProgram('redis-server', what, REDIS_INSTALL);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startRedis(opts: { port?: number; password?: string } = {}): Promise<RedisHandle> {
  const port = opts.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  if (opts.password !== undefined) args.push('--requirepass', opts.password);
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => running.delete(child)).catch(() => undefined);

  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port}: ${output}`)), 10_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', (err) => {
      running.delete(child);
      clearTimeout(timer);
      reject(new Error(`cannot run redis-server (${err.message}); install it: ${REDIS_INSTALL}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${String(code)} before it was ready: ${output}`));
    });
  });

  const pid = child.pid!;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
  };
}

export async function stopAllRedis(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exited;
    }),
  );
}
