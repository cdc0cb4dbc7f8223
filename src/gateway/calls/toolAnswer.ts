import type { CallToolResult, InputRequiredResult } from '@modelcontextprotocol/server';

/** What a tools/call answers: a result, or (2026) the downstream's request for input. */
export type ToolAnswer = CallToolResult | InputRequiredResult;
