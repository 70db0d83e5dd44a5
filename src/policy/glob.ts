// `schema.table` patterns with `*` globs, matched against lower-case qualified names.

export type ObjectMatcher = (object: string) => boolean;

export function compileGlob(pattern: string): ObjectMatcher {
  const normalized = normalizePattern(pattern);
  if (!normalized.includes('*')) return (object) => object === normalized;
  const source = normalized
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^.]*');
  const re = new RegExp(`^${source}$`);
  return (object) => re.test(object);
}

/** Unquoted parts fold to lower case as Postgres folds identifiers; "Quoted" parts keep their case. */
export function normalizePattern(pattern: string): string {
  return pattern
    .split('.')
    .map((part) => (part.startsWith('"') && part.endsWith('"') && part.length > 1 ? part.slice(1, -1) : part.toLowerCase()))
    .join('.');
}
