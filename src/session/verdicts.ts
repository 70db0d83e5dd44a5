// Judge every statement of a query, looking through EXECUTE and FETCH to the
// statement they run, which was recorded when it was prepared or declared.
import type { QueryAnalysis, StatementAnalysis } from '../analysis/types.ts';
import type { EffectivePolicy } from '../policy/compile.ts';
import { combine, decideStatement } from '../policy/decide.ts';
import type { QueryVerdict, StatementVerdict } from '../policy/types.ts';
import type { SessionRegistry } from './registry.ts';

export function judgeQuery(policy: EffectivePolicy, analysis: QueryAnalysis, registry: SessionRegistry): QueryVerdict {
  return combine(analysis.statements.map((s) => judgeStatement(policy, s, registry)));
}

export function judgeStatement(policy: EffectivePolicy, stmt: StatementAnalysis, registry: SessionRegistry): StatementVerdict {
  if (stmt.kind === 'execute' || stmt.kind === 'fetch') {
    const target = stmt.kind === 'execute' ? registry.prepared.get(stmt.name ?? '')?.statement : registry.cursors.get(stmt.name ?? '');
    if (!target) return unknownName(stmt);
    const own = decideStatement(policy, stmt);
    const inner = judgeStatement(policy, target, registry);
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
