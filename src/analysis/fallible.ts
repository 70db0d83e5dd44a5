// Operations that can fail depending on the value they are given. A masked value that reaches one is
// an oracle even when the result is masked: `1/(ascii(ssn) - 49)` fails exactly when ssn starts with
// '1', `ascii(substr(ssn, 3, 1)) * 43826197` overflows exactly when that digit is not '0', and whether a
// statement failed reaches the client whatever its message says. Only operations known to accept every
// value in the position the masked value takes are safe; everything else is 'fallible'.

/** Built-in functions and the argument positions in which they accept any value ('*': all). */
const SAFE_ARGS: Record<string, '*' | readonly number[]> = {
  // text in, no failure for any text
  upper: '*', lower: '*', initcap: '*', length: '*', char_length: '*', character_length: '*', octet_length: '*',
  bit_length: '*', md5: '*', sha224: '*', sha256: '*', sha384: '*', sha512: '*', reverse: '*', concat: '*',
  concat_ws: '*', quote_literal: '*', quote_ident: '*', quote_nullable: '*', ascii: '*', btrim: '*', ltrim: '*',
  rtrim: '*', replace: '*', translate: '*', strpos: '*', starts_with: '*', textcat: '*', textout: '*', textin: '*',
  hashtext: '*', num_nonnulls: '*', num_nulls: '*', pg_column_size: '*', pg_column_compression: '*', to_hex: '*',
  split_part: [0, 1], substr: [0], substring: [0], left: [0], right: [0], lpad: [0, 2], rpad: [0, 2], repeat: [0],
  overlay: [0, 1], encode: [0], convert_to: [0], hashtextextended: [0], format: [1, 2, 3, 4, 5, 6, 7, 8, 9],
  string_to_array: '*', string_to_table: '*', regexp_replace: [0], regexp_match: [0], regexp_matches: [0],
  regexp_split_to_table: [0], regexp_split_to_array: [0], regexp_like: [0], regexp_count: [0], regexp_substr: [0],
  regexp_instr: [0], to_tsvector: [1], ts_debug: [1], ts_lexize: [1],
  // JSON / XML / arrays built from values (their shape does not depend on the values)
  to_json: '*', to_jsonb: '*', row_to_json: [0], array_to_json: [0], json_build_object: '*', jsonb_build_object: '*',
  json_build_array: '*', jsonb_build_array: '*', json_object_agg: '*', jsonb_object_agg: '*', json_agg: '*',
  jsonb_agg: '*', jsonb_each: '*', jsonb_each_text: '*', json_each: '*', json_each_text: '*', jsonb_strip_nulls: '*',
  json_strip_nulls: '*', jsonb_pretty: '*', jsonb_typeof: '*', json_typeof: '*', array_to_string: '*',
  array_position: [0, 1], array_positions: '*', array_append: '*', array_prepend: '*', array_cat: '*',
  cardinality: '*', unnest: '*', record_out: '*',
  // aggregates and window functions that return or count their inputs
  count: '*', min: '*', max: '*', string_agg: '*', array_agg: '*', xmlagg: '*', sum: '*', avg: '*', bool_and: '*',
  bool_or: '*', every: '*', first_value: [0], last_value: [0], lag: [0, 2], lead: [0, 2], nth_value: [0],
};

/** Whether a masked value may be argument `index` of built-in `name` without becoming an error oracle. */
export function safeArgument(name: string, index: number): boolean {
  const s = Object.hasOwn(SAFE_ARGS, name) ? SAFE_ARGS[name] : undefined;
  return s === '*' || (s !== undefined && s.includes(index));
}

/** Target types a text value casts to without failing (an explicit cast to varchar(n) truncates). */
const SAFE_CAST_TYPES = new Set(['text', 'varchar', 'bpchar', 'char', 'character', 'name', 'unknown']);

export function safeCast(typeNames: string[], isArray: boolean): boolean {
  return !isArray && SAFE_CAST_TYPES.has(typeNames[typeNames.length - 1] ?? '');
}

/** Operators that compare, concatenate or look up, and never fail on their operands' values. */
const SAFE_OPERATORS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=', '||', '->', '->>', '#>', '#>>', '?', '?|', '?&', '@>', '<@']);
/** Pattern operators: the subject is safe, the pattern is not (a malformed regex or trailing escape fails). */
const PATTERN_OPERATORS = new Set(['~~', '~~*', '!~~', '!~~*', '~', '~*', '!~', '!~*']);

/** Whether a masked value may be the left (or right) operand of `op` without becoming an error oracle. */
export function safeOperand(op: string, side: 'left' | 'right'): boolean {
  return SAFE_OPERATORS.has(op) || (side === 'left' && PATTERN_OPERATORS.has(op));
}
