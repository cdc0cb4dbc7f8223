import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Tests that need a program a fresh machine may lack (redis-server) ask here first. Absent,
// they are skipped with a notice naming the program and how to install it, so `npm test`
// passes on a fresh clone and says what it did not run. CI installs the programs and sets
// GATEWAY_TEST_REQUIRE (comma-separated names): there a missing one is not skipped but run,
// and fails with the spawn error, so CI never reports a skipped test as a pass.

/** The absolute path of `name` on PATH, or undefined. */
export function findOnPath(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

function required(): string[] {
  return (process.env['GATEWAY_TEST_REQUIRE'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface ProgramCheck {
  /** True when the tests that need it should run (found, or required by CI). */
  readonly run: boolean;
  /** A title suffix for the describe/it: empty when it runs, the skip reason when not. */
  readonly note: string;
}

/**
 * Whether tests needing `name` run. When they do not, prints (once per call) a notice naming
 * `what` was skipped and `install`, the command that installs the program.
 */
export function needsProgram(name: string, what: string, install: string): ProgramCheck {
  if (findOnPath(name) !== undefined || required().includes(name)) return { run: true, note: '' };
  const note = ` [skipped: ${name} not found on PATH; install it with \`${install}\`]`;
  console.warn(`NOTICE: skipped ${what}: ${name} is not on PATH. Install it with \`${install}\` to run them.`);
  return { run: false, note };
}

export const REDIS_INSTALL = 'sudo apt-get install -y redis-server';
