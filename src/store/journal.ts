// An append-only JSON-lines journal with group commit: every append is durable (written and
// fdatasync'd) before its promise resolves; appends that arrive while a sync is running share the
// next one. Opening replays the file, drops a torn last line and compacts it to one line per record.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './types.ts';

const header = { k: 'meta', format: 'scopegate-store', version: 1 };

export interface JournalRecord {
  /** Record kind, e.g. 'review' or 'grant'. */
  k: string;
  /** The whole current value (last write wins on replay). */
  v: { id: string };
}

export interface ReplayResult {
  records: JournalRecord[];
  /** Lines read before compaction, and whether a torn last line was dropped. */
  lines: number;
  droppedTornLine: boolean;
}

export class Journal {
  private pending: { line: string; resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushing: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    private readonly file: FileHandle,
    private readonly lockPath: string,
  ) {}

  /** Locks `dir`, replays and compacts `dir/name`, and opens it for appending. */
  static async open(dir: string, name: string): Promise<{ journal: Journal; replay: ReplayResult }> {
    mkdirSync(dir, { recursive: true });
    const lockPath = join(dir, `${name}.lock`);
    acquireLock(lockPath);
    try {
      const path = join(dir, name);
      const replay = readJournal(path);
      compact(path, replay.records);
      const file = await open(path, 'a');
      return { journal: new Journal(file, lockPath), replay };
    } catch (err) {
      rmSync(lockPath, { force: true });
      throw err;
    }
  }

  /** Resolves once the record is on disk. After a write error every later append rejects too. */
  append(record: JournalRecord): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('closed', 'store is closed'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(record)}\n`, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    await this.file.close();
    rmSync(this.lockPath, { force: true });
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        if (this.failure) throw this.failure;
        await this.file.write(batch.map((p) => p.line).join(''));
        await this.file.datasync();
        for (const p of batch) p.resolve();
      } catch (err) {
        this.failure ??= new StoreError('io', `store journal write failed: ${(err as Error).message}`);
        for (const p of batch) p.reject(this.failure);
      }
    }
    this.flushing = null;
  }
}

/** Reads the journal a chunk at a time (memory stays near the size of the live records). */
function readJournal(path: string): ReplayResult {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], lines: 0, droppedTornLine: false };
    throw err;
  }
  const latest = new Map<string, JournalRecord>();
  const decoder = new StringDecoder('utf8');
  const chunk = Buffer.alloc(1 << 20);
  let carry = '';
  let lineNo = 0;
  const take = (line: string, last: boolean): boolean => {
    lineNo++;
    let record: JournalRecord & { format?: string; version?: number };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      if (last) return false; // a crash in the middle of the last write
      throw new StoreError('corrupt', `${path}:${lineNo}: not a JSON line; the store journal is damaged`);
    }
    if (record.k === 'meta') {
      if (record.version !== header.version) throw new StoreError('corrupt', `${path}: unsupported store format version ${String(record.version)}`);
      return true;
    }
    if (typeof record.k !== 'string' || typeof record.v?.id !== 'string') throw new StoreError('corrupt', `${path}:${lineNo}: not a store record`);
    const key = `${record.k}\u0000${record.v.id}`;
    latest.delete(key); // keep the order of last writes
    latest.set(key, record);
    return true;
  };
  let droppedTornLine = false;
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const lines = (carry + decoder.write(chunk.subarray(0, n))).split('\n');
      carry = lines.pop() as string;
      for (const line of lines) take(line, false);
    }
    carry += decoder.end();
    if (carry !== '') droppedTornLine = !take(carry, true);
  } finally {
    closeSync(fd);
  }
  return { records: [...latest.values()], lines: lineNo, droppedTornLine };
}

/** Rewrites the journal as one line per record: temp file, fsync, rename, fsync the directory. */
function compact(path: string, records: JournalRecord[]): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    let batch = `${JSON.stringify(header)}\n`;
    for (const record of records) {
      batch += `${JSON.stringify(record)}\n`;
      if (batch.length > 1 << 20) {
        writeSync(fd, batch);
        batch = '';
      }
    }
    writeSync(fd, batch);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(join(path, '..'));
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some platforms cannot fsync a directory; the rename is still atomic
  }
}

/** One process per data_dir: a lock file holding the owner's pid; a stale one (dead pid) is taken over. */
function acquireLock(lockPath: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
      throw new StoreError('locked', `${lockPath}: the store is in use by process ${pid} (one gateway per data_dir; use a postgres:// store to share state)`);
    }
    rmSync(lockPath, { force: true });
  }
  throw new StoreError('locked', `${lockPath}: cannot take the store lock`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
