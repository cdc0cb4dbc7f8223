#!/usr/bin/env node
// A small stdio MCP server of ours for the shipped example configuration: a notebook
// with a read tool, a write tool and a destructive tool, so the example rules can show
// an agent that may read but not clear. State lives in memory for the process's life.
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { VERSION } from '../version.js';

const notes: { id: number; text: string; at: string }[] = [];
let nextId = 1;

const server = new McpServer({ name: 'agent-mcp-gateway-notes', version: VERSION });

server.registerTool(
  'add_note',
  { title: 'Add a note', description: 'Store a short note', inputSchema: z.object({ text: z.string().min(1).max(2000) }) },
  ({ text }) => {
    const note = { id: nextId++, text, at: new Date().toISOString() };
    notes.push(note);
    return { content: [{ type: 'text', text: `saved note ${note.id}` }], structuredContent: { note } };
  },
);

server.registerTool('list_notes', { title: 'List notes', description: 'All notes, oldest first', annotations: { readOnlyHint: true } }, () => ({
  content: [{ type: 'text', text: JSON.stringify({ notes }) }],
  structuredContent: { notes },
}));

server.registerTool('clear_notes', { title: 'Clear notes', description: 'Delete every note', annotations: { destructiveHint: true } }, () => {
  const removed = notes.splice(0).length;
  return { content: [{ type: 'text', text: `removed ${removed} notes` }] };
});

await server.connect(new StdioServerTransport());
// The SDK's stdio transport does not notice stdin EOF; a server must exit when its client goes.
process.stdin.once('end', () => process.exit(0));
process.stdin.once('close', () => process.exit(0));
