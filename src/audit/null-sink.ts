// Audit switched off: nothing is written, nothing fails.
import type { AuditSink } from './types.ts';

export class NullAuditSink implements AuditSink {
  readonly enabled = false;
  write(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  healthy(): boolean {
    return true;
  }
}
