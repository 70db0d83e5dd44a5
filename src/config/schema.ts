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
    guardrails: z.object({ lift: z.array(z.enum(guardrailNames)).default([]) }).strict().default({ lift: [] }),
  })
  .strict();

const upstream = z
  .object({
    url: z.string().regex(/^postgres(ql)?:\/\//, 'expected postgres://user@host:port/db'),
    password_env: z.string().optional(),
    password_file: z.string().optional(),
    roles: z.enum(['fixed', 'ephemeral']).default('fixed'),
    tls: z.enum(['disable', 'prefer', 'require']).default('prefer'),
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
      .object({ file: z.string().optional(), stdout: z.boolean().default(false) })
      .strict()
      .default({ stdout: false }),
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
      .object({ tokens: z.array(tokenIdentity).default([]) })
      .strict()
      .default({ tokens: [] }),
    policies: z.array(policy).default([]),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type PolicyConfig = z.infer<typeof policy>;
export type UpstreamConfig = z.infer<typeof upstream>;
export type TokenIdentityConfig = z.infer<typeof tokenIdentity>;
export type RuleConfig = z.infer<typeof rule>;
