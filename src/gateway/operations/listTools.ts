import type { Tool } from '@modelcontextprotocol/server';
import { GatewayError } from '../../errors.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import { errorMessage } from '../../values.js';

/** The downstream's (cached) tool list; any failure to get it means the server is unavailable. */
export async function listToolsOf(connection: DownstreamConnection, server: string, signal?: AbortSignal): Promise<readonly Tool[]> {
  try {
    return await connection.listTools(signal ? { signal } : {});
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('SERVER_UNAVAILABLE', `Server unavailable: ${server}: ${errorMessage(err)}`, { server }, { cause: err });
  }
}
