// Errors that reach a client. Everything the gateway refuses is a PgError
// carrying a SQLSTATE; errorFields() is the single place one becomes the
// fields of an ErrorResponse (or NoticeResponse).

import { ProtocolError, type NoticeFields } from './types.ts';

export type Severity = 'ERROR' | 'FATAL';

export interface PgErrorOptions {
  detail?: string;
  hint?: string;
  /** ERROR (default): the session continues. FATAL: the connection is closed after sending it. */
  severity?: Severity;
}

export class PgError extends Error {
  readonly code: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly severity: Severity;

  constructor(code: string, message: string, options: PgErrorOptions = {}) {
    super(message);
    this.name = 'PgError';
    if (!/^[0-9A-Z]{5}$/.test(code)) throw new TypeError(`invalid SQLSTATE ${JSON.stringify(code)}`);
    this.code = code;
    this.severity = options.severity ?? 'ERROR';
    if (options.detail !== undefined) this.detail = options.detail;
    if (options.hint !== undefined) this.hint = options.hint;
  }

  get fatal(): boolean {
    return this.severity === 'FATAL';
  }
}

/** Wire fields in protocol order: S (localized severity), V (severity), C, M, then D and H when present. */
export function errorFields(e: PgError): NoticeFields {
  const fields: NoticeFields = { S: e.severity, V: e.severity, C: e.code, M: clean(e.message) };
  if (e.detail !== undefined) fields.D = clean(e.detail);
  if (e.hint !== undefined) fields.H = clean(e.hint);
  return fields;
}

/** A NUL cannot travel inside a cstring; replace it rather than fail while reporting an error. */
function clean(s: string): string {
  return s.includes('\0') ? s.replaceAll('\0', '\\0') : s;
}

/**
 * Any thrown value as something safe to send: PgErrors as they are, a
 * ProtocolError as FATAL with its own code (the stream can't be trusted), and
 * anything else as a generic internal error whose details stay in the log.
 */
export function toPgError(err: unknown): PgError {
  if (err instanceof PgError) return err;
  if (err instanceof ProtocolError) return new PgError(err.code, err.message, { severity: 'FATAL' });
  return new PgError('XX000', 'scopegate: internal error', { severity: 'ERROR' });
}
