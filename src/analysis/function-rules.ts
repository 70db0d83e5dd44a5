// Built-in function rules: which routine names are guardrail facts by themselves.
import type { GuardrailRule } from './types.ts';

const RULES: ReadonlyArray<readonly [RegExp, GuardrailRule]> = [
  [/^(pg_read_file|pg_read_binary_file|pg_stat_file|lo_import|lo_export)$/, 'server-file-function'],
  [/^pg_ls_/, 'server-file-function'],
  [/^pg_file_/, 'server-file-function'],
  [/^(pg_hba_file_rules|pg_ident_file_mappings|pg_show_all_file_settings|pg_current_logfile)$/, 'server-file-function'],
  [/^(lo_creat|lo_create|lo_open|lowrite|lo_put|lo_from_bytea|lo_truncate|lo_truncate64|lo_unlink)$/, 'large-object-write'],
  [/^dblink/, 'out-of-band-connection'],
  [/^postgres_fdw_/, 'out-of-band-connection'],
  [/^(query|table|schema|database|cursor)_to_xml/, 'sql-text-function'],
  [/_to_xmlschema/, 'sql-text-function'],
  [/^(ts_stat|ts_rewrite)$/, 'sql-text-function'],
  [/^set_config$/, 'security-setting'],
  [/^(pg_terminate_backend|pg_cancel_backend|nextval|setval|pg_notify|pg_reload_conf|pg_rotate_logfile)$/, 'side-effect-function'],
  [/^(pg_switch_wal|pg_promote|pg_log_backend_memory_contexts|pg_create_restore_point)$/, 'side-effect-function'],
  [/^pg_sleep/, 'side-effect-function'],
  [/^(pg_stat_get_activity|pg_stat_get_backend_activity|pg_stat_statements)$/, 'data-catalog'],
  [/^pg_(try_)?advisory_/, 'side-effect-function'],
  [/^pg_create_.*replication_slot$/, 'side-effect-function'],
  [/^pg_(drop|copy)_.*replication_slot$/, 'side-effect-function'],
  [/^pg_replication_/, 'side-effect-function'],
  [/^pg_logical_(emit_message|slot_)/, 'side-effect-function'],
  [/^pg_stat_reset/, 'side-effect-function'],
  [/^pg_(backup_start|backup_stop|wal_replay_pause|wal_replay_resume)$/, 'side-effect-function'],
];

/**
 * Volatile pg_catalog functions that change nothing outside the statement: the only
 * volatile built-ins that are not a side-effect fact (fail closed for everything else).
 */
export const SAFE_VOLATILE: ReadonlySet<string> = new Set([
  'random', 'random_normal', 'clock_timestamp', 'timeofday', 'gen_random_uuid', 'uuidv4', 'uuidv7',
  'statement_timestamp', 'transaction_timestamp', 'currval', 'lastval',
  'txid_current_if_assigned', 'pg_current_xact_id_if_assigned',
  // read-only monitoring: volatile only because their answer changes between calls
  'pg_relation_size', 'pg_total_relation_size', 'pg_table_size', 'pg_indexes_size', 'pg_database_size',
  'pg_tablespace_size', 'pg_is_in_recovery', 'pg_is_wal_replay_paused', 'pg_get_wal_replay_pause_state',
  'pg_current_wal_lsn', 'pg_current_wal_insert_lsn', 'pg_current_wal_flush_lsn', 'pg_last_wal_receive_lsn',
  'pg_last_wal_replay_lsn', 'pg_last_xact_replay_timestamp', 'pg_blocking_pids', 'pg_safe_snapshot_blocking_pids',
  'pg_jit_available', 'pg_notification_queue_usage',
]);

/** The guardrail a routine name triggers by itself, whatever its schema. */
export function functionRule(name: string): GuardrailRule | undefined {
  for (const [re, rule] of RULES) if (re.test(name)) return rule;
  return undefined;
}

/**
 * Built-ins that answer questions about catalog objects named by their
 * arguments (`has_table_privilege('s.t', …)`, `obj_description('s.t'::regclass)`,
 * `to_regclass('s.t')`, `currval('s.seq')`): a statement calling one is a
 * metadata query, so the names in its string constants are checked against
 * the identity's deny rules, as for a query over pg_class.
 */
const ASKS_ABOUT_NAMED_OBJECTS = [
  /^has_.*_privilege$/, /^to_reg/, /^(obj|col|shobj)_description$/, /^pg_get_/, /^pg_.*_size$/, /_is_visible$/,
  /^pg_(describe|identify)_object/, /^pg_get_object_address$/, /^pg_relation_file/, /^pg_filenode_relation$/,
  /^pg_partition_/, /^pg_sequence_/, /^(currval|pg_stat_get_)/, /^pg_column_is_updatable$/, /^pg_relation_is_updatable$/,
];

export function asksAboutNamedObjects(name: string): boolean {
  return ASKS_ABOUT_NAMED_OBJECTS.some((re) => re.test(name));
}
