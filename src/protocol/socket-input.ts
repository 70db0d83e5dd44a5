// Where a socket's bytes go: to one listener at a time (a startup reader,
// then the session).
//
// A plain TCP socket is read with Node's `onread` (a buffer we own and a
// callback), bypassing the Readable stream (its buffering, a Buffer per read
// and nextTick bookkeeping) on the hottest path of the gateway. Listeners keep
// what they are given (framer, output batch, socket writes that complete
// later), so bytes are never written again once delivered: a large read is
// handed over where it lies and the next read goes into the space after it
// (or a new allocation); a small read (a pgbench query or answer) is copied
// out and its space is read into again.
import net from 'node:net';
import { TLSSocket } from 'node:tls';
import { noteYoungBuffer } from './young-buffers.ts';

/** An upstream connection's read buffer: result rows arrive in large reads. */
const UPSTREAM_READ_BYTES = 64 * 1024;
/** A client's: queries are small, and idle connections should stay cheap (COPY data still arrives in 16 KiB reads). */
const CLIENT_READ_BYTES = 16 * 1024;
/** Reads at least this large keep their bytes where they were read (copying them would cost more than new space). */
const HAND_OVER_BYTES = 8 * 1024;
/** The least room a read is given: below it, the rest of the allocation is left unused and a new one starts. */
const MIN_READ_ROOM = 16 * 1024;

export class SocketInput {
  /** True when reads bypass the Readable stream. */
  viaOnread = false;
  private listener: ((chunk: Buffer) => void) | null = null;
  /** What arrived before anyone listened, delivered to the first listener. */
  private held: Buffer[] = [];
  readonly deliver = (chunk: Buffer): void => {
    if (this.listener) this.listener(chunk);
    else this.held.push(chunk);
  };

  listen(listener: (chunk: Buffer) => void): void {
    this.listener = listener;
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    for (const chunk of held) listener(chunk);
  }

  /** Options for net.connect that route reads here. */
  static tap(input: SocketInput, bytes = UPSTREAM_READ_BYTES): net.OnReadOpts & { buffer: () => Buffer } {
    // Reads fill one allocation front to back: a large read is handed over as
    // a view and the next read goes into the space after it, so a result that
    // arrives in 10 KiB reads costs one allocation per buffer, not one per read.
    const newBlock = (): Buffer => {
      noteYoungBuffer(bytes);
      return Buffer.allocUnsafe(bytes);
    };
    let block = newBlock();
    let used = 0;
    let next = block;
    return {
      // Called after each callback, for the next read (and once before the first).
      buffer: (): Buffer => next,
      callback: (n: number, buf: Uint8Array): boolean => {
        let chunk: Buffer;
        if (n >= HAND_OVER_BYTES) {
          chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          used += n;
          if (block.length - used >= MIN_READ_ROOM) next = block.subarray(used);
          else {
            block = newBlock();
            used = 0;
            next = block;
          }
        } else {
          chunk = Buffer.allocUnsafe(n);
          chunk.set(n === buf.length ? buf : buf.subarray(0, n));
        }
        input.deliver(chunk);
        return true;
      },
    };
  }

  /** For a socket that emits 'data' (TLS). */
  static fromEvents(socket: net.Socket): SocketInput {
    const input = new SocketInput();
    socket.on('data', input.deliver);
    return input;
  }

  /**
   * The reads of a socket the gateway accepted, which must be paused with no
   * 'data' listener: through `onread` when this Node allows it for a plain
   * TCP socket, else through 'data' events. net.Server has no `onread`
   * option, so the socket is given what net.Socket's constructor would have
   * set for one (see onreadSlots); the caller resumes it.
   */
  static adopt(socket: net.Socket): SocketInput {
    const slots = onreadSlots();
    const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } })._handle;
    if (slots === null || socket instanceof TLSSocket || typeof handle?.useUserBuffer !== 'function') return SocketInput.fromEvents(socket);
    const input = new SocketInput();
    const tap = SocketInput.tap(input, CLIENT_READ_BYTES);
    const first = tap.buffer();
    const fields = socket as unknown as Record<symbol, unknown>;
    fields[slots.buffer] = first;
    fields[slots.callback] = tap.callback;
    fields[slots.next] = tap.buffer;
    handle.useUserBuffer(first);
    input.viaOnread = true;
    // A paused socket keeps reading into its Readable buffer until that is
    // full: those bytes come first, since the stream will not emit them now.
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) input.deliver(chunk);
    return input;
  }
}

interface OnreadSlots {
  buffer: symbol;
  callback: symbol;
  next: symbol;
}

let slots: OnreadSlots | null | undefined;

/**
 * Where net.Socket keeps an `onread` buffer, its callback and the function
 * that gives the next buffer: found on a socket constructed with an `onread`
 * whose values are recognised, so a Node that keeps them otherwise gives null
 * (and 'data' events are used), never a wrong guess.
 */
export function onreadSlots(): OnreadSlots | null {
  if (slots !== undefined) return slots;
  const buffer = Buffer.alloc(1);
  const callback = (): boolean => true;
  const next = (): Buffer => buffer;
  // The constructor takes `onread` (documented there), though @types/node lists it only for connect().
  const construct = (onread: net.OnReadOpts): Record<symbol, unknown> => new net.Socket({ onread } as net.SocketConstructorOpts) as unknown as Record<symbol, unknown>;
  const probe = construct({ buffer, callback });
  const withNext = construct({ buffer: next, callback });
  const find = (o: Record<symbol, unknown>, value: unknown): symbol | undefined => Object.getOwnPropertySymbols(o).find((s) => o[s] === value);
  const b = find(probe, buffer);
  const c = find(probe, callback);
  const n = find(withNext, next);
  slots = b && c && n && probe[n] === null ? { buffer: b, callback: c, next: n } : null;
  return slots;
}
