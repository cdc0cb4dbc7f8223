// Finds where and why a JSON text is invalid. Node 20's JSON.parse messages either give a
// bare offset or, worse, quote a slice of the input ("Unexpected token '}', "{"key":"sk-..."
// is not valid JSON"), which would copy secrets from `.mcp.json` into logs. So on failure we
// rescan the text ourselves and report line and column with our own wording.
// The scanner is iterative (an explicit stack) so a deeply nested file cannot overflow it.

export interface JsonSyntaxError {
  /** Offset in UTF-16 code units. */
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

type State =
  | 'value' // a value must come next (top level, after ":")
  | 'value-or-close' // just after "["
  | 'value-after-comma' // in an array, after ","
  | 'key-or-close' // just after "{"
  | 'key-after-comma' // in an object, after ","
  | 'colon'
  | 'after-value'
  | 'done';

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** The first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const stack: ('{' | '[')[] = [];
  let state: State = 'value';
  let pos = 0;
  let lastComma = -1;

  const fail = (offset: number, reason: string): JsonSyntaxError => ({ offset, ...lineColumn(text, offset), reason });
  const afterValue = (): State => (stack.length === 0 ? 'done' : 'after-value');

  for (;;) {
    while (pos < text.length && WHITESPACE.has(text[pos]!)) pos++;
    if (pos >= text.length) {
      if (state === 'done') return undefined;
      return fail(pos, text.trim() === '' ? 'the file is empty' : 'unexpected end of file (a bracket, brace or quote is not closed)');
    }
    const ch = text[pos]!;
    if (ch === '/' && (text[pos + 1] === '/' || text[pos + 1] === '*')) return fail(pos, 'comments are not allowed in JSON');

    switch (state) {
      case 'done':
        return fail(pos, `unexpected ${show(ch)} after the end of the JSON value`);
      case 'colon':
        if (ch !== ':') return fail(pos, `expected ":" after a property name, found ${show(ch)}`);
        pos++;
        state = 'value';
        continue;
      case 'after-value': {
        const open = stack[stack.length - 1]!;
        const close = open === '{' ? '}' : ']';
        if (ch === ',') {
          lastComma = pos;
          pos++;
          state = open === '{' ? 'key-after-comma' : 'value-after-comma';
        } else if (ch === close) {
          stack.pop();
          pos++;
          state = afterValue();
        } else {
          return fail(pos, `expected "," or "${close}", found ${show(ch)}`);
        }
        continue;
      }
      case 'key-or-close':
      case 'key-after-comma':
        if (ch === '}') {
          if (state === 'key-after-comma') return fail(lastComma, 'trailing comma before "}" is not allowed in JSON');
          stack.pop();
          pos++;
          state = afterValue();
          continue;
        }
        if (ch !== '"') return fail(pos, `expected a property name in double quotes, found ${show(ch)}`);
        {
          const end = scanString(text, pos);
          if (typeof end !== 'number') return fail(end.offset, end.reason);
          pos = end;
        }
        state = 'colon';
        continue;
      case 'value-or-close':
      case 'value-after-comma':
        if (ch === ']') {
          if (state === 'value-after-comma') return fail(lastComma, 'trailing comma before "]" is not allowed in JSON');
          stack.pop();
          pos++;
          state = afterValue();
          continue;
        }
        break;
      case 'value':
        break;
    }

    // A value starts here.
    if (ch === '{' || ch === '[') {
      stack.push(ch);
      pos++;
      state = ch === '{' ? 'key-or-close' : 'value-or-close';
      continue;
    }
    if (ch === '"') {
      const end = scanString(text, pos);
      if (typeof end !== 'number') return fail(end.offset, end.reason);
      pos = end;
      state = afterValue();
      continue;
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) {
      NUMBER.lastIndex = pos;
      const match = NUMBER.exec(text);
      if (match === null) return fail(pos, 'invalid number');
      pos += match[0].length;
      state = afterValue();
      continue;
    }
    const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, pos));
    if (literal !== undefined) {
      pos += literal.length;
      state = afterValue();
      continue;
    }
    if (ch === "'") return fail(pos, 'strings must use double quotes');
    return fail(pos, `expected a value, found ${show(ch)}`);
  }
}

/** Offset just past the closing quote, or the problem. */
function scanString(text: string, start: number): number | { offset: number; reason: string } {
  let pos = start + 1;
  while (pos < text.length) {
    const ch = text[pos]!;
    if (ch === '"') return pos + 1;
    if (ch === '\\') {
      const next = text[pos + 1];
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) return { offset: pos, reason: 'invalid \\u escape in string' };
        pos += 6;
        continue;
      }
      if (next === undefined || !'"\\/bfnrt'.includes(next)) return { offset: pos, reason: 'invalid escape in string' };
      pos += 2;
      continue;
    }
    if (ch.charCodeAt(0) < 0x20) {
      return { offset: pos, reason: 'line break or control character inside a string (write it as \\n, \\t, ...)' };
    }
    pos++;
  }
  return { offset: start, reason: 'string is not closed' };
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function show(ch: string): string {
  return JSON.stringify(ch);
}
