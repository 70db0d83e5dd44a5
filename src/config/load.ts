// Load and validate scopegate.yaml. Errors name the line and the key.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { configSchema, type Config } from './schema.ts';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid config:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  config: Config;
  /** Directory of the config file: relative paths in it resolve from here. */
  baseDir: string;
  path: string;
}

export function loadConfigFile(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${path}: ${(err as Error).message}`]);
  }
  return { config: parseConfig(text, path), baseDir: dirname(resolve(path)), path: resolve(path) };
}

export function parseConfig(text: string, source = 'config'): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return `${source}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const parsed = configSchema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      const line = lineOf(doc.contents as Node | null, issue.path, lines);
      return `${source}${line ? `:${line}` : ''}: ${key}: ${issue.message}`;
    }),
  );
}

/** Best-effort line number of a path in the YAML document (the deepest node that exists). */
function lineOf(root: Node | null, path: PropertyKey[], lines: LineCounter): number | undefined {
  let node: Node | null | undefined = root;
  let found: Node | null | undefined = root;
  for (const key of path) {
    if (isMap(node)) {
      const pair: { key?: unknown; value?: unknown } | undefined = node.items.find((p: { key?: unknown }) => (p.key as { value?: unknown } | undefined)?.value === key);
      node = (pair?.value as Node | undefined) ?? (pair?.key as Node | undefined);
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key] as Node | undefined;
    } else break;
    if (!node) break;
    found = node;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}
