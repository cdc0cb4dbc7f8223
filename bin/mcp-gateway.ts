#!/usr/bin/env node
// `mcp-gateway [-c|--config PATH]`: SignalWire's command line, so scripts, Dockerfiles and
// service units written for their gateway start this one unchanged. As there, the config file
// defaults to ./config.json. Everything else is agent-mcp-gateway's own command line
// (main.ts): `--config` implies --transport http, and every other flag still works.

const args = process.argv.slice(2);
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
