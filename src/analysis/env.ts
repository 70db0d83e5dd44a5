// The analysis environment: catalog access, the fact sink, and nesting state.
import type {
  Action, AnalysisContext, CatalogRequest, CatalogSnapshot, ColumnUse, ColumnUseContext,
  GuardrailHit, GuardrailRule, Privilege, QualifiedName,
} from './types.ts';

/** Where the facts of one top-level statement (and everything it runs) accumulate. */
export interface Sink {
  actions: Action[];
  guardrails: GuardrailHit[];
  uses: ColumnUse[];
  missing: Map<string, CatalogRequest>;
  readsCatalog: boolean;
  createsTemp: string[];
  changesCatalog: boolean;
  seen: Set<string>;
}

export interface Env {
  catalog: CatalogSnapshot;
  context: AnalysisContext;
  sink: Sink;
  /** Label for actions produced here: '' at the client's level, else "view s.v" / "function s.f". */
  via: string;
  /** False inside view definitions and routine bodies: lineage only, no uses. */
  recordUses: boolean;
  /** Nesting of views and routine bodies. */
  depth: number;
  /** Views / routines being expanded (cycle guard). */
  expanding: ReadonlySet<string>;
  /** Inside a routine body: unresolved names are parameters or variables. */
  inBody: boolean;
  /** Unresolved column names are tolerated (DDL expressions over a table being defined). */
  lenientColumns: boolean;
}

export const MAX_NESTING = 16;

export function newSink(): Sink {
  return {
    actions: [], guardrails: [], uses: [], missing: new Map(), readsCatalog: false,
    createsTemp: [], changesCatalog: false, seen: new Set(),
  };
}

export function rootEnv(catalog: CatalogSnapshot, context: AnalysisContext, sink: Sink = newSink()): Env {
  return {
    catalog, context, sink, via: '', recordUses: true, depth: 0, expanding: new Set(),
    inBody: false, lenientColumns: false,
  };
}

/** An environment for a nested definition (view or routine body). */
export function nestedEnv(env: Env, key: string, via: string, inBody: boolean): Env {
  const expanding = new Set(env.expanding);
  expanding.add(key);
  return { ...env, via, recordUses: false, depth: env.depth + 1, expanding, inBody: inBody || env.inBody };
}

export function addAction(env: Env, privilege: Privilege, object: string, via: string): void {
  const v = env.via || via;
  const key = `a\u0000${privilege}\u0000${object}\u0000${v}`;
  if (env.sink.seen.has(key)) return;
  env.sink.seen.add(key);
  env.sink.actions.push({ privilege, object, via: v });
}

export function addGuardrail(env: Env, rule: GuardrailRule, detail: string, object?: QualifiedName): void {
  const d = env.via && !detail.includes(env.via) ? `${detail} (in ${env.via})` : detail;
  const key = `g\u0000${rule}\u0000${d}`;
  if (env.sink.seen.has(key)) return;
  env.sink.seen.add(key);
  env.sink.guardrails.push(object ? { rule, detail: d, object } : { rule, detail: d });
}

export function unanalysable(env: Env, detail: string): void {
  addGuardrail(env, 'unanalysable', detail);
}

export function addUse(env: Env, column: string, context: ColumnUseContext): void {
  if (!env.recordUses) return;
  const key = `u\u0000${column}\u0000${context}`;
  if (env.sink.seen.has(key)) return;
  env.sink.seen.add(key);
  env.sink.uses.push({ column, context });
}

export function addUses(env: Env, columns: Iterable<string>, context: ColumnUseContext): void {
  if (!env.recordUses) return;
  for (const c of columns) addUse(env, c, context);
}

export function requestMissing(env: Env, req: CatalogRequest): void {
  env.sink.missing.set(`${req.type}\u0000${req.schema}\u0000${req.name}`, req);
}
