#!/usr/bin/env node
// The composition root and the only module that touches `process`: argv, env, signals,
// stdin/stdout and the exit code. Everything else is a library under src/.
import { homedir } from 'node:os';
import yargs, { type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runExplain } from './src/cli/explain.js';
import { runInit } from './src/cli/init.js';
import { DEFAULT_LOGIN_TIMEOUT_S, runLogin } from './src/cli/login.js';
import type { CliIo } from './src/cli/io.js';
import { CONFIG_OPTIONS, LOCK_FILE_OPTION, OAUTH_OPTIONS, SERVE_OPTIONS, type OptionSpec } from './src/cli/options.js';
import { runPin } from './src/cli/pin.js';
import { runServe, type ServeHandle } from './src/cli/serve.js';
import { resolveServeSettings, SettingsError, type ParsedFlags } from './src/cli/settings.js';
import { runValidate } from './src/cli/validate.js';
import { ConfigError } from './src/config/configError.js';
import { LockFileError } from './src/config/lockFile.js';
import { VERSION } from './src/version.js';

// Claude Code sends SIGTERM about 100 ms after SIGINT and SIGKILL 400 ms later: a shutdown
// that is not done by then is finished by force, children included. In HTTP mode in-flight
// requests get time to finish (the drain is bounded in src/http/server.ts).
const STDIO_SHUTDOWN_GRACE_MS = 900;

const io: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  home: process.env['HOME'] ?? homedir(),
};

function toYargs(table: Record<string, OptionSpec>): Record<string, Options> {
  const out: Record<string, Options> = {};
  for (const [name, spec] of Object.entries(table)) {
    const notes = [spec.env ? `env: ${spec.env}` : '', spec.defaultText ? `default: ${spec.defaultText}` : ''].filter(Boolean);
    out[name] = {
      type: spec.type,
      describe: notes.length ? `${spec.describe} [${notes.join('; ')}]` : spec.describe,
      ...(spec.choices ? { choices: [...spec.choices] } : {}),
    };
  }
  return out;
}

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    // The message already lists every issue with its JSON path.
    process.stderr.write(`ERROR: Invalid configuration: ${err.message}\n`);
  } else if (err instanceof SettingsError || err instanceof LockFileError) {
    process.stderr.write(`ERROR: ${err.message}\n`);
  } else {
    process.stderr.write(`ERROR: Failed to start gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
}

async function serve(flags: ParsedFlags): Promise<void> {
  let handle: ServeHandle;
  try {
    const settings = resolveServeSettings(flags, process.env, process.cwd());
    if (settings.transport === 'http') {
      // Loaded only when asked for: the HTTP stack (router, limiter, metrics) would add
      // hundreds of milliseconds and tens of megabytes to every stdio start.
      const { runServeHttp } = await import('./src/cli/serveHttp.js');
      handle = await runServeHttp(io, settings);
    } else {
      handle = await runServe(io, settings, { stdin: process.stdin, stdout: process.stdout });
    }
  } catch (err) {
    fail(err);
  }
  const graceMs = handle.shutdownGraceMs ?? STDIO_SHUTDOWN_GRACE_MS;
  let exiting = false;
  const stop = (why: string): void => {
    if (exiting) return;
    exiting = true;
    handle.logger.info({ why }, 'shutting down');
    setTimeout(() => {
      handle.logger.warn('shutdown grace exceeded; killing downstream process groups');
      handle.killSync();
      process.exit(0);
    }, graceMs).unref();
    handle.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        handle.logger.error({ err }, 'error during shutdown');
        handle.killSync();
        process.exit(1);
      },
    );
  };
  void handle.clientGone.then(() => stop('stdin closed'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  // SIGHUP reloads both configuration files (the file watcher reloads each on its own edits).
  process.on('SIGHUP', () => {
    if (!exiting) handle.reload('SIGHUP');
  });
  // Whatever path leads out, no downstream process group outlives the gateway.
  process.once('exit', () => handle.killSync());
}

// Not awaited at the top level: the build bundles this file as CommonJS (config/bundle.mjs),
// and a rejection still ends the process with its error, as an unhandled one does.
void yargs(hideBin(process.argv))
  .scriptName('agent-mcp-gateway')
  .usage(
    '$0 [command] [options]\n\nAn MCP gateway with per-agent, deny-before-allow policy. Without a command it serves MCP over stdio (or HTTP with --transport http).',
  )
  .command(
    '$0',
    'Serve MCP over stdio (the default) or HTTP (--transport http)',
    (y) => y.options(toYargs(SERVE_OPTIONS)),
    (argv) => serve(argv as ParsedFlags),
  )
  .command(
    'validate',
    'Check both configuration files (or a SignalWire config.json with --config); print every error and warning with its JSON path',
    (y) => y.options(toYargs({ ...CONFIG_OPTIONS, config: SERVE_OPTIONS.config })),
    (argv) => {
      process.exitCode = runValidate(io, {
        ...optionalString('mcpConfig', argv['mcp-config']),
        ...optionalString('rules', argv['rules']),
        ...optionalString('config', argv['config']),
      });
    },
  )
  .command(
    'init',
    'Write the example .mcp.json and .mcp-gateway-rules.json',
    (y) =>
      y.options({
        dir: { type: 'string', describe: 'Folder to write into [default: ~/.config/agent-mcp-gateway]' },
        force: { type: 'boolean', describe: 'Overwrite existing files', default: false },
      }),
    (argv) => {
      process.exitCode = runInit(io, { ...optionalString('dir', argv.dir), force: argv.force });
    },
  )
  .command(
    'login <server>',
    'Sign in to a hosted (http/sse) server of the .mcp.json that requires OAuth: prints the authorization URL (and opens a browser), takes the code on a loopback redirect and stores the tokens the gateway then uses and refreshes',
    (y) =>
      y.positional('server', { type: 'string', demandOption: true, describe: 'Server name in the .mcp.json' }).options({
        ...toYargs({ 'mcp-config': CONFIG_OPTIONS['mcp-config'], ...OAUTH_OPTIONS }),
        browser: { type: 'boolean', default: true, describe: 'Open a browser (--no-browser: only print the URL)' },
        timeout: { type: 'number', describe: `Seconds to wait for the browser to come back [default: ${DEFAULT_LOGIN_TIMEOUT_S}]` },
      }),
    async (argv) => {
      try {
        process.exitCode = await runLogin(io, {
          server: String(argv.server),
          ...optionalString('mcpConfig', argv['mcp-config']),
          ...optionalString('oauthDir', argv['oauth-dir']),
          browser: argv.browser,
          ...(typeof argv.timeout === 'number' ? { timeoutS: argv.timeout } : {}),
        });
      } catch (err) {
        fail(err);
      }
    },
  )
  .command(
    'explain',
    'Show the policy decision for an agent, a server and optionally a tool, resource or prompt, and the rule that decided it',
    (y) =>
      y.options({
        ...toYargs(CONFIG_OPTIONS),
        agent: { type: 'string', demandOption: true, describe: 'Agent id' },
        server: { type: 'string', demandOption: true, describe: 'Server name' },
        tool: { type: 'string', describe: 'Tool name' },
        resource: { type: 'string', describe: 'Resource URI (or URI template) of that server' },
        prompt: { type: 'string', describe: 'Prompt name' },
        args: { type: 'string', describe: "With --tool: the call's arguments as a JSON object; shows every argument decision" },
      }),
    (argv) => {
      try {
        process.exitCode = runExplain(io, {
          ...optionalString('mcpConfig', argv['mcp-config']),
          ...optionalString('rules', argv['rules']),
          agent: argv.agent,
          server: argv.server,
          ...optionalString('tool', argv.tool),
          ...optionalString('resource', argv.resource),
          ...optionalString('prompt', argv.prompt),
          ...optionalString('args', argv.args),
        });
      } catch (err) {
        fail(err);
      }
    },
  )
  .command(
    'pin',
    'Start every enabled server and record its tools and prompts in the lockfile; --diff shows what differs from it, --accept SERVER[/NAME[@DIGEST]] records one server or item (only as reviewed, with the digest --diff prints)',
    (y) =>
      y.options({
        ...toYargs({ ...CONFIG_OPTIONS, ...LOCK_FILE_OPTION }),
        diff: {
          type: 'boolean',
          describe: 'Show what differs from the lockfile, record nothing (exit 1 when something differs, 2 when a server cannot be listed)',
          conflicts: 'accept',
        },
        accept: {
          type: 'string',
          describe:
            'Record the current definitions of SERVER, or of its tool or prompt NAME (SERVER/NAME); SERVER/NAME@DIGEST only if its digest starts with DIGEST',
        },
      }),
    async (argv) => {
      try {
        process.exitCode = await runPin(io, {
          ...optionalString('mcpConfig', argv['mcp-config']),
          ...optionalString('rules', argv['rules']),
          ...optionalString('lockFile', argv['lock-file']),
          ...optionalString('accept', argv.accept),
          diff: argv.diff === true,
        });
      } catch (err) {
        fail(err);
      }
    },
  )
  .version(VERSION)
  .strict()
  .help()
  .parseAsync();

function optionalString<K extends string>(key: K, value: unknown): Partial<Record<K, string>> {
  return typeof value === 'string' && value !== '' ? ({ [key]: value } as Record<K, string>) : {};
}
