// What this session has prepared, bound and declared, so that later EXECUTE,
// Bind, Execute and FETCH (which carry no SQL) are judged by the SQL behind them.
// SQL-level PREPARE and protocol-level Parse share one namespace, as in Postgres.
import type { StatementAnalysis } from '../analysis/types.ts';
import type { StatementVerdict } from '../policy/types.ts';
import type { FieldDescription, FormatCode } from '../protocol/types.ts';

export interface PreparedEntry {
  sql: string;
  /** The statement that runs when this is executed. */
  statement: StatementAnalysis;
}

export interface PortalEntry {
  prepared: PreparedEntry;
  /** The verdict taken at Bind: its masking plan applies to every Execute of the portal. */
  verdict: StatementVerdict;
  resultFormats: readonly FormatCode[];
  /** RowDescription for this portal (from the client's Describe or one the gateway added). */
  fields?: FieldDescription[];
  /** A Describe whose answer will be kept in `fields` has been sent. */
  describeSent: boolean;
}

export class SessionRegistry {
  readonly prepared = new Map<string, PreparedEntry>();
  readonly portals = new Map<string, PortalEntry>();
  readonly cursors = new Map<string, StatementAnalysis>();
  readonly tempRelations = new Set<string>();

  constructor(private readonly maxPrepared: number) {}

  canPrepare(name: string): boolean {
    return name === '' || this.prepared.has(name) || this.prepared.size < this.maxPrepared;
  }

  prepare(name: string, entry: PreparedEntry): void {
    this.prepared.set(name, entry);
  }

  /** Sets the entry now and returns how to put back what was there, should the upstream not accept it. */
  prepareProvisionally(name: string, entry: PreparedEntry): () => void {
    return this.replace(this.prepared, name, entry);
  }

  /** Close (statement) message: forget it, undoably. */
  closeStatement(name: string): () => void {
    return this.replace(this.prepared, name, undefined);
  }

  /** Close (portal) message: forget it, undoably. */
  closePortal(name: string): () => void {
    return this.replace(this.portals, name, undefined);
  }

  private replace<V>(map: Map<string, V>, name: string, value: V | undefined): () => void {
    const had = map.has(name);
    const previous = map.get(name);
    if (value === undefined) map.delete(name);
    else map.set(name, value);
    return () => {
      if (had) map.set(name, previous as V);
      else map.delete(name);
    };
  }

  deallocate(name: string): void {
    if (name === '*') this.prepared.clear();
    else this.prepared.delete(name);
  }

  declare(name: string, inner: StatementAnalysis): void {
    this.cursors.set(name, inner);
  }

  closeCursor(name: string): void {
    if (name === '*') this.cursors.clear();
    else this.cursors.delete(name);
  }

  /**
   * Portals are kept until replaced or closed, even past the end of their
   * transaction: responses arrive asynchronously, and forgetting a portal that
   * a pipelined Execute still refers to would lose its masking plan. A stale
   * entry is harmless (Postgres rejects an Execute of a portal that is gone).
   */
  bind(name: string, portal: PortalEntry): (() => void) | null {
    if (name !== '' && !this.portals.has(name) && this.portals.size >= this.maxPrepared) return null;
    return this.replace(this.portals, name, portal);
  }
}
