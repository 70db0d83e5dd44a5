// Audit file naming, listing and line reading.
//
// The live file is the configured path, e.g. audit.jsonl. Rotation renames it
// to audit.1.jsonl after shifting audit.1 → audit.2 … (the oldest, audit.KEEP,
// is deleted), like logrotate. Oldest first: audit.KEEP.jsonl … audit.1.jsonl,
// audit.jsonl. A path without an extension rotates as audit → audit.1.
import { createReadStream, existsSync, readdirSync, statSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

export function rotatedPath(path: string, n: number): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.${n}${ext}`);
}

/** N for a rotated sibling (audit.N.jsonl) of the live path, null otherwise. */
export function rotationIndex(live: string, file: string): number | null {
  if (dirname(file) !== dirname(live)) return null;
  const ext = extname(live);
  const m = new RegExp(`^${escapeRegExp(basename(live, ext))}\\.(\\d+)${escapeRegExp(ext)}$`).exec(basename(file));
  return m ? Number(m[1]) : null;
}

/** Rotated siblings of a live file path that exist, oldest first, then the live file if it exists. */
export function rotationSet(path: string): string[] {
  const ext = extname(path);
  const base = basename(path, ext);
  const dir = dirname(path);
  const pattern = new RegExp(`^${escapeRegExp(base)}\\.(\\d+)${escapeRegExp(ext)}$`);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = names
    .map((name) => ({ name, m: pattern.exec(name) }))
    .filter((e): e is { name: string; m: RegExpExecArray } => e.m !== null)
    .sort((a, b) => Number(b.m[1]) - Number(a.m[1]))
    .map((e) => join(dir, e.name));
  return existsSync(path) ? [...rotated, path] : rotated;
}

/**
 * The files to read for a path, oldest first: a directory holds one rotation
 * set (audit.jsonl preferred when there are several); a live file brings its
 * rotated siblings; any other file is read alone.
 */
export function resolveAuditFiles(path: string): string[] {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    const set = rotationSet(path); // the live file may be missing right after a crash mid-rotation
    if (set.length > 0) return set;
    throw new Error(`no audit file at ${path}`);
  }
  if (!isDir) return rotationSet(path);
  const bases = new Set<string>();
  for (const name of readdirSync(path)) {
    const m = /^(.+?)(?:\.\d+)?\.jsonl$/.exec(name);
    if (m) bases.add(m[1]);
  }
  if (bases.size === 0) throw new Error(`no *.jsonl audit files in ${path}`);
  const base = bases.has('audit') ? 'audit' : bases.size === 1 ? [...bases][0] : null;
  if (!base) throw new Error(`several audit file sets in ${path} (${[...bases].join(', ')}): pass --file with one of them`);
  return rotationSet(join(path, `${base}.jsonl`));
}

export interface FileLine {
  file: string;
  /** 1-based. */
  line: number;
  text: string;
  /** false for a last line with no newline after it (a write in progress or cut by a crash). */
  terminated: boolean;
}

/** Every line of the files, in order, streamed. */
export async function* readLines(files: readonly string[]): AsyncGenerator<FileLine> {
  for (const file of files) {
    let rest: Buffer = Buffer.alloc(0);
    let line = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      let buf = rest.length > 0 ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        yield { file, line: ++line, text: buf.toString('utf8', start, nl), terminated: true };
        start = nl + 1;
      }
      rest = start < buf.length ? Buffer.from(buf.subarray(start)) : Buffer.alloc(0);
      buf = rest;
    }
    if (rest.length > 0) yield { file, line: ++line, text: rest.toString('utf8'), terminated: false };
  }
}

export interface Tail {
  size: number;
  /** Bytes after the last newline: a line whose write did not finish. */
  partialBytes: number;
  /** Complete lines from the end backwards, read lazily. */
  lines(): Generator<string>;
}

const BLOCK = 64 * 1024;

/** Read a file from its end (for resuming the chain after a restart); null when it cannot be read. */
export function readTail(path: string): Tail | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  let size: number;
  let partialBytes = -1;
  try {
    size = fstatSync(fd).size;
    const block = Buffer.alloc(Math.min(size, BLOCK));
    for (let pos = size; pos > 0 && partialBytes < 0; ) {
      const n = Math.min(block.length, pos);
      pos -= n;
      readSync(fd, block, 0, n, pos);
      const nl = block.subarray(0, n).lastIndexOf(10);
      if (nl !== -1) partialBytes = size - (pos + nl + 1);
    }
    if (partialBytes < 0) partialBytes = size;
  } finally {
    closeSync(fd);
  }
  const completeEnd = size - partialBytes;
  return {
    size,
    partialBytes,
    *lines() {
      const rfd = openSync(path, 'r');
      try {
        // buf holds bytes [bufStart, bufStart + buf.length); buf ends just after a newline.
        let buf = Buffer.alloc(0);
        let bufStart = completeEnd;
        let end = 0;
        for (;;) {
          const nl = end > 1 ? buf.lastIndexOf(10, end - 2) : -1;
          if (nl === -1 && bufStart > 0) {
            const n = Math.min(BLOCK, bufStart);
            const more = Buffer.alloc(n);
            readSync(rfd, more, 0, n, bufStart - n);
            buf = Buffer.concat([more, buf.subarray(0, end)]);
            end = buf.length;
            bufStart -= n;
            continue;
          }
          if (end === 0) return;
          yield buf.toString('utf8', nl + 1, end - 1);
          end = nl + 1;
        }
      } finally {
        closeSync(rfd);
      }
    },
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
