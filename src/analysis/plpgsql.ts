// PL/pgSQL bodies: compile with the real plpgsql parser, then analyse every embedded SQL text.
import { parsePlPgSQLSync } from 'libpg-query';
import { inner, tag, type Node } from './ast.ts';
import { unanalysable, type Env } from './env.ts';
import { mixed, type Lin } from './lineage.ts';
import { analyseSqlText } from './bodies.ts';

export interface PlpgsqlSource {
  /** A complete CREATE FUNCTION / PROCEDURE statement (the client's own), if available. */
  createSql?: string;
  /** prosrc, when only the body is known (catalog routines). */
  body?: string;
  procedure: boolean;
  returnsSet: boolean;
}

const DYNAMIC = new Set(['PLpgSQL_stmt_dynexecute', 'PLpgSQL_stmt_dynfors']);

function dollarQuote(body: string): string {
  let tag = 'sg';
  while (body.includes(`$${tag}$`)) tag += 'x';
  return `$${tag}$`;
}

/** Build a CREATE statement around a bare body, declaring names the parser reports unknown. */
function compileBody(src: PlpgsqlSource): Node | string {
  const body = src.body ?? '';
  const decls = new Map<string, string>();
  const rts = src.returnsSet ? ['SETOF record', 'record', 'trigger', 'void'] : ['record', 'SETOF record', 'trigger', 'void'];
  let rt = 0;
  let lastError = '';
  for (let attempt = 0; attempt < 40; attempt++) {
    let text = body;
    if (decls.size > 0) {
      const d = [...decls].map(([n, t]) => `"${n}" ${t};`).join(' ');
      text = `DECLARE ${d} BEGIN ${body.trimEnd().replace(/;\s*$/, '')}; END`;
    }
    const q = dollarQuote(text);
    const head = src.procedure ? 'CREATE PROCEDURE sg_body()' : `CREATE FUNCTION sg_body() RETURNS ${rts[rt]}`;
    try {
      return parsePlPgSQLSync(`${head} LANGUAGE plpgsql AS ${q}${text}${q}`) as unknown as Node;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
      const m = /"([^"]+)" is not a known variable/.exec(lastError);
      if (m) {
        const [first, ...rest] = m[1].split('.');
        if ((first === 'new' || first === 'old') && rts[rt] !== 'trigger' && !src.procedure) { rt = rts.indexOf('trigger'); continue; }
        if (!decls.has(first)) { decls.set(first, rest.length > 0 ? 'record' : 'text'); continue; }
      }
      if (!src.procedure && rt + 1 < rts.length) { rt++; continue; }
      return lastError;
    }
  }
  return lastError;
}

function compile(src: PlpgsqlSource): Node | string {
  if (src.createSql !== undefined) {
    try {
      return parsePlPgSQLSync(src.createSql) as unknown as Node;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }
  return compileBody(src);
}

/** The SQL text Postgres would run for one PLpgSQL_expr, by parse mode. */
function exprSql(e: Node): string {
  const q = String(e.query ?? '');
  const mode = Number(e.parseMode ?? 0);
  if (mode === 0) return q;
  if (mode >= 3) {
    const i = q.indexOf(':=');
    const j = i >= 0 ? i + 2 : q.indexOf('=') + 1;
    return `SELECT ${q.slice(j)}`;
  }
  return `SELECT ${q}`;
}

/** Analyse a plpgsql routine: every statement and expression it contains; dynamic SQL is unanalysable. */
export function analysePlpgsql(env: Env, src: PlpgsqlSource): Lin {
  const tree = compile(src);
  if (typeof tree === 'string') {
    unanalysable(env, `plpgsql body does not compile: ${tree}`);
    return { sources: [], direct: false };
  }
  const texts: string[] = [];
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) { for (const i of x) visit(i); return; }
    if (x === null || typeof x !== 'object') return;
    const t = tag(x);
    if (DYNAMIC.has(t)) unanalysable(env, 'dynamic SQL (EXECUTE) in plpgsql');
    if (t === 'PLpgSQL_stmt_open' && inner(x as Node).dynquery) unanalysable(env, 'dynamic SQL (OPEN ... FOR EXECUTE) in plpgsql');
    if (t === 'PLpgSQL_expr') { texts.push(exprSql(inner(x as Node))); return; }
    for (const k in x as Node) visit((x as Node)[k]);
  };
  visit(tree);
  return mixed(texts.map((t) => analyseSqlText(env, t)));
}
