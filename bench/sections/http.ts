// HTTP mode (REST /call and /mcp over a direct Streamable HTTP call): not in the gateway yet.

import type { Context } from '../lib/context.js';

export async function runHttp(ctx: Context): Promise<void> {
  for (const metric of ['REST /call added latency over direct Streamable HTTP', '/mcp added latency over direct Streamable HTTP']) {
    ctx.rows.push({ section: 'HTTP mode', metric, unit: 'ms', text: 'n/a (HTTP mode not present yet)' });
  }
  return Promise.resolve();
}
