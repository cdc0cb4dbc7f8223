import { ProtocolError } from '@modelcontextprotocol/server';

/** A JSON-RPC error to answer a request with (its message goes on the wire as it is). */
export function protocolError(code: number, message: string, data?: unknown): ProtocolError {
  return ProtocolError.fromError(code, message, data);
}

/**
 * A JSON-RPC error raised by the client side of the SDK (its own copy of the class): the
 * downstream's answer, passed on to the caller as the same error (see
 * downstream/failureMapping.ts isCallersOwnError).
 */
export function asForeignProtocolError(err: unknown): ProtocolError | undefined {
  if (!(err instanceof Error) || err instanceof ProtocolError) return undefined;
  const { code, data } = err as Error & { code?: unknown; data?: unknown };
  return typeof code === 'number' && Number.isSafeInteger(code) ? ProtocolError.fromError(code, err.message, data) : undefined;
}
