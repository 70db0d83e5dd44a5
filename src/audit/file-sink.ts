// JSON lines appended to a file, in batches, with size-based rotation.
//
// One writer per file. Events queue in memory; each turn of the event loop
// the queue is sealed into the chain and appended with one write(2) (a write
// in flight collects the next batch: group commit). After a restart the chain
// resumes from the last complete line; a partial last line left by a crash is
// cut off and an `audit_recovered` event says so. A failed write keeps its
// records (with the bytes already written) and is retried every `retryMs`;
// meanwhile the sink is unhealthy and flush() rejects.
import { close, fdatasync, fstat, openSync, mkdirSync, fstatSync, truncateSync, write, writeSync, open } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BatchedSink, type BatchedSinkOptions } from './batched-sink.ts';
import { checkLine, joinRecords, type ChainHead, type SealedRecord } from './chain.ts';
import { readTail, rotatedPath, rotationIndex, rotationSet } from './files.ts';
import { AuditUnavailableError } from './types.ts';

export interface FileSinkOptions extends BatchedSinkOptions {
  path: string;
  /** Rotate before a write would take the file past this size (a single larger line still goes in whole). */
  rotateBytes?: number;
  /** Rotated files to keep (audit.1 … audit.KEEP); 0 deletes the file on rotation. */
  keep?: number;
  /** fdatasync after each batch: survives power loss, not only a process crash. */
  fsync?: boolean;
  /** How often a failing sink retries. */
  retryMs?: number;
  /**
   * How long events may wait to be written with the ones that follow, when
   * nobody awaits flush(): one write per few milliseconds instead of one per
   * event-loop turn (each write(2) and fstat(2) to the page cache costs more
   * than the statements it carries). 0 writes on the next turn.
   */
  lingerMs?: number;
  now?: () => number;
}

/** Queued events that are written at once, linger or not. */
const LINGER_MAX_EVENTS = 2000;

interface Chunk {
  buf: Buffer;
  count: number;
  /** Bytes of buf already in the file. */
  offset: number;
}

const MAX_BATCH_EVENTS = 20_000;
const MAX_BATCH_CHARS = 4 * 1024 * 1024;
/** Batches up to about this size are written synchronously (see writeNow). */
const SYNC_BATCH_CHARS = 256 * 1024;

export class FileAuditSink extends BatchedSink {
  readonly path: string;
  private readonly rotateBytes: number;
  private readonly keep: number;
  private readonly fsync: boolean;
  private readonly retryMs: number;
  private readonly now: () => number;
  private fd: number | null = null;
  private size = 0;
  private head: ChainHead | null = null;
  /** The file we were writing was unlinked (deleted, or its directory removed). */
  private gone = false;
  private pending: SealedRecord[] = [];
  private chunk: Chunk | null = null;
  private running: Promise<void> | null = null;
  private scheduled = false;
  private readonly lingerMs: number;
  private lingerTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(options: FileSinkOptions | string) {
    const o = typeof options === 'string' ? { path: options } : options;
    super('file', o);
    this.path = o.path;
    this.rotateBytes = o.rotateBytes ?? 100 * 1024 * 1024;
    this.keep = o.keep ?? 10;
    this.fsync = o.fsync ?? false;
    this.retryMs = o.retryMs ?? 1000;
    this.lingerMs = o.lingerMs ?? 5;
    this.now = o.now ?? Date.now;
    this.resume();
  }

  override persistedHead(): ChainHead | null {
    return this.head;
  }

  protected schedule(urgent: boolean): void {
    if (this.running || (this.failure && !urgent)) return;
    if (!urgent && this.lingerMs > 0 && this.queued() < LINGER_MAX_EVENTS) {
      if (!this.scheduled && !this.lingerTimer) {
        this.lingerTimer = setTimeout(() => {
          this.lingerTimer = null;
          this.writeSoon();
        }, this.lingerMs);
      }
      return;
    }
    this.cancelLinger();
    this.writeSoon();
  }

  private cancelLinger(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
  }

  private writeSoon(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.writeNow()) void this.run();
    });
  }

  /**
   * The common case written on the spot: a healthy open file, no fsync, a
   * batch that fits before rotation. One write(2) of a few kilobytes to the
   * page cache costs less than handing it to the thread pool and back, which
   * measured about 5% of the gateway's CPU on pgbench -S. Anything else
   * (rotation, a deleted file, failures, fsync, very large batches) goes
   * through the asynchronous loop. Returns false when that loop must run.
   */
  private writeNow(): boolean {
    if (this.fsync || this.failingOrRecovering || this.running || this.chunk || this.fd === null || this.closed) return false;
    try {
      if (fstatSync(this.fd).nlink === 0) return false;
      if (this.pending.length === 0) this.pending = this.take(MAX_BATCH_EVENTS, SYNC_BATCH_CHARS);
      if (this.pending.length === 0) return true;
      const chunk = this.cut();
      if (!chunk) return false;
      this.chunk = chunk;
      while (chunk.offset < chunk.buf.length) {
        const n = writeSync(this.fd, chunk.buf, chunk.offset, chunk.buf.length - chunk.offset);
        chunk.offset += n;
        this.size += n;
      }
      this.chunk = null;
      this.settled(chunk.count);
    } catch (err) {
      this.onError(err);
      return true;
    }
    return this.queued() === 0 && this.pending.length === 0;
  }

  protected async shutdown(): Promise<void> {
    this.cancelLinger();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (let i = 0; i < 3 && (this.running || this.backlog() > 0); i++) {
      await (this.running ?? this.run());
      if (this.failure) break;
    }
    if (this.retryTimer) clearTimeout(this.retryTimer); // set again if the last attempt failed
    this.retryTimer = null;
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      await new Promise<void>((resolve) => close(fd, () => resolve()));
    }
  }

  /** Find where the chain stands, cut a partial last line, open the file. Sync: runs once at startup. */
  private resume(): void {
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const live = readTail(this.path);
      if (live && live.partialBytes > 0) {
        truncateSync(this.path, live.size - live.partialBytes);
        const bytes = live.partialBytes;
        queueMicrotask(() => this.notice({ type: 'audit_recovered', at: this.iso(), problem: 'partial_line_discarded', file: this.path, bytes }));
      }
      this.head = findHead([...rotationSet(this.path)].reverse());
      if (this.head) this.seedChain(this.head);
      const fd = openSync(this.path, 'a');
      const st = fstatSync(fd);
      this.fd = fd;
      this.size = st.size;
    } catch (err) {
      this.onError(err);
    }
  }

  private run(): Promise<void> {
    this.running ??= this.loop().finally(() => {
      this.running = null;
      if (!this.failure && !this.closed && this.queued() > 0) this.schedule(false);
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (!this.chunk) {
          if (this.pending.length === 0) this.pending = this.take(MAX_BATCH_EVENTS, MAX_BATCH_CHARS);
          if (this.pending.length === 0) break;
          await this.ensureOpen();
          this.chunk = this.cut();
          if (!this.chunk) {
            await this.rotate();
            continue;
          }
        }
        await this.ensureOpen();
        await this.writeChunk(this.chunk);
        const count = this.chunk.count;
        this.chunk = null;
        this.settled(count);
        if (this.failingOrRecovering) this.writeRecovered(this.now(), { file: this.path });
      }
    } catch (err) {
      this.onError(err);
    }
  }

  /** The next chunk of pending lines that fits before rotation; null when the file must rotate first. */
  private cut(): Chunk | null {
    const pending = this.pending;
    let buf = joinRecords(pending);
    let count = pending.length;
    if (this.size + buf.length > this.rotateBytes) {
      let bytes = 0;
      count = 0;
      for (const r of pending) {
        const n = r.bytes.length;
        if (this.size + bytes + n > this.rotateBytes && (count > 0 || this.size > 0)) break;
        bytes += n;
        count++;
      }
      if (count === 0) return null;
      buf = buf.subarray(0, bytes);
    }
    this.pending = count === this.pending.length ? [] : this.pending.slice(count);
    return { buf, count, offset: 0 };
  }

  private async writeChunk(chunk: Chunk): Promise<void> {
    const fd = this.fd!;
    while (chunk.offset < chunk.buf.length) {
      const n = await new Promise<number>((resolve, reject) =>
        write(fd, chunk.buf, chunk.offset, chunk.buf.length - chunk.offset, null, (err, written) => (err ? reject(err) : resolve(written))),
      );
      chunk.offset += n;
      this.size += n;
    }
    if (this.fsync) await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  /** Open the file if needed; reopen it when it was deleted under us (its directory must still exist). */
  private async ensureOpen(): Promise<void> {
    if (this.fd !== null) {
      const fd = this.fd;
      const st = await new Promise<{ nlink: number }>((resolve, reject) => fstat(fd, (err, s) => (err ? reject(err) : resolve(s))));
      if (st.nlink > 0) return;
      this.gone = true;
      this.fd = null;
      close(fd, () => {});
    }
    await this.openLive();
  }

  private async openLive(): Promise<void> {
    const fd = await new Promise<number>((resolve, reject) => open(this.path, 'a', (err, f) => (err ? reject(err) : resolve(f))));
    const st = await new Promise<{ size: number }>((resolve, reject) => fstat(fd, (err, s) => (err ? reject(err) : resolve(s))));
    this.fd = fd;
    this.size = st.size;
    if (this.gone) {
      // A new file: bytes of the current chunk written before went to the deleted one, so write it whole.
      this.gone = false;
      if (this.chunk) this.chunk.offset = 0;
      this.notice({ type: 'audit_recovered', at: this.iso(), problem: 'file_removed', file: this.path });
    }
  }

  private async rotate(): Promise<void> {
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      await new Promise<void>((resolve) => close(fd, () => resolve()));
    }
    // Shift the rotated files that exist, oldest first; those at or beyond `keep` go.
    const existing = rotationSet(this.path)
      .map((file) => rotationIndex(this.path, file))
      .filter((i): i is number => i !== null)
      .sort((a, b) => b - a);
    for (const i of existing) {
      if (i >= this.keep) await rm(rotatedPath(this.path, i), { force: true });
      else await rename(rotatedPath(this.path, i), rotatedPath(this.path, i + 1)).catch(ignoreMissing);
    }
    if (this.keep > 0) await rename(this.path, rotatedPath(this.path, 1)).catch(ignoreMissing);
    else await rm(this.path, { force: true });
    await this.openLive();
  }

  private onError(err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    this.writeFailed(new AuditUnavailableError('file', `cannot write ${this.path}: ${e.message}`, { cause: err }), this.now());
    if (this.fd !== null && e.code !== 'ENOSPC' && e.code !== 'EDQUOT' && e.code !== 'EIO') {
      close(this.fd, () => {});
      this.fd = null;
    }
    if (!this.closed && !this.retryTimer) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        void this.retry();
      }, this.retryMs);
      this.retryTimer.unref();
    }
  }

  private async retry(): Promise<void> {
    if (this.closed) return;
    if (this.backlog() === 0) {
      try {
        await this.ensureOpen();
        this.writeRecovered(this.now(), { file: this.path });
      } catch (err) {
        this.onError(err);
      }
      return;
    }
    await this.run();
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }
}

/** The last record in the files (newest file first), as its line claims it. */
function findHead(newestFirst: string[]): ChainHead | null {
  for (const file of newestFirst) {
    const tail = readTail(file);
    if (!tail) continue;
    for (const line of tail.lines()) {
      const check = checkLine(line);
      if (check.ok || check.problem === 'edited') return { seq: check.record.seq, hash: check.record.hash };
    }
  }
  return null;
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

// Earlier code imported these from here.
export { NullAuditSink } from './null-sink.ts';
export { StdoutAuditSink } from './stdout-sink.ts';
