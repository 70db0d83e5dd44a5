// The errors a client sees when the gateway refuses something (42501, "scopegate:" prefix, a HINT).
import type { AnalysisError } from '../analysis/types.ts';
import { PgError } from '../protocol/errors.ts';
import type { Identity, QueryVerdict, Reason } from '../policy/types.ts';

export function verdictError(verdict: QueryVerdict, identity: Identity): PgError {
  const reason = verdict.decisive ?? verdict.statements.flatMap((s) => s.reasons).find((r) => r.decision !== 'allow');
  const others = verdict.statements.flatMap((s) => s.reasons).filter((r) => r.decision !== 'allow' && r !== reason);
  const detail = others.length > 0 ? `also: ${others.slice(0, 5).map((r) => r.message).join('; ')}` : undefined;
  if (verdict.decision === 'review') {
    return new PgError('42501', `scopegate: review required: ${reason?.message ?? 'this statement needs approval'}`, {
      detail,
      hint: `A human must approve this statement for "${identity.name}". Approvals are not enabled on this gateway yet; ask an administrator to allow it in the policy.`,
    });
  }
  return new PgError('42501', `scopegate: denied: ${reason?.message ?? 'not allowed'}`, { detail, hint: hintFor(reason, identity) });
}

function hintFor(reason: Reason | undefined, identity: Identity): string {
  if (!reason) return 'Ask an administrator to review the gateway policy.';
  if (reason.guardrail) {
    return `Guardrail ${reason.guardrail} applies to every identity; an administrator can lift it for a policy with guardrails.lift, or explain the need with: scopegate explain --as ${identity.name} "<sql>".`;
  }
  if (reason.privilege && reason.object) {
    return `Ask an administrator to grant "${identity.name}" ${reason.privilege} on ${reason.object} in scopegate.yaml (allow: - ${reason.privilege}: [${reason.object}]).`;
  }
  return `Ask an administrator; "scopegate explain --as ${identity.name}" shows every rule that applies.`;
}

export function analysisError(err: AnalysisError): PgError {
  if (err.code === '42601') return new PgError('42601', `scopegate: syntax error: ${err.message}`, { hint: 'The gateway parses every statement with the PostgreSQL parser and refuses what does not parse.' });
  const code = /^[0-9A-Z]{5}$/.test(err.code) ? err.code : '42501';
  return new PgError(code, `scopegate: ${err.message}`, { hint: 'Statements the gateway cannot analyse are refused (fail closed).' });
}

export function functionCallError(): PgError {
  return new PgError('42501', 'scopegate: denied: the FunctionCall protocol message is not allowed (guardrail function-call)', {
    hint: 'Call functions with SELECT so the gateway can check them.',
  });
}
