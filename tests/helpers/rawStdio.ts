// A bare JSON-RPC-over-stdio peer for tests that need what the SDK transport hides: the exit
// code or signal, the exact moment of exit, what else appeared on stdout, and control over
// when stdin closes. Spawn with `detached: true` to give the child its own process group (as
// the gateway does with its downstream servers), then `killGroup()`.
import { spawn, type ChildProcess } from 'node:child_process';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

export interface RawExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: number | string;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export interface RawStdioOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Own process group (default false). */
  detached?: boolean;
}

export interface RawStdioPeer {
  child: ChildProcess;
  pid: number;
  /** Resolves once the process has exited (and its pipes closed). */
  exit: Promise<RawExit>;
  /** Every JSON message received, in order. */
  messages: unknown[];
  /** Every stdout line that was not JSON. */
  nonJsonLines: string[];
  stderr(): string;
  /** Send one message as a line. */
  send(message: unknown): void;
  /** Send a request with a fresh numeric id and wait for its response (rejects on timeout or exit). */
  request(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<JsonRpcResponse>;
  /** initialize + notifications/initialized. */
  initialize(timeoutMs?: number): Promise<JsonRpcResponse>;
  /** Close our end of the child's stdin (EOF). */
  endStdin(): void;
  /** Signal the child's whole process group (needs detached: true). Ignores ESRCH. */
  killGroup(signal?: NodeJS.Signals): void;
}

export function spawnRaw(command: string, args: string[], opts: RawStdioOptions = {}): RawStdioPeer {
  const child = spawn(command, args, {
    env: opts.env ?? (process.env as Record<string, string>),
    cwd: opts.cwd,
    detached: opts.detached ?? false,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`failed to spawn ${command}`);
  const pid = child.pid;
  const messages: unknown[] = [];
  const nonJsonLines: string[] = [];
  const waiting = new Map<number | string, (r: JsonRpcResponse) => void>();
  let stderrText = '';
  let stdoutBuf = '';
  let nextId = 1;

  child.stdin!.on('error', () => {}); // EPIPE after the child died
  child.stderr!.on('data', (b: Buffer) => (stderrText += b.toString('utf8')));
  child.stdout!.on('data', (b: Buffer) => {
    stdoutBuf += b.toString('utf8');
    let nl: number;
    while ((nl = stdoutBuf.indexOf('\n')) >= 0) {
      const line = stdoutBuf.slice(0, nl).replace(/\r$/, '');
      stdoutBuf = stdoutBuf.slice(nl + 1);
      let msg: unknown;
      try {
        msg = JSON.parse(line);
      } catch {
        nonJsonLines.push(line);
        continue;
      }
      messages.push(msg);
      const id = (msg as { id?: number | string }).id;
      const isResponse = msg !== null && typeof msg === 'object' && !('method' in msg) && id !== undefined;
      if (isResponse) waiting.get(id)?.(msg as JsonRpcResponse);
    }
  });

  const exit = new Promise<RawExit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let exited = false;
  void exit.then(() => (exited = true));

  const send = (message: unknown) => {
    child.stdin!.write(JSON.stringify(message) + '\n');
  };

  const request = (method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000) => {
    const id = nextId++;
    return new Promise<JsonRpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`no response to ${method} within ${timeoutMs} ms; stderr: ${stderrText.slice(-2000)}`));
      }, timeoutMs);
      waiting.set(id, (r) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(r);
      });
      void exit.then((e) => {
        if (!waiting.has(id)) return;
        clearTimeout(timer);
        waiting.delete(id);
        reject(new Error(`process exited (code ${e.code}, signal ${e.signal}) before answering ${method}`));
      });
      if (exited) return; // the exit handler above rejects
      send({ jsonrpc: '2.0', id, method, params });
    });
  };

  return {
    child,
    pid,
    exit,
    messages,
    nonJsonLines,
    stderr: () => stderrText,
    send,
    request,
    async initialize(timeoutMs = 10_000) {
      const r = await request(
        'initialize',
        {
          protocolVersion: LATEST_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'raw-test-peer', version: '1.0.0' },
        },
        timeoutMs,
      );
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      return r;
    },
    endStdin: () => child.stdin!.end(),
    killGroup(signal: NodeJS.Signals = 'SIGKILL') {
      try {
        process.kill(-pid, signal);
      } catch {
        // group already gone
      }
    },
  };
}
