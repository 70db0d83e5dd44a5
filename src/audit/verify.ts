// Verify a hash chain over one file or a rotation set, oldest file first.
//
// Each line must hash to its `hash`, carry seq = previous seq + 1 and prev =
// previous hash; the chain runs across files. The first record read may start
// anywhere (older files may have been rotated away), but seq 1 must link to
// GENESIS. A last line with no newline that does not parse is what a crash
// mid-write leaves: reported as `truncated` with ok still true.
import { checkLine, GENESIS } from './chain.ts';
import { readLines, resolveAuditFiles } from './files.ts';

export type ChainProblem = 'edited' | 'deleted' | 'reordered' | 'truncated' | 'malformed';

export interface ChainFault {
  file: string;
  /** 1-based line within the file. */
  line: number;
  problem: ChainProblem;
  detail: string;
}

export interface VerifyResult {
  /** false when the chain was tampered with or damaged; a truncated last line alone keeps it true. */
  ok: boolean;
  /** Records verified before the first fault (all of them when there is none). */
  events: number;
  files: string[];
  /** seq and hash of the first and last good record (compare `last` with a SIEM copy to detect a cut tail). */
  first?: { seq: number; hash: string };
  last?: { seq: number; hash: string };
  firstBad?: ChainFault;
}

interface Position {
  file: string;
  line: number;
}

/** A directory or a live file path (its rotated siblings come along), or an explicit list of files in order. */
export async function verifyChain(input: string | readonly string[]): Promise<VerifyResult> {
  const files = typeof input === 'string' ? resolveAuditFiles(input) : [...input];
  const result: VerifyResult = { ok: true, events: 0, files };
  const lastFile = files[files.length - 1];
  let prev: { seq: number; hash: string; at: Position } | null = null;
  let beforePrev: { seq: number; hash: string } | undefined;
  const fault = (at: Position, problem: ChainProblem, detail: string): VerifyResult => {
    result.ok = problem === 'truncated';
    result.firstBad = { file: at.file, line: at.line, problem, detail };
    return result;
  };

  for await (const l of readLines(files)) {
    const at = { file: l.file, line: l.line };
    const check = checkLine(l.text);
    if (!check.ok) {
      if (!l.terminated && l.file === lastFile && check.problem === 'malformed') {
        return fault(at, 'truncated', `the last line is incomplete (${Buffer.byteLength(l.text)} bytes): a write cut short by a crash`);
      }
      return fault(at, check.problem, check.detail);
    }
    const r = check.record;
    if (prev === null) {
      if (r.seq === 1 && r.prev !== GENESIS) return fault(at, 'edited', 'the first record does not start the chain');
      result.first = { seq: r.seq, hash: r.hash };
    } else {
      const expected: number = prev.seq + 1;
      if (r.seq === expected && r.prev !== prev.hash) {
        result.events--;
        result.last = beforePrev;
        return fault(prev.at, 'edited', `seq ${prev.seq} was changed: the next record links to another hash`);
      }
      if (r.seq > expected) {
        const found = await findSeq(files, at, expected);
        return found
          ? fault(at, 'reordered', `seq ${r.seq} comes where ${expected} was expected; ${expected} is at ${found.file}:${found.line}`)
          : fault(at, 'deleted', `seq ${expected}${r.seq - 1 > expected ? `–${r.seq - 1}` : ''} missing before seq ${r.seq}`);
      }
      if (r.seq < expected) return fault(at, 'reordered', `seq ${r.seq} comes after seq ${prev.seq}`);
    }
    beforePrev = prev ? { seq: prev.seq, hash: prev.hash } : undefined;
    prev = { seq: r.seq, hash: r.hash, at };
    result.last = { seq: r.seq, hash: r.hash };
    result.events++;
  }
  return result;
}

const SEQ_PREFIX = /^\{"v":1,"seq":(\d+),/;

/** Where a seq appears after a position, if anywhere. */
async function findSeq(files: string[], after: Position, seq: number): Promise<Position | null> {
  const from = files.indexOf(after.file);
  for await (const l of readLines(files.slice(from))) {
    if (l.file === after.file && l.line <= after.line) continue;
    const m = SEQ_PREFIX.exec(l.text);
    let s: number | undefined = m ? Number(m[1]) : undefined;
    if (s === undefined) {
      try {
        s = (JSON.parse(l.text) as { seq?: number }).seq;
      } catch {
        continue;
      }
    }
    if (s === seq) return { file: l.file, line: l.line };
  }
  return null;
}
