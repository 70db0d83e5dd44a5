// Audit events: what happened, to whom, decided how. Never raw masked values.

export type AuditEvent =
  | { type: 'session_start'; session: string; identity: string; groups: string[]; upstream: string; client: string; tls: boolean; method: string; at: string }
  | { type: 'session_end'; session: string; identity: string; upstream: string; reason: string; statements: number; durationMs: number; at: string }
  | {
      type: 'statement'; session: string; identity: string; upstream: string; sql: string;
      verdict: 'allow' | 'deny' | 'review'; reasons?: string[]; masked?: string[]; review?: string;
      durationMs?: number; rows?: number; tag?: string; error?: string; at: string;
    }
  | { type: 'auth_failed'; client: string; user: string; database: string; reason: string; at: string };

export interface AuditSink {
  write(event: AuditEvent): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}
