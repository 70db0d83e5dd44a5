// Client messages decoded once per distinct text: a Query or Parse whose
// bytes equal the previous one of its kind gets the previous message object
// back. Drivers send the same Parse for every execution of an unnamed
// statement (pgbench -M extended, psql's \bind, ORMs without a statement
// cache), so the SQL is neither decoded again nor hashed again by the
// analysis cache, which keys on the string. Decoded messages are never
// mutated, so sharing them is safe.
import { decodeFrontend } from '../protocol/frontend.ts';
import type { RawMessage } from '../protocol/framer.ts';
import type { FrontendMessage } from '../protocol/types.ts';

/** Longer messages are decoded every time (comparing them costs about what decoding does). */
const MAX_REMEMBERED = 4096;

const QUERY = 0x51; // 'Q'
const PARSE = 0x50; // 'P'

class LastOfKind {
  private bytes = Buffer.alloc(0);
  private length = -1;
  private message: FrontendMessage | null = null;

  decode(raw: RawMessage): FrontendMessage {
    const length = raw.end - raw.start;
    if (length === this.length && this.message !== null && this.bytes.compare(raw.source, raw.start, raw.end, 0, length) === 0) {
      return this.message;
    }
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
}

export class RepeatDecoder {
  private readonly query = new LastOfKind();
  private readonly parse = new LastOfKind();

  /** Throws ProtocolError for a malformed message, as decodeFrontend does. */
  decode(raw: RawMessage): FrontendMessage {
    const type = raw.type;
    if (type === QUERY) return this.query.decode(raw);
    if (type === PARSE) return this.parse.decode(raw);
    return decodeFrontend(type, raw.body);
  }
}
