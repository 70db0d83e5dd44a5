// Judge every statement of a query, looking through EXECUTE and FETCH to the
// statement they run, which was recorded when it was prepared or declared.
import type { QueryAnalysis, StatementAnalysis } from '../analysis/types.ts';
import type { EffectivePolicy } from '../policy/compile.ts';
import { combine, decideStatement } from '../policy/decide.ts';
import type { QueryVerdict, StatementVerdict } from '../policy/types.ts';
import type { SessionRegistry } from './registry.ts';

/** What EXECUTE and FETCH names refer to. */
export interface NameLookup {
  prepared(name: string): StatementAnalysis | undefined;
  cursor(name: string): StatementAnalysis | undefined;
}

export function registryLookup(registry: SessionRegistry): NameLookup {
  return {
    prepared: (name) => registry.prepared.get(name)?.statement,
    cursor: (name) => registry.cursors.get(name),
  };
}

/**
 * Statements of one query are judged in order, and what an earlier one
 * prepares or declares is visible to a later one (`DECLARE c …; FETCH c`).
 */
export function judgeQuery(policy: EffectivePolicy, analysis: QueryAnalysis, registry: SessionRegistry): QueryVerdict {
  const base = registryLookup(registry);
  const prepared = new Map<string, StatementAnalysis | undefined>();
  const cursors = new Map<string, StatementAnalysis | undefined>();
  const lookup: NameLookup = {
    prepared: (name) => (prepared.has(name) ? prepared.get(name) : base.prepared(name)),
    cursor: (name) => (cursors.has(name) ? cursors.get(name) : base.cursor(name)),
  };
  const verdicts = analysis.statements.map((s) => {
    const verdict = judgeStatement(policy, s, lookup);
    if (s.kind === 'prepare' && s.name) prepared.set(s.name, s.inner);
    else if (s.kind === 'declare' && s.name) cursors.set(s.name, s.inner);
    else if (s.kind === 'deallocate' && s.name && s.name !== '*') prepared.set(s.name, undefined);
    else if (s.kind === 'close-cursor' && s.name && s.name !== '*') cursors.set(s.name, undefined);
    return verdict;
  });
  return combine(verdicts);
}

export function judgeStatement(policy: EffectivePolicy, stmt: StatementAnalysis, lookup: NameLookup): StatementVerdict {
  if (stmt.kind === 'execute' || stmt.kind === 'fetch') {
    const target = stmt.kind === 'execute' ? lookup.prepared(stmt.name ?? '') : lookup.cursor(stmt.name ?? '');
    if (!target) return unknownName(stmt);
    const own = decideStatement(policy, stmt);
    const inner = judgeStatement(policy, target, lookup);
    const reasons = [...own.reasons, ...inner.reasons];
    const decision = [own.decision, inner.decision].includes('deny') ? 'deny' : [own.decision, inner.decision].includes('review') ? 'review' : 'allow';
    return { ...inner, decision, reasons, touchesMasked: own.touchesMasked || inner.touchesMasked };
  }
  return decideStatement(policy, stmt);
}

function unknownName(stmt: StatementAnalysis): StatementVerdict {
  const what = stmt.kind === 'execute' ? 'prepared statement' : 'cursor';
  return {
    decision: 'deny',
    reasons: [
      {
        decision: 'deny',
        rule: 'fail closed: unknown name',
        message: `${what} "${stmt.name}" was not prepared through this session, so what it runs cannot be checked`,
      },
    ],
    masks: null,
    maskedColumns: [],
    touchesMasked: false,
  };
}
