// The SDK Client the gateway connects to a downstream server with: the SDK's own, plus the one
// thing a call made past it (directCalls.ts) needs of it.

import { Client, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import type { CallToolResult } from '@modelcontextprotocol/client';

export type ToolResultCheck = { readonly ok: true; readonly value: CallToolResult } | { readonly ok: false; readonly error: Error };

export class GatewayClient extends Client {
  /**
   * A tools/call answer's result as this Client's request() would have returned it: read and
   * validated by the codec of the era it negotiated, with the Client's own error when invalid.
   */
  checkToolResult(raw: unknown): ToolResultCheck {
    const codec = this._wireCodec();
    const decoded = codec.decodeResult('tools/call', raw);
    if (decoded.kind === 'invalid') return { ok: false, error: decoded.error };
    // Direct calls are made to 2025 servers only, whose codec never reads input_required.
    if (decoded.kind !== 'complete') return { ok: false, error: new SdkError(SdkErrorCode.InvalidResult, 'Invalid result for tools/call: not a complete result') };
    const validated = codec.validateResult('tools/call', decoded.result);
    if (validated.ok) return { ok: true, value: validated.value };
    const why = validated.reason === 'invalid' ? validated.message : 'not-in-era: tools/call';
    return { ok: false, error: new SdkError(SdkErrorCode.InvalidResult, `Invalid result for tools/call: ${why}`) };
  }
}
