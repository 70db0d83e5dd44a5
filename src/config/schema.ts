// The scopegate.yaml schema (v1 contract in DESIGN.md; extended, never renamed).
import { z } from 'zod';

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:6432');

export const privilegeNames = ['read', 'insert', 'update', 'delete', 'truncate', 'ddl', 'execute', 'admin'] as const;

const objectPattern = z.string().regex(/^[A-Za-z0-9_$*.\-"]+$/, 'expected schema.table with * globs');

/** One rule: a single privilege key mapping to object globs, e.g. `{ read: [analytics.*] }`. */
const rule = z
  .object(Object.fromEntries(privilegeNames.map((p) => [p, z.array(objectPattern).optional()])) as Record<
    (typeof privilegeNames)[number],
    z.ZodOptional<z.ZodArray<typeof objectPattern>>
  >)
  .strict()
  .refine((r) => Object.values(r).some((v) => v !== undefined), 'a rule needs one privilege, e.g. read: [schema.*]');

export const maskStrategies = ['redact', 'null', 'last4', 'email', 'hash'] as const;
export const detectorNames = ['card', 'ssn', 'email', 'phone', 'token'] as const;

export const guardrailNames = [
  'do-block', 'copy-file', 'copy-program', 'server-file-function', 'large-object-write',
  'out-of-band-connection', 'sql-text-function', 'session-authorization', 'security-setting',
  'privilege-change', 'server-admin', 'side-effect-function', 'listen-notify', 'data-catalog',
  'unfiltered-write', 'drop', 'truncate', 'security-definer', 'locking-read', 'function-call', 'unanalysable',
] as const;

const policy = z
  .object({
    name: z.string().min(1),
    for: z
      .object({ groups: z.array(z.string()).optional(), names: z.array(z.string()).optional() })
      .strict()
      .refine((f) => (f.groups?.length ?? 0) + (f.names?.length ?? 0) > 0, 'for: needs groups or names'),
    upstreams: z.array(z.string()).optional(),
    allow: z.array(rule).default([]),
    review: z.array(rule).default([]),
    deny: z.array(rule).default([]),
    mask: z.record(z.string().regex(/^[^.\s]+\.[^.\s]+\.[^.\s]+$/, 'expected schema.table.column'), z.enum(maskStrategies)).default({}),
    /** Masked columns used in predicates, ORDER BY, GROUP BY: deny (default) or allow. */
    mask_oracles: z.enum(['deny', 'allow']).default('deny'),
    /** Record the first N result rows of each statement (after masking) in the audit, for replay. 0 = off. */
    record_results: z.number().int().nonnegative().max(1000).default(0),
    /** Content detectors for free-text or JSON columns: matched card numbers, SSNs, e-mails, phones, secrets are masked in place. */
    detect: z.record(z.string().regex(/^[^.\s]+\.[^.\s]+\.[^.\s]+$/, 'expected schema.table.column'), z.array(z.enum(detectorNames))).default({}),
    guardrails: z.object({ lift: z.array(z.enum(guardrailNames)).default([]) }).strict().default({ lift: [] }),
    /** How `review` verdicts of this policy are handled (defaults come from `approvals:`). */
    review_settings: z
      .object({
        mode: z.enum(['hold', 'async']).optional(),
        timeout_s: z.number().int().positive().optional(),
        approver_groups: z.array(z.string()).optional(),
        webhook: z
          .object({ url: z.string().url(), secret_env: z.string().optional(), format: z.enum(['json', 'slack']).default('json') })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const oidcIssuer = z
  .object({
    issuer: z.string().url(),
    audience: z.union([z.string(), z.array(z.string())]),
    /** Discovery is used when absent. */
    jwks_url: z.string().url().optional(),
    algorithms: z.array(z.string()).default(['RS256', 'ES256', 'PS256', 'EdDSA']),
    /** Dot path to the groups claim, e.g. "groups" or "realm_access.roles". */
    groups_claim: z.string().default('groups'),
    /** Claim whose value becomes the identity name. */
    name_claim: z.string().default('sub'),
    /** Optional mapping claim value → identity name. */
    name_map: z.record(z.string(), z.string()).optional(),
    clock_skew_s: z.number().int().nonnegative().default(30),
    require_groups: z.boolean().default(false),
  })
  .strict();

const upstream = z
  .object({
    url: z.string().regex(/^postgres(ql)?:\/\//, 'expected postgres://user@host:port/db'),
    password_env: z.string().optional(),
    password_file: z.string().optional(),
    roles: z.enum(['fixed', 'ephemeral']).default('fixed'),
    tls: z.enum(['disable', 'prefer', 'require']).default('prefer'),
    /** Content detectors applied to every text and JSON column returned from this upstream (opt-in). */
    detect: z.array(z.enum(detectorNames)).default([]),
    /** For roles: ephemeral — per-session login roles created with the url's role (CREATEROLE, not superuser). */
    ephemeral: z
      .object({
        prefix: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('scopegate_s_'),
        ttl_s: z.number().int().positive().default(3600),
        reap_interval_s: z.number().int().positive().default(300),
      })
      .strict()
      .default({ prefix: 'scopegate_s_', ttl_s: 3600, reap_interval_s: 300 }),
  })
  .strict();

const tokenIdentity = z
  .object({
    name: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the hex SHA-256 of the token (scopegate token new NAME prints it)'),
    groups: z.array(z.string()).default([]),
  })
  .strict();

export const configSchema = z
  .object({
    listen: hostPort.default('127.0.0.1:6432'),
    admin: hostPort.optional(),
    tls: z
      .object({ cert: z.string(), key: z.string(), required: z.boolean().default(false) })
      .strict()
      .optional(),
    data_dir: z.string().default('./.scopegate'),
    store: z.string().default('embedded'),
    audit: z
      .object({
        file: z.string().optional(),
        stdout: z.boolean().default(false),
        /** Rotate the file when it grows past this size; keep this many rotated files. */
        rotate_bytes: z.number().int().positive().default(100 * 1024 * 1024),
        keep: z.number().int().nonnegative().default(10),
        /** Also write events to the store (searchable, shared by replicas). */
        store: z.boolean().default(false),
        webhook: z
          .object({
            url: z.string().url(),
            secret_env: z.string().optional(),
            batch_size: z.number().int().positive().default(100),
            flush_ms: z.number().int().positive().default(1000),
            max_buffer: z.number().int().positive().default(10_000),
          })
          .strict()
          .optional(),
        /** true: refuse statements when the audit cannot be written. */
        fail_closed: z.boolean().default(true),
        /** true: a statement is acknowledged (ReadyForQuery) only after its audit events are written. Costs latency. */
        ack_after_write: z.boolean().default(false),
      })
      .strict()
      .default({ stdout: false, rotate_bytes: 100 * 1024 * 1024, keep: 10, store: false, fail_closed: true, ack_after_write: false }),
    limits: z
      .object({
        max_message_bytes: z.number().int().positive().default(64 * 1024 * 1024),
        max_sql_bytes: z.number().int().positive().default(1024 * 1024),
        startup_timeout_ms: z.number().int().positive().default(10_000),
        max_prepared_per_session: z.number().int().positive().default(1000),
        max_connections: z.number().int().positive().default(2000),
      })
      .strict()
      .default({ max_message_bytes: 64 * 1024 * 1024, max_sql_bytes: 1024 * 1024, startup_timeout_ms: 10_000, max_prepared_per_session: 1000, max_connections: 2000 }),
    masking: z
      .object({ hash_key_env: z.string().optional() })
      .strict()
      .default({}),
    upstreams: z.record(z.string(), upstream).refine((u) => Object.keys(u).length > 0, 'at least one upstream is needed'),
    identities: z
      .object({
        tokens: z.array(tokenIdentity).default([]),
        oidc: z.union([oidcIssuer, z.array(oidcIssuer)]).optional(),
        /** Seconds a session may outlive its token's expiry before it is ended (after the current statement). */
        session_grace_s: z.number().int().nonnegative().default(0),
      })
      .strict()
      .default({ tokens: [], session_grace_s: 0 }),
    approvals: z
      .object({
        /** Groups whose members may decide reviews and grant access (via the admin API or CLI). */
        approver_groups: z.array(z.string()).default([]),
        mode: z.enum(['hold', 'async']).default('hold'),
        timeout_s: z.number().int().positive().default(300),
        /** Async mode: how long an approval waits for the identical statement to be re-sent. */
        async_ttl_s: z.number().int().positive().default(900),
        max_grant_s: z.number().int().positive().default(8 * 3600),
      })
      .strict()
      .default({ approver_groups: [], mode: 'hold', timeout_s: 300, async_ttl_s: 900, max_grant_s: 8 * 3600 }),
    policies: z.array(policy).default([]),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type PolicyConfig = z.infer<typeof policy>;
export type UpstreamConfig = z.infer<typeof upstream>;
export type TokenIdentityConfig = z.infer<typeof tokenIdentity>;
export type OidcIssuerConfig = z.infer<typeof oidcIssuer>;
export type RuleConfig = z.infer<typeof rule>;
