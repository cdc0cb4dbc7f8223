import { ProtocolError } from '@modelcontextprotocol/server';

/**
 * A JSON-RPC error to answer a request with. McpError prefixes its message with
 * "MCP error <code>: ", the SDK puts that message on the wire, and the receiving SDK adds
 * the prefix again; so the message is reset to the plain text, which arrives once.
 */
export function protocolError(code: number, message: string, data?: unknown): ProtocolError {
  const error = new ProtocolError(code, message, data);
  error.message = message;
  return error;
}
