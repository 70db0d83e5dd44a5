// FROM-clause scopes and column-reference resolution, following Postgres' rules.
import type { Lin } from './lineage.ts';

export interface Col {
  name: string;
  lin: Lin;
  /** The FROM items this column belongs to (two for a merged USING column). */
  owners: FromItem[];
}

export interface FromItem {
  /** Alias, or the relation / CTE / function name; null for an unaliased join or subquery. */
  refname: string | null;
  /** "schema.name" when this is an unaliased relation (for schema.table.col references). */
  relKey?: string;
  cols: Col[];
  /** Hidden system columns (ctid, xmin, ...), base relations only. */
  system?: Col[];
  /** Relations a row-locking clause on this item would lock. */
  lockables: string[];
  /** How many times a column or the whole row of this item was referenced. */
  refs: number;
}

export interface Level {
  items: FromItem[];
  /** Per top-level FROM element, the columns visible to unqualified references. */
  visible: Col[][];
  /** Output columns, for ORDER BY / GROUP BY names (set once the target list is known). */
}

export interface CteDef {
  name: string;
  cols: Col[];
  lockables: string[];
}

export interface CteChain {
  defs: Map<string, CteDef>;
  parent: CteChain | null;
}

export interface Scope {
  level: Level | null;
  parent: Scope | null;
  ctes: CteChain | null;
}

export const EMPTY_SCOPE: Scope = { level: null, parent: null, ctes: null };

export function newLevel(): Level {
  return { items: [], visible: [] };
}

/** A scope for a query level nested inside `outer` (correlated references reach outer). */
export function childScope(outer: Scope, level: Level | null, ctes: CteChain | null = outer.ctes): Scope {
  return { level, parent: outer, ctes };
}

export function findCte(scope: Scope, name: string): CteDef | undefined {
  for (let c = scope.ctes; c; c = c.parent) {
    const d = c.defs.get(name);
    if (d) return d;
  }
  return undefined;
}

export function makeItem(refname: string | null, cols: { name: string; lin: Lin }[], lockables: string[], relKey?: string): FromItem {
  const item: FromItem = { refname, cols: [], lockables, refs: 0 };
  if (relKey) item.relKey = relKey;
  item.cols = cols.map((c) => ({ name: c.name, lin: c.lin, owners: [item] }));
  return item;
}

export type ColumnLookup =
  | { kind: 'col'; col: Col }
  | { kind: 'row'; item: FromItem }
  | { kind: 'none' }
  | { kind: 'ambiguous'; what: string };

function findItems(level: Level, qualifier: string[]): FromItem[] {
  if (qualifier.length === 1) return level.items.filter((i) => i.refname === qualifier[0]);
  const key = qualifier.slice(-2).join('.');
  return level.items.filter((i) => i.relKey === key);
}

/** Resolve a qualifier (["t"] or ["s","t"]) to a FROM item, innermost level first. */
export function lookupItem(scope: Scope, qualifier: string[]): FromItem | 'ambiguous' | undefined {
  for (let s: Scope | null = scope; s; s = s.parent) {
    if (!s.level) continue;
    const hits = findItems(s.level, qualifier);
    if (hits.length > 1) return 'ambiguous';
    if (hits.length === 1) return hits[0];
  }
  return undefined;
}

function columnOf(item: FromItem, name: string): Col | undefined {
  return item.cols.find((c) => c.name === name) ?? item.system?.find((c) => c.name === name);
}

/** Resolve an unqualified column name through the visible columns, innermost level first. */
export function lookupBareColumn(scope: Scope, name: string): ColumnLookup {
  for (let s: Scope | null = scope; s; s = s.parent) {
    if (!s.level) continue;
    let found: Col | undefined;
    for (const visible of s.level.visible) {
      for (const c of visible) {
        if (c.name !== name) continue;
        if (found && found !== c) return { kind: 'ambiguous', what: `column reference "${name}" is ambiguous` };
        found = c;
      }
    }
    if (!found) {
      for (const item of s.level.items) {
        const sys = item.system?.find((c) => c.name === name);
        if (!sys) continue;
        if (found) return { kind: 'ambiguous', what: `column reference "${name}" is ambiguous` };
        found = sys;
      }
    }
    if (found) return { kind: 'col', col: found };
  }
  return { kind: 'none' };
}

/**
 * Resolve a ColumnRef's name parts (without a trailing *), like transformColumnRef:
 * col | rel.col | schema.rel.col | db.schema.rel.col, with whole-row and composite-field fallbacks.
 * Returns the lookup plus how many trailing parts are field selections on a composite value.
 */
export function lookupColumn(scope: Scope, parts: string[]): { found: ColumnLookup; fields: number } {
  if (parts.length === 1) {
    const r = lookupBareColumn(scope, parts[0]);
    if (r.kind !== 'none') return { found: r, fields: 0 };
    const item = lookupItem(scope, parts);
    if (item === 'ambiguous') return { found: { kind: 'ambiguous', what: `table reference "${parts[0]}" is ambiguous` }, fields: 0 };
    return { found: item ? { kind: 'row', item } : { kind: 'none' }, fields: 0 };
  }
  // Try the longest relation qualifier first: schema.rel.col, then rel.col(.field...)
  for (const qlen of parts.length >= 3 ? [parts.length === 4 ? 3 : 2, 1] : [1]) {
    const qualifier = parts.slice(0, qlen).slice(-2);
    const item = lookupItem(scope, qualifier);
    if (item === 'ambiguous') return { found: { kind: 'ambiguous', what: `table reference "${qualifier.join('.')}" is ambiguous` }, fields: 0 };
    if (!item) continue;
    const col = columnOf(item, parts[qlen]);
    if (col) return { found: { kind: 'col', col }, fields: parts.length - qlen - 1 };
    if (qlen === 1 && parts.length >= 2) return { found: { kind: 'none' }, fields: 0 };
  }
  // rel.col where rel is not a FROM item: maybe col.field on a composite column
  const r = lookupBareColumn(scope, parts[0]);
  if (r.kind === 'col') return { found: r, fields: parts.length - 1 };
  return { found: { kind: 'none' }, fields: 0 };
}

/** Mark the owners of a column (or an item) as referenced. */
export function touch(col: Col): void {
  for (const o of col.owners) o.refs++;
}
