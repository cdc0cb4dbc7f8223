#!/usr/bin/env node
// `mcp-gateway [-c|--config PATH]`: SignalWire's command line, so scripts, Dockerfiles and
// service units written for their gateway start this one unchanged. As there, the config file
// defaults to ./config.json. Everything else is agent-mcp-gateway's own command line
// (main.ts): `--config` implies --transport http, and every other flag still works.

const USAGE = `mcp-gateway [-c config.json] [options]
mcp-gateway validate [-c config.json] [--rules P]

SignalWire's MCP gateway command line, served by agent-mcp-gateway: the services of a
SignalWire config.json over HTTP (MCP on /mcp and SignalWire's REST API), under
agent-mcp-gateway's policy, audit and limits.

Options:
  -c, --config PATH  the SignalWire config.json [default: ./config.json; env: GATEWAY_CONFIG]
  --rules PATH       a rules file [default: the usual places, else none: every service for every caller]
  --version          print the version
  --help             this text

Every other agent-mcp-gateway flag works here too (--port, --host, --log-level, ...):
\`agent-mcp-gateway --help\` lists them.
`;

const args = process.argv.slice(2);
// The rest of the command line is agent-mcp-gateway's, whose help would describe another program.
if (args[0] !== 'validate' && (args.includes('--help') || args.includes('-h'))) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const mapped: string[] = [];
let named = false;
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (arg === '-c') {
    mapped.push('--config');
    named = true;
  } else if (arg.startsWith('-c=')) {
    mapped.push(`--config=${arg.slice(3)}`);
    named = true;
  } else {
    if (arg === '--config' || arg.startsWith('--config=')) named = true;
    mapped.push(arg);
  }
}
if (!named && !process.env['GATEWAY_CONFIG']) mapped.push('--config', 'config.json');
process.argv = [process.argv[0]!, process.argv[1]!, ...mapped];
await import('../main.js');
