// The client's startup phase: SSL/GSS negotiation, cancel requests, the
// StartupMessage and the cleartext password that carries the identity token.
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { MessageFramer, type FrameLimits } from '../protocol/framer.ts';
import { decodeStartup } from '../protocol/startup.ts';
import { decodePasswordMessage } from '../protocol/frontend.ts';
import { encodeAuthenticationCleartextPassword, encodeNegotiateProtocolVersion } from '../protocol/backend.ts';
import { PgError } from '../protocol/errors.ts';
import { ProtocolError, type StartupPacket } from '../protocol/types.ts';

export interface HandshakeOptions {
  secureContext?: tls.SecureContext;
  tlsRequired: boolean;
  limits: FrameLimits;
  timeoutMs: number;
  onCancel(processId: number, secretKey: number): void;
}

export type HandshakeResult =
  | { kind: 'cancel' }
  | { kind: 'startup'; socket: Socket; framer: MessageFramer; params: Record<string, string>; password: string; tls: boolean };

/** Startup keys a client may set; everything else could change security-relevant settings. */
const allowedStartupKeys = new Set([
  'user', 'database', 'application_name', 'client_encoding', 'DateStyle', 'datestyle', 'TimeZone', 'timezone',
  'extra_float_digits', 'IntervalStyle', 'intervalstyle', 'options', 'fallback_application_name',
]);
const utf8Names = new Set(['utf8', 'utf-8', 'unicode']);

/** Reads packets from a socket until the handshake ends; every failure becomes a FATAL PgError. */
export async function clientHandshake(socket: Socket, opts: HandshakeOptions): Promise<HandshakeResult> {
  let current: Socket = socket;
  let framer = new MessageFramer(opts.limits, 'frontend');
  let secure = false;
  const deadline = Date.now() + opts.timeoutMs;
  let reader = new PacketReader(current, framer, deadline);
  try {
    for (;;) {
      const raw = await reader.next();
      const packet: StartupPacket = decodeStartup(raw.body);
      switch (packet.type) {
        case 'CancelRequest':
          opts.onCancel(packet.processId, packet.secretKey);
          return { kind: 'cancel' };
        case 'GSSENCRequest':
          current.write('N');
          framer.startupMode = true;
          continue;
        case 'SSLRequest': {
          if (secure || !opts.secureContext) {
            current.write('N');
            framer.startupMode = true;
            continue;
          }
          // Bytes sent after SSLRequest but before the TLS handshake would be read as if encrypted: refuse.
          if (framer.buffered > 0) throw new PgError('08P01', 'scopegate: data received before the TLS handshake', { severity: 'FATAL' });
          reader.release(false);
          current.write('S');
          current = await upgrade(current, opts.secureContext);
          secure = true;
          framer = new MessageFramer(opts.limits, 'frontend');
          reader = new PacketReader(current, framer, deadline);
          continue;
        }
        case 'StartupMessage': {
          const params = checkStartup(packet, current, secure, opts.tlsRequired);
          current.write(encodeAuthenticationCleartextPassword());
          const reply = await reader.next();
          if (reply.type !== 0x70 /* p */) throw new PgError('08P01', 'scopegate: expected a password message', { severity: 'FATAL' });
          const password = decodePasswordMessage(reply.body);
          reader.release();
          return { kind: 'startup', socket: current, framer, params, password, tls: secure };
        }
      }
    }
  } catch (err) {
    reader.release();
    if (err instanceof PgError) throw err;
    if (err instanceof ProtocolError) throw new PgError(err.code, `scopegate: ${err.message}`, { severity: 'FATAL' });
    throw new PgError('08P01', `scopegate: ${(err as Error).message}`, { severity: 'FATAL' });
  }
}

function checkStartup(packet: Extract<StartupPacket, { type: 'StartupMessage' }>, socket: Socket, secure: boolean, tlsRequired: boolean): Record<string, string> {
  const major = packet.protocolVersion >>> 16;
  const minor = packet.protocolVersion & 0xffff;
  if (major !== 3) throw new PgError('0A000', `scopegate: unsupported frontend protocol ${major}.${minor}: only 3.0 is served`, { severity: 'FATAL' });
  if (tlsRequired && !secure) throw new PgError('28000', 'scopegate: TLS is required: connect with sslmode=require', { severity: 'FATAL' });
  const params = packet.parameters;
  const unknownOptions = Object.keys(params).filter((k) => k.startsWith('_pq_.'));
  if (minor > 0 || unknownOptions.length > 0) socket.write(encodeNegotiateProtocolVersion(0, unknownOptions));
  if (packet.duplicateKeys.length > 0) throw new PgError('08P01', `scopegate: startup parameter given twice: ${packet.duplicateKeys.join(', ')}`, { severity: 'FATAL' });
  if ('replication' in params) throw new PgError('42501', 'scopegate: replication connections are not allowed', { severity: 'FATAL' });
  for (const key of Object.keys(params)) {
    if (key.startsWith('_pq_.')) continue;
    if (!allowedStartupKeys.has(key)) {
      throw new PgError('42501', `scopegate: startup parameter "${key}" is not allowed (session settings are checked per statement; use SET)`, { severity: 'FATAL' });
    }
  }
  if (params.options && params.options.trim() !== '') {
    throw new PgError('42501', 'scopegate: startup "options" are not allowed (they can change security-relevant settings)', { severity: 'FATAL' });
  }
  if (params.client_encoding && !utf8Names.has(params.client_encoding.toLowerCase().replace(/['"]/g, ''))) {
    throw new PgError('22023', `scopegate: client_encoding ${params.client_encoding} is not supported: the gateway analyses SQL as UTF8`, { severity: 'FATAL' });
  }
  if (!params.user) throw new PgError('28000', 'scopegate: no user name in the startup message', { severity: 'FATAL' });
  for (const [k, v] of Object.entries(params)) {
    if (/[\x00-\x1f\x7f]/.test(v)) throw new PgError('08P01', `scopegate: control characters in startup parameter "${k}"`, { severity: 'FATAL' });
  }
  return { ...params, database: params.database || params.user };
}

function upgrade(socket: Socket, secureContext: tls.SecureContext): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext });
    secure.once('secure', () => resolve(secure));
    secure.once('error', (e) => reject(new PgError('08P01', `scopegate: TLS handshake failed (${e.message})`, { severity: 'FATAL' })));
  });
}

/** Pull-style reading of startup packets with an overall deadline (slow clients are dropped). */
class PacketReader {
  private wake: (() => void) | null = null;
  private error: Error | null = null;
  private readonly onData = (chunk: Buffer): void => {
    try {
      this.framer.push(chunk);
    } catch (e) {
      this.error = e as Error;
    }
    this.notify();
  };
  private readonly onEnd = (): void => {
    this.error ??= new PgError('08006', 'scopegate: client closed the connection during startup', { severity: 'FATAL' });
    this.notify();
  };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly socket: Socket, private readonly framer: MessageFramer, deadline: number) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onEnd);
    this.timer = setTimeout(() => {
      this.error ??= new PgError('08006', 'scopegate: startup timed out', { severity: 'FATAL' });
      this.notify();
    }, Math.max(0, deadline - Date.now()));
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async next() {
    for (;;) {
      if (this.error) throw this.error;
      const m = this.framer.next();
      if (m) return m;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stop reading; the socket is paused so nothing is lost before the session takes over. */
  release(pause = true): void {
    if (pause) this.socket.pause();
    clearTimeout(this.timer);
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onEnd);
  }
}
