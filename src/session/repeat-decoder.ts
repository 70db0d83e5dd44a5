// Client messages decoded once per distinct text: a Query, Parse, Describe
// or Execute whose bytes equal the previous one of its kind gets the previous
// message object back. Drivers send the same Parse for every execution of an
// unnamed statement (pgbench -M extended, psql's \bind, ORMs without a
// statement cache), followed by the same Describe and Execute of the unnamed
// portal, so neither the SQL nor the rest is decoded again, nor hashed again
// by the analysis cache, which keys on the string. Decoded messages are never
// mutated, so sharing them is safe. Bind carries new parameters each time and
// is always decoded.
import { decodeFrontend } from '../protocol/frontend.ts';
import type { RawMessage } from '../protocol/framer.ts';
import type { FrontendMessage } from '../protocol/types.ts';

/** Longer messages are decoded every time (comparing them costs about what decoding does). */
const MAX_REMEMBERED = 4096;

/** Messages up to this size are compared in JavaScript: cheaper than a call into Buffer.compare. */
const SHORT = 64;

const QUERY = 0x51; // 'Q'
const PARSE = 0x50; // 'P'
const DESCRIBE = 0x44; // 'D'
const EXECUTE = 0x45; // 'E'
const SYNC = 0x53; // 'S'

/** The one Sync message decodeFrontend gives for every Sync (it carries nothing). */
const SYNC_MESSAGE = decodeFrontend(SYNC, Buffer.alloc(0));

class LastOfKind {
  private bytes = Buffer.alloc(0);
  private length = -1;
  private message: FrontendMessage | null = null;

  decode(raw: RawMessage): FrontendMessage {
    const length = raw.end - raw.start;
    if (length === this.length && this.message !== null && this.sameBytes(raw, length)) return this.message;
    this.message = null;
    const message = decodeFrontend(raw.type, raw.body);
    if (length <= MAX_REMEMBERED) {
      if (this.bytes.length < length) this.bytes = Buffer.allocUnsafe(Math.max(length, 256));
      raw.source.copy(this.bytes, 0, raw.start, raw.end);
      this.length = length;
      this.message = message;
    }
    return message;
  }

  private sameBytes(raw: RawMessage, length: number): boolean {
    if (length > SHORT) return this.bytes.compare(raw.source, raw.start, raw.end, 0, length) === 0;
    const source = raw.source;
    const bytes = this.bytes;
    for (let i = 0, j = raw.start; i < length; i++, j++) if (bytes[i] !== source[j]) return false;
    return true;
  }
}

export class RepeatDecoder {
  private readonly query = new LastOfKind();
  private readonly parse = new LastOfKind();
  private readonly describe = new LastOfKind();
  private readonly execute = new LastOfKind();

  /** Throws ProtocolError for a malformed message, as decodeFrontend does. */
  decode(raw: RawMessage): FrontendMessage {
    const type = raw.type;
    if (type === SYNC && raw.end - raw.start === 5) return SYNC_MESSAGE;
    if (type === QUERY) return this.query.decode(raw);
    if (type === PARSE) return this.parse.decode(raw);
    if (type === DESCRIBE) return this.describe.decode(raw);
    if (type === EXECUTE) return this.execute.decode(raw);
    return decodeFrontend(type, raw.body);
  }
}
