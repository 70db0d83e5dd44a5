// Open an authenticated upstream session with the held credential.
import net from 'node:net';
import tls from 'node:tls';
import { MessageFramer, defaultFrameLimits, type RawMessage } from '../protocol/framer.ts';
import { decodeBackend } from '../protocol/backend.ts';
import { encodePassword, encodeSASLInitialResponse, encodeSASLResponse, encodeSSLRequest, encodeStartupMessage } from '../protocol/frontend.ts';
import { ScramClient, md5PasswordHash } from '../protocol/scram.ts';
import { PgError } from '../protocol/errors.ts';
import { SocketInput } from '../protocol/socket-input.ts';
import type { BackendMessage } from '../protocol/types.ts';

export interface UpstreamTarget {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  tls: 'disable' | 'prefer' | 'require';
}

export interface UpstreamSession {
  socket: net.Socket;
  /** The socket's bytes: listen here, not to 'data' (a plain TCP socket has no 'data' events). */
  input: SocketInput;
  framer: MessageFramer;
  /** ParameterStatus messages received during startup, in order. */
  parameters: [string, string][];
  backendKey: { processId: number; secretKey: number };
  /** Messages after ReadyForQuery already read (normally none). */
  leftover: RawMessage[];
}

export function parseUpstreamUrl(url: string): Omit<UpstreamTarget, 'password' | 'tls'> {
  const u = new URL(url);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username),
  };
}

export async function connectUpstream(target: UpstreamTarget, startupParams: Record<string, string>, timeoutMs = 10_000): Promise<UpstreamSession> {
  const tapped = target.tls === 'disable' ? new SocketInput() : null;
  let socket = await openSocket(target.host, target.port, timeoutMs, tapped);
  try {
    socket = await negotiateTls(socket, target);
    socket.setNoDelay(true);
    const input = tapped ?? SocketInput.fromEvents(socket);
    const reader = new MessageReader(socket, input, timeoutMs);
    socket.write(encodeStartupMessage({ ...startupParams, user: target.user, database: target.database }));
    await authenticate(socket, reader, target);
    const parameters: [string, string][] = [];
    let backendKey = { processId: 0, secretKey: 0 };
    for (;;) {
      const { msg } = await reader.next();
      if (msg.type === 'ParameterStatus') parameters.push([msg.name, msg.value]);
      else if (msg.type === 'BackendKeyData') backendKey = { processId: msg.processId, secretKey: msg.secretKey };
      else if (msg.type === 'ReadyForQuery') break;
      else if (msg.type === 'ErrorResponse') throw upstreamError(msg.fields);
      // NoticeResponse during startup is dropped.
    }
    return { socket, input, framer: reader.release(), parameters, backendKey, leftover: [] };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

function openSocket(host: string, port: number, timeoutMs: number, tapped: SocketInput | null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = tapped ? net.connect({ host, port, onread: SocketInput.tap(tapped) }) : net.connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error('upstream connect timeout')), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new PgError('08006', `scopegate: cannot reach the upstream database (${err.message})`, { severity: 'FATAL' }));
    });
  });
}

async function negotiateTls(socket: net.Socket, target: UpstreamTarget): Promise<net.Socket> {
  if (target.tls === 'disable') return socket;
  socket.write(encodeSSLRequest());
  const answer = await new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('error', reject);
  });
  if (answer[0] === 0x53 /* S */) {
    const secure = tls.connect({ socket, servername: net.isIP(target.host) ? undefined : target.host, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return secure;
  }
  if (target.tls === 'require') throw new PgError('08004', 'scopegate: the upstream database does not offer TLS', { severity: 'FATAL' });
  return socket;
}

async function authenticate(socket: net.Socket, reader: MessageReader, target: UpstreamTarget): Promise<void> {
  let scram: ScramClient | null = null;
  for (;;) {
    const { msg } = await reader.next();
    switch (msg.type) {
      case 'AuthenticationOk':
        return;
      case 'AuthenticationCleartextPassword':
        socket.write(encodePassword(requirePassword(target)));
        break;
      case 'AuthenticationMD5Password':
        socket.write(encodePassword(md5PasswordHash(target.user, requirePassword(target), msg.salt)));
        break;
      case 'AuthenticationSASL':
        if (!msg.mechanisms.includes('SCRAM-SHA-256')) throw authFailure('no supported SASL mechanism offered');
        scram = new ScramClient(requirePassword(target));
        socket.write(encodeSASLInitialResponse('SCRAM-SHA-256', scram.clientFirstMessage()));
        break;
      case 'AuthenticationSASLContinue':
        if (!scram) throw authFailure('unexpected SASL continue');
        socket.write(encodeSASLResponse(await scram.handleServerFirst(msg.data.toString('utf8'))));
        break;
      case 'AuthenticationSASLFinal':
        if (!scram) throw authFailure('unexpected SASL final');
        scram.verifyServerFinal(msg.data.toString('utf8'));
        break;
      case 'ErrorResponse':
        throw upstreamError(msg.fields);
      default:
        throw authFailure(`unsupported authentication request ${msg.type}`);
    }
  }
}

function requirePassword(target: UpstreamTarget): string {
  if (target.password === undefined) throw authFailure('the upstream asks for a password but none is configured (password_env / password_file)');
  return target.password;
}

function authFailure(why: string): PgError {
  return new PgError('08006', `scopegate: upstream authentication failed: ${why}`, { severity: 'FATAL' });
}

function upstreamError(fields: Record<string, string>): PgError {
  // The upstream's own message can name roles and hosts: keep it in the log, give the client the code.
  const err = new PgError('08006', `scopegate: the upstream database refused the connection (${fields.C ?? 'unknown'})`, { severity: 'FATAL' });
  (err as PgError & { upstream?: unknown }).upstream = fields;
  return err;
}

/** Pull-style reader over a socket, used only during connection setup. */
class MessageReader {
  private framer = new MessageFramer(defaultFrameLimits, 'backend');
  private waiting: (() => void) | null = null;
  private error: Error | null = null;
  private readonly onData = (chunk: Buffer): void => {
    try {
      this.framer.push(chunk);
    } catch (e) {
      this.error ??= new PgError('08006', `scopegate: the upstream sent an invalid message during startup (${(e as Error).message})`, { severity: 'FATAL' });
    }
    this.wake();
  };
  private readonly onEnd = (): void => {
    this.error ??= new PgError('08006', 'scopegate: the upstream closed the connection during startup', { severity: 'FATAL' });
    this.wake();
  };
  private readonly onError = (e: Error): void => {
    this.error ??= new PgError('08006', `scopegate: upstream connection error (${e.message})`, { severity: 'FATAL' });
    this.wake();
  };
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly socket: net.Socket,
    private readonly input: SocketInput,
    timeoutMs: number,
  ) {
    input.listen(this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    this.timer = setTimeout(() => {
      this.error ??= new PgError('08006', 'scopegate: upstream startup timed out', { severity: 'FATAL' });
      this.wake();
    }, timeoutMs);
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  async next(): Promise<{ raw: RawMessage; msg: BackendMessage }> {
    for (;;) {
      const raw = this.framer.next();
      if (raw) return { raw, msg: decodeBackend(raw.type, raw.body) };
      if (this.error) throw this.error;
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  /** Stop listening and hand over the framer; bytes that arrive before the session listens are kept in it. */
  release(): MessageFramer {
    clearTimeout(this.timer);
    const framer = this.framer;
    this.input.listen((chunk) => {
      try {
        framer.push(chunk);
      } catch {
        // The framer keeps the failure; the session meets it on its first read.
      }
    });
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
    return framer;
  }
}
