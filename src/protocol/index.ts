// Public API of the wire-protocol codec: bytes ⇄ typed messages, both directions.
// Pure: no sockets, no imports outside node built-ins.

export * from './types.ts';
export { BufferWriter } from './writer.ts';
export { BufferReader } from './reader.ts';
export {
  MessageFramer,
  defaultFrameLimits,
  frontendLimit,
  backendLimit,
  describeType,
  FRONTEND_LARGE_TYPES,
  type FrameLimits,
  type Direction,
  type RawMessage,
} from './framer.ts';
export {
  decodeStartup,
  encodeStartup,
  encodeStartupMessage,
  encodeSSLRequest,
  encodeGSSENCRequest,
  encodeCancelRequest,
  PROTOCOL_3_0,
  CANCEL_REQUEST_CODE,
  SSL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
} from './startup.ts';
export {
  decodeFrontend,
  decodePasswordMessage,
  decodeSASLInitialResponse,
  encodeFrontend,
  encodeQuery,
  encodeParse,
  encodeBind,
  encodeDescribe,
  encodeExecute,
  encodeClose,
  encodeSync,
  encodeFlush,
  encodeTerminate,
  encodeCopyData,
  encodeCopyDone,
  encodeCopyFail,
  encodeFunctionCall,
  encodePassword,
  encodeSASLInitialResponse,
  encodeSASLResponse,
  type BindOptions,
} from './frontend.ts';
export {
  decodeBackend,
  encodeBackend,
  encodeAuthenticationOk,
  encodeAuthenticationCleartextPassword,
  encodeAuthenticationMD5Password,
  encodeAuthenticationSASL,
  encodeAuthenticationSASLContinue,
  encodeAuthenticationSASLFinal,
  encodeParameterStatus,
  encodeBackendKeyData,
  encodeReadyForQuery,
  encodeRowDescription,
  encodeCommandComplete,
  encodeEmptyQueryResponse,
  encodeErrorResponse,
  encodeNoticeResponse,
  encodeNotificationResponse,
  encodeParseComplete,
  encodeBindComplete,
  encodeCloseComplete,
  encodeNoData,
  encodePortalSuspended,
  encodeParameterDescription,
  encodeCopyResponse,
  encodeFunctionCallResponse,
  encodeNegotiateProtocolVersion,
  AUTH_OK,
  AUTH_CLEARTEXT_PASSWORD,
  AUTH_MD5_PASSWORD,
  AUTH_SASL,
  AUTH_SASL_CONTINUE,
  AUTH_SASL_FINAL,
} from './backend.ts';
export { encodeDataRow, readDataRowFields, dataRowFieldOffsets, dataRowFieldCount, rewriteDataRow } from './datarow.ts';
export { PgError, errorFields, toPgError, type Severity, type PgErrorOptions } from './errors.ts';
export { ScramClient, md5PasswordHash, saslprep, SCRAM_SHA_256 } from './scram.ts';
