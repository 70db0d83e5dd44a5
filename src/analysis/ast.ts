// Loose access to libpg-query parse trees: every node is { NodeName: { ...fields } }.

/** A parse-tree node wrapper or field object. Trees are plain JSON from the parser. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Node = Record<string, any>;

/** The node type name of a wrapped node ("SelectStmt"), or '' for non-nodes. */
export function tag(n: unknown): string {
  if (n === null || typeof n !== 'object' || Array.isArray(n)) return '';
  for (const k in n as Node) return k;
  return '';
}

/** The fields of a wrapped node. */
export function inner(n: Node): Node {
  const k = tag(n);
  return (k ? (n[k] as Node) : undefined) ?? {};
}

/** Items of an optional list field. */
export function list(v: unknown): Node[] {
  return Array.isArray(v) ? (v as Node[]) : [];
}

/** The string of a { String: { sval } } node. */
export function sval(n: Node | undefined): string | undefined {
  if (!n) return undefined;
  if (n.String) return (n.String.sval as string | undefined) ?? '';
  return undefined;
}

/** Names from a list of String nodes (qualified names, column lists). */
export function names(v: unknown): string[] {
  const out: string[] = [];
  for (const n of list(v)) {
    const s = sval(n);
    if (s !== undefined) out.push(s);
  }
  return out;
}

export type ConstValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number; text: string }
  | { type: 'string'; value: string }
  | { type: 'bool'; value: boolean }
  | { type: 'bitstring'; value: string }
  | { type: 'null' };

/**
 * How many times a literal's value has been read (constOf, stringConstants).
 * The analysis of a statement that read none is the same for any values of
 * its literals, which is what lets the gateway reuse it for texts that differ
 * only in them (see literalFree); a positional `ORDER BY 2` or a constant
 * `WHERE … OR 1 = 1` is read, so such statements are analysed every time.
 */
let literalValueReads = 0;

export function literalReads(): number {
  return literalValueReads;
}

/** Decode an A_Const's fields (absent sub-values mean 0 / false). */
export function constOf(c: Node): ConstValue {
  literalValueReads++;
  if (c.isnull) return { type: 'null' };
  if (c.ival !== undefined) return { type: 'int', value: Number(c.ival.ival ?? 0) };
  if (c.fval !== undefined) return { type: 'float', value: Number(c.fval.fval ?? 0), text: String(c.fval.fval ?? '0') };
  if (c.sval !== undefined) return { type: 'string', value: String(c.sval.sval ?? '') };
  if (c.boolval !== undefined) return { type: 'bool', value: Boolean(c.boolval.boolval) };
  if (c.bsval !== undefined) return { type: 'bitstring', value: String(c.bsval.bsval ?? '') };
  return { type: 'null' };
}

/** A DefElem argument as text (String, Integer, Float, Boolean, TypeName, A_Const). */
export function defArgText(arg: Node | undefined): string | undefined {
  if (!arg) return undefined;
  const t = tag(arg);
  const v = inner(arg);
  switch (t) {
    case 'String': return String(v.sval ?? '');
    case 'Integer': return String(v.ival ?? 0);
    case 'Float': return String(v.fval ?? '0');
    case 'Boolean': return v.boolval ? 'true' : 'false';
    case 'A_Const': {
      const c = constOf(v);
      return c.type === 'null' ? undefined : String(c.value);
    }
    case 'TypeName': return names(v.names).join('.');
    case 'List': return list(v.items).map((i) => defArgText(i) ?? '').join(',');
    default: return undefined;
  }
}
