import type { AuditSink } from '../../src/audit/auditLog.js';
import type { AuditRecord } from '../../src/audit/record.js';

/** Collects audit records in memory, so a test reads what a call wrote. */
export class MemoryAuditSink implements AuditSink {
  readonly enabled = true;
  readonly records: AuditRecord[] = [];
  write(record: AuditRecord): undefined {
    this.records.push(record);
  }
  async close(): Promise<void> {}
  flushSync(): void {}
}
