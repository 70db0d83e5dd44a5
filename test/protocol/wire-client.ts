// A small raw-protocol client for the wire-level corpus (protocol-cases.md):
// connects over TCP, does the startup + cleartext-password handshake the
// gateway asks for, sends arbitrary frontend bytes and collects every backend
// message (decoded with the project's codec) plus every raw byte received,
// until ReadyForQuery, a predicate, a close or a timeout.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeBackend, encodePassword, encodeStartupMessage, MessageFramer, PROTOCOL_3_0 } from '../../src/protocol/index.ts';
import type { BackendMessage, NoticeFields } from '../../src/protocol/index.ts';

/** One message from the server, decoded when the codec could decode it. */
export interface Received {
  /** Type byte as a character ('D', 'Z', …). */
  type: string;
  msg: BackendMessage | null;
  raw: Buffer;
  /** Why decoding failed (msg is then null). */
  decodeError?: string;
}

export interface Exchange {
  messages: Received[];
  /** Every byte received while this exchange was collected. */
  bytes: Buffer;
  timedOut: boolean;
  /** The server closed the connection (before or during the exchange). */
  closed: boolean;
  ms: number;
}

export interface CollectOptions {
  /** Stop after this many ReadyForQuery messages (default 1). */
  ready?: number;
  /** Stop at the first message for which this returns true (checked before `ready`). */
  until?: (m: Received) => boolean;
  timeoutMs?: number;
}

export interface StartupResult {
  ok: boolean;
  /** ErrorResponse fields when the server refused. */
  error?: NoticeFields;
  backendKey?: { processId: number; secretKey: number };
  parameters: Map<string, string>;
  exchange: Exchange;
}

/** Lenient limits: the client must see whatever the gateway sends. */
const CLIENT_LIMITS = { maxStartup: 10_000, maxMessage: 1 << 30, maxSmall: 1 << 30 };

export class WireClient {
  /** Every chunk received, in order. */
  readonly chunks: Buffer[] = [];
  readonly messages: Received[] = [];
  closed = false;
  /** The server's byte stream could not be framed. */
  protocolError?: string;
  private readonly framer = new MessageFramer(CLIENT_LIMITS, 'backend');
  private framing: boolean;
  private rawPending = Buffer.alloc(0);
  private cursor = 0;
  private chunkCursor = 0;
  private receivedBytes = 0;
  private waiters = new Set<() => void>();

  private constructor(readonly socket: net.Socket, framing: boolean) {
    this.framing = framing;
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  /** Opens a TCP connection; `framing: false` starts in raw mode (e.g. to read the single-byte SSL answer). */
  static connect(host: string, port: number, opts: { timeoutMs?: number; framing?: boolean } = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, opts.timeoutMs ?? 5_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new WireClient(socket, opts.framing ?? true));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** Connects and authenticates; throws when the server refuses. */
  static async open(host: string, port: number, params: Record<string, string>, password: string, timeoutMs = 10_000): Promise<WireClient> {
    const c = await WireClient.connect(host, port);
    const r = await c.startup(params, password, timeoutMs);
    if (!r.ok) {
      c.destroy();
      throw new Error(`startup refused: ${r.error ? `${r.error.C} ${r.error.M}` : r.exchange.timedOut ? 'timeout' : 'closed'}`);
    }
    return c;
  }

  private onData(c: Buffer): void {
    this.chunks.push(c);
    this.receivedBytes += c.length;
    if (!this.framing) {
      this.rawPending = Buffer.concat([this.rawPending, c]);
    } else {
      this.frame(c);
    }
    this.notify();
  }

  private frame(c: Buffer): void {
    if (this.protocolError) return;
    try {
      if (c.length > 0) this.framer.push(c);
      for (let m = this.framer.next(); m; m = this.framer.next()) {
        const raw = Buffer.from(m.raw);
        const type = String.fromCharCode(m.type);
        try {
          this.messages.push({ type, msg: decodeBackend(m.type, Buffer.from(m.body)), raw });
        } catch (e) {
          this.messages.push({ type, msg: null, raw, decodeError: (e as Error).message });
        }
      }
    } catch (e) {
      this.protocolError = (e as Error).message;
    }
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Raw mode only: the next n bytes (null on timeout or close). */
  async readRaw(n: number, timeoutMs = 3_000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.rawPending.length < n) {
      if (this.closed || Date.now() >= deadline) return null;
      await this.wait(deadline - Date.now());
    }
    const out = this.rawPending.subarray(0, n);
    this.rawPending = this.rawPending.subarray(n);
    return out;
  }

  /** Switches from raw mode to message framing; bytes already buffered are framed. */
  startFraming(): void {
    if (this.framing) return;
    this.framing = true;
    const rest = this.rawPending;
    this.rawPending = Buffer.alloc(0);
    this.frame(rest);
  }

  write(...bufs: Buffer[]): void {
    if (this.socket.destroyed) return;
    this.socket.write(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs));
  }

  /** Writes bytes in pieces of `size` bytes, each its own write (TCP_NODELAY is on). */
  async writeInPieces(buf: Buffer, size = 1, pauseEvery = 64): Promise<void> {
    for (let i = 0, n = 0; i < buf.length; i += size, n++) {
      this.write(buf.subarray(i, i + size));
      if (n % pauseEvery === pauseEvery - 1) await sleep(0);
    }
  }

  /** Marks the current position; everything received later belongs to the next collect(). */
  get pendingMessages(): number {
    return this.messages.length - this.cursor;
  }

  /** Collects messages from the current cursor until the stop condition, a close or the timeout. */
  async collect(opts: CollectOptions = {}): Promise<Exchange> {
    const started = Date.now();
    const deadline = started + (opts.timeoutMs ?? 10_000);
    const wantReady = opts.ready ?? 1;
    let ready = 0;
    let i = this.cursor;
    for (;;) {
      let stop = false;
      while (i < this.messages.length) {
        const m = this.messages[i++];
        if (opts.until?.(m)) {
          stop = true;
          break;
        }
        if (m.type === 'Z' && ++ready >= wantReady) {
          stop = true;
          break;
        }
      }
      if (stop || this.closed || this.protocolError || Date.now() >= deadline) {
        const timedOut = !stop && !this.closed && !this.protocolError;
        const messages = this.messages.slice(this.cursor, i);
        this.cursor = i;
        // Bytes are attributed to the exchange that collected them (all of them, framed or not).
        const bytes = Buffer.concat(this.chunks.slice(this.chunkCursor));
        this.chunkCursor = this.chunks.length;
        return { messages, bytes, timedOut, closed: this.closed, ms: Date.now() - started };
      }
      await this.wait(deadline - Date.now());
    }
  }

  /** Sends bytes, then collects (see collect()). */
  async exchange(bufs: Buffer | Buffer[], opts: CollectOptions = {}): Promise<Exchange> {
    this.write(...(Array.isArray(bufs) ? bufs : [bufs]));
    return this.collect(opts);
  }

  /** Startup packet + cleartext password, until ReadyForQuery or an error. */
  async startup(params: Record<string, string>, password: string, timeoutMs = 10_000, protocolVersion = PROTOCOL_3_0): Promise<StartupResult> {
    this.startFraming();
    this.write(encodeStartupMessage(params, protocolVersion));
    return this.authenticate(password, timeoutMs);
  }

  /** After a startup packet was sent by hand: answers the password request and collects until ReadyForQuery. */
  async authenticate(password: string | Buffer, timeoutMs = 10_000): Promise<StartupResult> {
    const first = await this.collect({ until: (m) => m.type === 'R' || m.type === 'E', timeoutMs });
    const parameters = new Map<string, string>();
    const msgs = [...first.messages];
    let exchange = first;
    const auth = first.messages.find((m) => m.type === 'R');
    if (auth?.msg?.type === 'AuthenticationCleartextPassword') {
      this.write(typeof password === 'string' ? encodePassword(password) : password);
      exchange = await this.collect({ until: (m) => m.type === 'E', timeoutMs });
      msgs.push(...exchange.messages);
      exchange = { ...exchange, messages: msgs, bytes: Buffer.concat([first.bytes, exchange.bytes]) };
    }
    let error: NoticeFields | undefined;
    let backendKey: StartupResult['backendKey'];
    let ok = false;
    for (const m of msgs) {
      if (m.msg?.type === 'ParameterStatus') parameters.set(m.msg.name, m.msg.value);
      else if (m.msg?.type === 'BackendKeyData') backendKey = { processId: m.msg.processId, secretKey: m.msg.secretKey };
      else if (m.msg?.type === 'ErrorResponse') error ??= m.msg.fields;
      else if (m.type === 'Z' && !error) ok = true;
    }
    return { ok, error, backendKey, parameters, exchange };
  }

  /** Waits until the server closes the connection; true if it did within the time. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.wait(deadline - Date.now());
    return this.closed;
  }

  /** Total bytes received on this connection so far. */
  get bytesReceived(): number {
    return this.receivedBytes;
  }

  allBytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Sends Terminate and closes. */
  end(): void {
    if (!this.socket.destroyed) this.socket.end(Buffer.from([0x58, 0, 0, 0, 4]));
    setTimeout(() => this.socket.destroy(), 200).unref();
  }
}

// ------------------------------------------------------------ reading exchanges

export function errorsOf(messages: readonly Received[]): NoticeFields[] {
  return messages.flatMap((m) => (m.msg?.type === 'ErrorResponse' ? [m.msg.fields] : []));
}

export function firstError(messages: readonly Received[]): NoticeFields | undefined {
  return errorsOf(messages)[0];
}

export function count(messages: readonly Received[], type: string): number {
  return messages.filter((m) => m.type === type).length;
}

/** Every piece of text the decoded messages carry, one per line (for the decoded-field leak scan). */
export function decodedText(messages: readonly Received[]): string {
  const out: string[] = [];
  for (const m of messages) {
    const x = m.msg;
    if (!x) {
      out.push(m.raw.toString('utf8'));
      continue;
    }
    switch (x.type) {
      case 'DataRow':
        for (const v of x.values) if (v) out.push(v.toString('utf8'));
        break;
      case 'ErrorResponse':
      case 'NoticeResponse':
        for (const [k, v] of Object.entries(x.fields)) out.push(`${k}=${v}`);
        break;
      case 'NotificationResponse':
        out.push(`${x.channel}=${x.payload}`);
        break;
      case 'ParameterStatus':
        out.push(`${x.name}=${x.value}`);
        break;
      case 'CopyData':
        out.push(x.data.toString('utf8'));
        break;
      case 'RowDescription':
        out.push(x.fields.map((f) => f.name).join(','));
        break;
      case 'CommandComplete':
        out.push(x.tag);
        break;
      case 'FunctionCallResponse':
        if (x.result) out.push(x.result.toString('utf8'));
        break;
      default:
        break;
    }
  }
  return out.join('\n');
}

/** Which field of which error/notice/notification/parameter message carries a leak (for A11). */
export function fieldsOf(messages: readonly Received[]): Array<{ where: string; text: string }> {
  const out: Array<{ where: string; text: string }> = [];
  for (const m of messages) {
    const x = m.msg;
    if (x?.type === 'ErrorResponse' || x?.type === 'NoticeResponse') {
      for (const [k, v] of Object.entries(x.fields)) out.push({ where: `${x.type}.${k}`, text: v });
    } else if (x?.type === 'NotificationResponse') {
      out.push({ where: 'NotificationResponse', text: `${x.channel} ${x.payload}` });
    } else if (x?.type === 'ParameterStatus') {
      out.push({ where: `ParameterStatus.${x.name}`, text: x.value });
    }
  }
  return out;
}
