// The gateway's own tools in the order tools/list gives them, written out here (not read from
// src) so that a test says what a client must see.
export const META_TOOL_NAMES: readonly string[] = ['list_servers', 'search_tools', 'get_server_tools', 'execute_tool', 'read_resource', 'get_prompt'];

/** With get_gateway_status, offered in debug mode. */
export const DEBUG_META_TOOL_NAMES: readonly string[] = [...META_TOOL_NAMES, 'get_gateway_status'];
