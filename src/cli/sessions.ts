// `scopegate sessions list` and `scopegate replay SESSION_ID`, from the audit.
import { parseArgs } from 'node:util';
import { listSessions, parseTime, sessionTimeline, type SessionSummary } from '../audit/reader.ts';
import { auditSource, oneLine, sourceOptions, summary } from './audit.ts';

export async function sessionsCommand(args: string[], now = Date.now()): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'list') {
    console.error('usage: scopegate sessions list [--config FILE | --file PATH | --store URL] [--identity X] [--upstream X] [--since ISO|1h] [--until ISO] [--json]');
    return 64;
  }
  const { values } = parseArgs({
    args: rest,
    options: { ...sourceOptions, identity: { type: 'string' }, upstream: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, json: { type: 'boolean' } },
  });
  const source = auditSource(values);
  const sessions = await listSessions(source, {
    identity: values.identity,
    upstream: values.upstream,
    since: values.since ? parseTime(values.since, now) : undefined,
    until: values.until ? parseTime(values.until, now) : undefined,
  }).finally(() => source.close());
  if (values.json) {
    for (const s of sessions) console.log(JSON.stringify(s));
    return 0;
  }
  const rows = [['SESSION', 'IDENTITY', 'UPSTREAM', 'CLIENT', 'START', 'END', 'STATEMENTS', 'DENIALS'], ...sessions.map(row)];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
  return 0;
}

function row(s: SessionSummary): string[] {
  return [s.session, s.identity, s.upstream, s.client ?? '?', (s.startSeen ? '' : '≤') + s.start, s.end ?? '(open)', String(s.statements), String(s.denials)];
}

export async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...sourceOptions, json: { type: 'boolean' }, full: { type: 'boolean' } } });
  const id = positionals[0];
  if (!id || positionals.length > 1) {
    console.error('usage: scopegate replay SESSION_ID [--config FILE | --file PATH | --store URL] [--json] [--full]');
    return 64;
  }
  const source = auditSource(values);
  const timeline = await sessionTimeline(source, id).finally(() => source.close());
  if (!timeline) {
    console.error(`scopegate: no session ${id} in the audit`);
    return 1;
  }
  if (values.json) {
    console.log(JSON.stringify(timeline));
    return 0;
  }
  const s = timeline.summary;
  console.log(`session ${s.session}: ${s.identity} (groups: ${s.groups?.join(', ') || 'none'}) → ${s.upstream}, from ${s.client ?? '?'}${s.tls === undefined ? '' : s.tls ? ', tls' : ', no tls'}${s.method ? `, ${s.method}` : ''}`);
  console.log(`started ${s.start}${s.startSeen ? '' : ' (start not in the audit: times are from the first event)'}; ${s.end ? `ended ${s.end}: ${s.endReason}` : 'not ended'}; ${s.statements} statements, ${s.denials} denied`);
  for (const { offsetMs, record: r } of timeline.entries) {
    const offset = `+${(offsetMs / 1000).toFixed(3)}s`.padStart(10);
    if (r.type === 'statement') {
      const duration = r.durationMs === undefined ? '' : `${r.durationMs < 10 ? r.durationMs.toFixed(1) : Math.round(r.durationMs)}ms`;
      const result = r.error ? `SQLSTATE ${r.error}` : r.tag ?? (r.rows !== undefined ? `${r.rows} rows` : '');
      console.log(`${offset}  ${r.verdict.toUpperCase().padEnd(6)} ${duration.padStart(8)}  ${result.padEnd(16)}  ${values.full ? r.sql : oneLine(r.sql, 120)}`);
      if (r.verdict !== 'allow') for (const reason of r.reasons ?? []) console.log(`${' '.repeat(38)}reason: ${reason}`);
      if (r.masked?.length) console.log(`${' '.repeat(38)}masked: ${r.masked.join(', ')}`);
      if (r.result) {
        console.log(`${' '.repeat(38)}${r.result.columns.join(' | ')}`);
        for (const row of r.result.rows) console.log(`${' '.repeat(38)}${row.map((v) => v ?? 'NULL').join(' | ')}`);
      }
    } else if (r.type !== 'session_start') {
      console.log(`${offset}  ${r.type}: ${summary(r)}`);
    }
  }
  return 0;
}
