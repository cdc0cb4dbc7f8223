import type { CallToolResult, InputRequiredResult } from '@modelcontextprotocol/server';

// Reading what a tool call returned, the same way in every test.

/** The text blocks of a tool result's content, joined; '' when it has none. */
export function textOf(result: unknown): string {
  const content = (result as { content?: unknown } | undefined)?.content;
  if (!Array.isArray(content)) return '';
  return (content as Array<{ type?: unknown; text?: unknown }>)
    .filter((block) => block.type === 'text' && typeof block.text === 'string')
    .map((block) => block.text as string)
    .join('');
}

/** The gateway's error in a tool result (structuredContent.error); undefined when it has none. */
export function errorOf(result: unknown): { code: string; message: string } | undefined {
  return (result as { structuredContent?: { error?: { code: string; message: string } } } | undefined)?.structuredContent?.error;
}

/** The code of the gateway's error in a tool result; undefined when it has none. */
export function codeOf(result: unknown): string | undefined {
  return errorOf(result)?.code;
}

/** A tools/call answer that must be a final result (a 2025 caller never gets input_required). */
export function completed(result: CallToolResult | InputRequiredResult): CallToolResult {
  if (result.resultType === 'input_required') throw new Error(`expected a final result, got input_required: ${JSON.stringify(result)}`);
  return result as CallToolResult;
}
