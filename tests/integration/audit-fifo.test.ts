// The audit sink against a FIFO, made with mkfifo(1): a child process, so not a unit test.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonlAuditSink } from '../../src/audit/auditLog.js';
import { createLogger } from '../../src/log.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

afterAll(cleanupTmpDirs);

describe('JsonlAuditSink refuses what would hold every reply', () => {
  it('a FIFO (writes that never complete) is refused at open, naming the path', () => {
    const path = join(makeTmpDir(), 'audit.fifo');
    execFileSync('mkfifo', [path]);
    expect(() => new JsonlAuditSink(path, createLogger('silent'))).toThrow(`${path} is not a regular file`);
  });
});
