// Human sentences for the built-in guardrails (policy.md §2).
import type { GuardrailHit, GuardrailRule } from '../analysis/types.ts';

const descriptions: Record<GuardrailRule, string> = {
  'do-block': 'DO blocks run arbitrary code and are denied',
  'copy-file': 'COPY to or from a server file is denied',
  'copy-program': 'COPY … PROGRAM runs a shell command and is denied',
  'server-file-function': 'functions that read or list server files are denied',
  'large-object-write': 'large-object writes are denied',
  'out-of-band-connection': 'out-of-band database connections (dblink, fdw) are denied',
  'sql-text-function': 'functions that execute SQL passed as text are denied',
  'session-authorization': 'changing the session role or resetting session state is denied',
  'security-setting': 'changing a security-relevant setting is denied',
  'privilege-change': 'GRANT, REVOKE and role changes are denied',
  'server-admin': 'server administration is denied',
  'side-effect-function': 'functions with side effects are denied',
  'listen-notify': 'LISTEN, NOTIFY and UNLISTEN are denied',
  'data-catalog': 'catalogs that hold data values or other sessions\' SQL are denied',
  'unfiltered-write': 'UPDATE, DELETE and MERGE must have a non-trivial condition',
  drop: 'DROP is denied',
  truncate: 'TRUNCATE is denied',
  'security-definer': 'SECURITY DEFINER routines run with their owner\'s rights and are denied',
  'locking-read': 'locking reads are denied',
  'function-call': 'the FunctionCall protocol message is denied',
  unanalysable: 'statements the gateway cannot analyse are denied (fail closed)',
};

export function guardrailMessage(hit: GuardrailHit): string {
  return `${descriptions[hit.rule]} (guardrail ${hit.rule}: ${hit.detail})`;
}
