// SET / RESET / SHOW: which parameters a client may change without a guardrail fact.
import { constOf, defArgText, inner, list, tag, type Node } from './ast.ts';
import { addGuardrail, type Env } from './env.ts';

const SAFE_PARAMS = new Set([
  'application_name', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'datestyle',
  'timezone', 'intervalstyle', 'extra_float_digits', 'client_min_messages', 'bytea_output', 'work_mem', 'jit',
  'transaction_isolation',
]);

const AUTH_PARAMS = new Set(['role', 'session_authorization']);

function argText(n: Node): string | undefined {
  if (tag(n) === 'A_Const') {
    const c = constOf(inner(n));
    return c.type === 'null' ? undefined : String(c.value);
  }
  if (tag(n) === 'TypeCast') return argText(inner(n).arg as Node);
  return defArgText(n);
}

function valueOk(name: string, args: Node[]): boolean {
  const value = (args.length === 1 ? argText(args[0]) ?? '' : '').toLowerCase();
  if (name === 'client_encoding') return ['utf8', 'unicode'].includes(value.replace(/[-_]/g, ''));
  if (name === 'standard_conforming_strings') return ['on', 'true', 'yes', '1'].includes(value);
  return true;
}

function isSafe(name: string): boolean {
  return SAFE_PARAMS.has(name) || /^enable_[a-z_]+$/.test(name);
}

/** Guardrail facts of a VariableSetStmt (SET, SET LOCAL, RESET, SET TRANSACTION, ...). */
export function setStatement(env: Env, v: Node): void {
  const kind = String(v.kind ?? '');
  const name = String(v.name ?? '').toLowerCase();
  if (kind === 'VAR_RESET_ALL') { addGuardrail(env, 'session-authorization', 'RESET ALL'); return; }
  if (AUTH_PARAMS.has(name)) {
    addGuardrail(env, 'session-authorization', `${kind === 'VAR_RESET' ? 'RESET' : 'SET'} ${name}`);
    return;
  }
  if (kind === 'VAR_SET_MULTI') { transactionOptions(env, list(v.args), `SET ${name}`); return; }
  const args = list(v.args);
  const resetting = kind === 'VAR_RESET' || kind === 'VAR_SET_DEFAULT';
  if (isSafe(name) && (resetting || kind === 'VAR_SET_CURRENT' || valueOk(name, args))) return;
  if ((name === 'client_encoding' || name === 'standard_conforming_strings') && resetting) return;
  if ((name === 'client_encoding' || name === 'standard_conforming_strings') && valueOk(name, args)) return;
  addGuardrail(env, 'security-setting', `${resetting ? 'RESET' : 'SET'} ${name}`);
}

/** SET TRANSACTION / SESSION CHARACTERISTICS / BEGIN options: READ WRITE is a security setting. */
export function transactionOptions(env: Env, opts: Node[], what: string): void {
  for (const o of opts) {
    const d = inner(o);
    const dn = String(d.defname ?? '');
    if (dn === 'transaction_read_only') {
      const val = argText(d.arg as Node);
      if (val === '0' || val === 'false' || val === 'off') addGuardrail(env, 'security-setting', `${what} READ WRITE`);
    } else if (dn !== 'transaction_isolation' && dn !== 'transaction_deferrable') {
      addGuardrail(env, 'security-setting', `${what} ${dn}`);
    }
  }
}
