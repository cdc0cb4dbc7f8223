import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * In stdio mode stdout carries JSON-RPC and nothing else, so every log line goes to
 * stderr (fd 2). Writes are synchronous: log volume is small, and a line written just
 * before an exit must not be lost.
 */
export function createLogger(level: LevelWithSilent = 'info', file?: string, fd = 2): Logger {
  const stderr = pino.destination({ dest: fd, sync: true });
  // SignalWire's logging.file adds a file beside the console; so does --log-file here.
  const destination =
    file === undefined
      ? stderr
      : pino.multistream([
          { level: 'trace', stream: stderr },
          { level: 'trace', stream: pino.destination({ dest: file, sync: true, append: true, mkdir: true }) },
        ]);
  return pino(
    {
      level,
      base: { name: 'agent-mcp-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secrets never reach a log line, even if a caller passes a whole config object.
      redact: {
        paths: ['*.env', '*.headers', '*.password', '*.token', '*.authorization', '*.tokens', '*.access_token', '*.refresh_token', '*.client_secret'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
