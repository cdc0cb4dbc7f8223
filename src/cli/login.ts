// `agent-mcp-gateway login SERVER`: signs in to a hosted server of the .mcp.json once, in a
// browser, so that the gateway can use (and refresh) its tokens from then on. Also the
// command the gateway's AUTH_REQUIRED message names.

import { spawn } from 'node:child_process';
import { platform } from 'node:os';
import { loadServersFile } from '../config/load.js';
import { locateConfigFile } from '../config/locate.js';
import { didYouMean } from '../config/suggest.js';
import { login, LoginError } from '../downstream/oauthLogin.js';
import { defaultOAuthDir, OAuthStore } from '../downstream/oauthStore.js';
import { redactSecrets } from '../redact.js';
import type { CliIo } from './io.js';
import { expandHome, type ServeSettings } from './settings.js';

export const DEFAULT_LOGIN_TIMEOUT_S = 300;

export interface LoginFlags {
  readonly server: string;
  readonly mcpConfig?: string;
  readonly oauthDir?: string;
  /** False with --no-browser: the URL is only printed. */
  readonly browser: boolean;
  readonly timeoutS?: number;
}

export async function runLogin(io: CliIo, flags: LoginFlags): Promise<number> {
  const located = locateConfigFile('mcp', {
    cwd: io.cwd,
    home: io.home,
    ...(flags.mcpConfig ? { flag: flags.mcpConfig } : {}),
    ...(io.env['GATEWAY_MCP_CONFIG'] ? { envValue: io.env['GATEWAY_MCP_CONFIG'] } : {}),
  });
  const servers = loadServersFile(located.path, io.env);
  for (const warning of servers.warnings) io.err(`warning: ${warning.path}: ${warning.message}\n`);
  const spec = servers.config.servers.find((s) => s.name === flags.server);
  if (spec === undefined) {
    const names = servers.config.servers.map((s) => s.name);
    const guess = didYouMean(flags.server, names);
    io.err(`ERROR: no server '${flags.server}' in ${located.path}${guess !== undefined ? ` (did you mean '${guess}'?)` : ''}\n`);
    return 1;
  }
  const dirFlag = flags.oauthDir ?? io.env['GATEWAY_OAUTH_DIR'];
  const store = new OAuthStore(dirFlag ? expandHome(dirFlag, io.home, io.cwd) : defaultOAuthDir(io.env, io.home));
  const timeoutS = flags.timeoutS ?? DEFAULT_LOGIN_TIMEOUT_S;
  if (!Number.isInteger(timeoutS) || timeoutS < 1) {
    io.err('ERROR: --timeout must be a whole number of seconds, at least 1\n');
    return 1;
  }
  try {
    const outcome = await login({
      spec,
      store,
      clientSecret: io.env['MCP_CLIENT_SECRET'],
      timeoutMs: timeoutS * 1000,
      onAuthorizationUrl: (url) => {
        io.out(`To log in to '${spec.name}', open this URL in a browser:\n\n  ${url.href}\n\nWaiting for the browser (at most ${timeoutS} s)...\n`);
        if (flags.browser) openBrowser(url.href);
      },
    });
    if (outcome.kind === 'not_required') {
      io.out(`Server '${spec.name}' answered HTTP ${outcome.status} without asking for a login: nothing to do.\n`);
      return 0;
    }
    io.out(`Logged in to '${spec.name}'${outcome.scope ? ` (scope: ${outcome.scope})` : ''}. Tokens saved in ${outcome.file}\n`);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.err(`ERROR: login to '${spec.name}' failed: ${redactSecrets(err instanceof LoginError ? message : message.slice(0, 500))}\n`);
    return 1;
  }
}

/** Best effort: the URL is printed anyway. No shell: the URL is one argument. */
function openBrowser(url: string): void {
  const os = platform();
  const [command, args] = os === 'darwin' ? ['open', [url]] : os === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No opener on this system: the printed URL is the way.
  }
}

/**
 * The command the gateway's AUTH_REQUIRED message names: `agent-mcp-gateway login <server>`,
 * with the .mcp.json and the token folder when flags or the environment chose them (a shell
 * that runs it may not have the gateway's environment).
 */
export function loginCommandFor(io: CliIo, settings: Pick<ServeSettings, 'mcpConfigFlag' | 'oauthDir'>, mcpConfigPath: string): (server: string) => string {
  const chosen = settings.mcpConfigFlag !== undefined || (io.env['GATEWAY_MCP_CONFIG'] ?? '') !== '';
  const extra = [
    ...(chosen ? ['--mcp-config', shellQuote(mcpConfigPath)] : []),
    ...(settings.oauthDir.given ? ['--oauth-dir', shellQuote(settings.oauthDir.path)] : []),
  ];
  return (server) => ['agent-mcp-gateway', 'login', shellQuote(server), ...extra].join(' ');
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
