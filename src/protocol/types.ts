// Typed Postgres v3 protocol messages. Names follow the protocol documentation
// ("Message Formats"). Frontend = client → server, backend = server → client.

export type FormatCode = 0 | 1;

// ---------------------------------------------------------------- startup phase

export type StartupPacket =
  | { type: 'StartupMessage'; protocolVersion: number; parameters: Record<string, string>; duplicateKeys: string[] }
  | { type: 'SSLRequest' }
  | { type: 'GSSENCRequest' }
  | { type: 'CancelRequest'; processId: number; secretKey: number };

// ---------------------------------------------------------------- frontend

export type FrontendMessage =
  | { type: 'Query'; sql: string }
  | { type: 'Parse'; name: string; sql: string; paramTypes: number[] }
  | { type: 'Bind'; portal: string; statement: string; paramFormats: readonly FormatCode[]; params: (Buffer | null)[]; resultFormats: readonly FormatCode[] }
  | { type: 'Describe'; kind: 'S' | 'P'; name: string }
  | { type: 'Execute'; portal: string; maxRows: number }
  | { type: 'Close'; kind: 'S' | 'P'; name: string }
  | { type: 'Sync' }
  | { type: 'Flush' }
  | { type: 'Terminate' }
  | { type: 'CopyData'; data: Buffer }
  | { type: 'CopyDone' }
  | { type: 'CopyFail'; message: string }
  | { type: 'FunctionCall'; functionOid: number }
  /** 'p': PasswordMessage / SASLInitialResponse / SASLResponse — meaning depends on the auth state. */
  | { type: 'PasswordMessage'; data: Buffer };

// ---------------------------------------------------------------- backend

export interface FieldDescription {
  name: string;
  tableOid: number;
  columnAttnum: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  format: FormatCode;
}

/** ErrorResponse / NoticeResponse fields keyed by their one-letter code (S, V, C, M, D, H, P, p, q, W, s, t, c, d, n, F, L, R). */
export type NoticeFields = Record<string, string>;

export type BackendMessage =
  | { type: 'AuthenticationOk' }
  | { type: 'AuthenticationCleartextPassword' }
  | { type: 'AuthenticationMD5Password'; salt: Buffer }
  | { type: 'AuthenticationSASL'; mechanisms: string[] }
  | { type: 'AuthenticationSASLContinue'; data: Buffer }
  | { type: 'AuthenticationSASLFinal'; data: Buffer }
  | { type: 'AuthenticationOther'; code: number }
  | { type: 'ParameterStatus'; name: string; value: string }
  | { type: 'BackendKeyData'; processId: number; secretKey: number }
  | { type: 'ReadyForQuery'; status: 'I' | 'T' | 'E' }
  | { type: 'RowDescription'; fields: FieldDescription[] }
  | { type: 'DataRow'; values: (Buffer | null)[] }
  | { type: 'CommandComplete'; tag: string }
  | { type: 'EmptyQueryResponse' }
  | { type: 'ErrorResponse'; fields: NoticeFields }
  | { type: 'NoticeResponse'; fields: NoticeFields }
  | { type: 'NotificationResponse'; processId: number; channel: string; payload: string }
  | { type: 'ParseComplete' }
  | { type: 'BindComplete' }
  | { type: 'CloseComplete' }
  | { type: 'NoData' }
  | { type: 'PortalSuspended' }
  | { type: 'ParameterDescription'; typeOids: number[] }
  | { type: 'CopyInResponse'; format: FormatCode; columnFormats: FormatCode[] }
  | { type: 'CopyOutResponse'; format: FormatCode; columnFormats: FormatCode[] }
  | { type: 'CopyBothResponse'; format: FormatCode; columnFormats: FormatCode[] }
  | { type: 'CopyData'; data: Buffer }
  | { type: 'CopyDone' }
  | { type: 'FunctionCallResponse'; result: Buffer | null }
  | { type: 'NegotiateProtocolVersion'; minorVersion: number; unrecognized: string[] };

/** A decoding failure: the connection that produced it cannot be trusted any further. */
export class ProtocolError extends Error {
  constructor(message: string, readonly code: string = '08P01') {
    super(message);
    this.name = 'ProtocolError';
  }
}
