import { z } from 'zod';
import { type SamlSettings, samlSettingsOf } from './saml';

/**
 * Process configuration, read once from the environment at start-up and checked whole before
 * anything starts, cross-variable rules (SAML) included.
 *
 * Unset optional variables select the zero-config behaviour: embedded Postgres, local Redis,
 * the in-process Pulumi emulator.
 * Secrets (`PULUMI_ACCESS_TOKEN`, `SCIM_BEARER_TOKEN`, `ADMIN_API_TOKEN`, `SESSION_SECRET`, `SSF_CLIENT_SECRET`)
 * are never logged: `describeConfig` prints only whether they are set.
 */

export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/** An empty variable counts as unset, so it gets the default rather than coercing to 0. */
export const emptyAsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const port = (fallback: number) => z.preprocess(emptyAsUnset, z.coerce.number().int().min(0).max(65535).default(fallback));

const positiveInt = (fallback: number) => z.preprocess(emptyAsUnset, z.coerce.number().int().positive().default(fallback));

const url = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v))
  .refine((v) => v === undefined || URL.canParse(v), { message: 'must be a URL' });

const envSchema = z.object({
  PORT: port(8080),
  /** Bind address of the HTTP server. @defaultValue 0.0.0.0 */
  HOST: z.string().default('0.0.0.0'),
  /**
   * The daemon's internal listener (docs/operations.md, "What to expose"): when set, /metrics,
   * /readyz, /api/v1 and the queue dashboard answer only here, and PORT serves only /scim/v2,
   * /auth, /console and /healthz. Unset: everything on PORT.
   */
  INTERNAL_PORT: z.preprocess(emptyAsUnset, z.coerce.number().int().min(0).max(65535).optional()),
  /** `npm run worker`: the port of its /metrics, /healthz and /readyz. @defaultValue 9464 */
  METRICS_PORT: port(9464),
  DATABASE_URL: url,
  /** Port of the embedded Postgres used when DATABASE_URL is unset; off the system default. */
  EMBEDDED_PG_PORT: port(54329),
  /** Where the embedded Postgres keeps its data. @defaultValue ./.data */
  DATA_DIR: z.string().default('./.data'),
  /**
   * Longest a single SQL statement of the daemon, the workers or the CLI may run before Postgres
   * cancels it; 0 turns the bound off. Migrations are exempt. A SCIM request that hits it answers
   * 400 tooMany. docs/robustness.md, "Bounded work". @defaultValue 30000
   */
  DB_STATEMENT_TIMEOUT_MS: z.preprocess(emptyAsUnset, z.coerce.number().int().min(0).default(30_000)),
  REDIS_URL: url,
  /**
   * Redis reports a `maxmemory-policy` other than noeviction at start-up: `refuse` stops the
   * process, `warn` logs and starts (BullMQ may then lose or repeat jobs). @defaultValue refuse
   */
  REDIS_EVICTION_CHECK: z.preprocess(emptyAsUnset, z.enum(['refuse', 'warn']).default('refuse')),
  /**
   * BullMQ key prefix of the queues: installations sharing one Redis each need their own, and
   * every process of one installation (daemon, workers, CLI) the same. A fixed default rather
   * than one derived from DATABASE_URL, so processes that reach one database by different URLs
   * never split its queues. Redis Cluster needs a hash tag, e.g. `{pis}`, so that a queue's keys
   * share a slot. No ':' (it separates the key's parts). @defaultValue pis
   */
  QUEUE_PREFIX: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .regex(/^(?:[A-Za-z0-9_.-]+|\{[A-Za-z0-9_.-]+\})$/, { message: "must be letters, digits, '_', '.', '-', optionally in braces ({pis}) for Redis Cluster" })
      .default('pis'),
  ),
  PULUMI_BACKEND_URL: url.transform((v) => v ?? 'https://api.pulumi.com'),
  PULUMI_ACCESS_TOKEN: optionalString,
  /**
   * Lets the daemon use its built-in Pulumi emulator when PULUMI_ACCESS_TOKEN is empty, or unset
   * with NODE_ENV=production; a token, when set, still wins. @defaultValue false
   */
  PULUMI_EMULATOR: z.preprocess(
    emptyAsUnset,
    z
      .enum(['true', 'false', '1', '0'])
      .default('false')
      .transform((v) => v === 'true' || v === '1'),
  ),
  PULUMI_ORG: optionalString,
  SYNC_CONFIG: z.string().default('config/sync.yaml'),
  SCIM_BEARER_TOKEN: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'must be at least 16 characters',
  }),
  ADMIN_API_TOKEN: optionalString.refine((v) => v === undefined || v.length >= 16, {
    message: 'must be at least 16 characters',
  }),
  /** The actor the audit log names for actions taken with ADMIN_API_TOKEN. @defaultValue admin-api-token */
  ADMIN_API_TOKEN_LABEL: z.preprocess(emptyAsUnset, z.string().max(100).default('admin-api-token')),
  /** Live tokens one person may hold (docs/robustness.md, "Abuse limits"). */
  TOKEN_MAX_LIVE_PER_PERSON: z.preprocess(emptyAsUnset, z.coerce.number().int().positive().default(20)),
  /** Tokens one person may be issued per hour. */
  TOKEN_MAX_ISSUES_PER_HOUR: z.preprocess(emptyAsUnset, z.coerce.number().int().positive().default(10)),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  /** Largest accepted SCIM request body. @defaultValue 1mb */
  SCIM_MAX_BODY: z.string().default('1mb'),
  /**
   * SCIM: sustained requests per second per SCIM client, per process; 0 turns the limit off.
   * @defaultValue 200
   */
  SCIM_RATE_LIMIT_RPS: z.preprocess(emptyAsUnset, z.coerce.number().min(0).default(200)),
  /** SCIM: requests a SCIM client may make at once before the sustained rate applies. @defaultValue 1000 */
  SCIM_RATE_LIMIT_BURST: z.preprocess(emptyAsUnset, z.coerce.number().int().positive().default(1000)),
  /** Pulumi client: simultaneous requests per org. @defaultValue 8 */
  PULUMI_MAX_CONCURRENCY: positiveInt(8),
  /** Pulumi client: requests per second per org, every caller of the process together. @defaultValue 20 */
  PULUMI_MAX_RPS: positiveInt(20),
  /**
   * Pulumi client: share of PULUMI_MAX_RPS and PULUMI_MAX_CONCURRENCY held back for revocations
   * and removals of people who lost access; reconciles use the rest (docs/robustness.md,
   * "One Pulumi budget per org"). @defaultValue 0.2
   */
  PULUMI_PRIORITY_SHARE: z.preprocess(emptyAsUnset, z.coerce.number().min(0).lt(1).default(0.2)),
  /** Pulumi client: timeout of one HTTP request, ms. @defaultValue 15000 */
  PULUMI_TIMEOUT_MS: positiveInt(15000),
  /** Run the BullMQ workers inside this process. @defaultValue true */
  RUN_WORKERS: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /**
   * How often the daemon copies the audit log's chain head into audit_anchors and the log
   * stream (docs/audit.md), ms; 0 turns it off. @defaultValue 300000
   */
  AUDIT_ANCHOR_EVERY_MS: z.preprocess(emptyAsUnset, z.coerce.number().int().min(0).default(300_000)),
  /**
   * Workers' BullMQ job lock, ms, also the stalled-check interval: lower recovers a crashed
   * worker's jobs sooner, but a busy event loop may then lose locks. @defaultValue 30000
   */
  WORKER_LOCK_DURATION_MS: z.preprocess(emptyAsUnset, z.coerce.number().int().min(1000).default(30_000)),
  /**
   * Team reconciles at once per process. Each holds a database connection for its team lock;
   * the Pulumi limits above still bound the calls they make. @defaultValue 16
   */
  WORKER_CONCURRENCY: positiveInt(16),
  /** Secret that signs console session cookies; random per process when unset. */
  SESSION_SECRET: optionalString,
  /** Public base URL of this daemon (SAML ACS, SCIM meta.location). */
  PUBLIC_URL: url,
  /** SAML: the IdP's single sign-on URL (HTTP-Redirect binding). SAML is off while unset. */
  SAML_IDP_SSO_URL: url,
  /** SAML: the IdP's entity ID; the assertion's Issuer must equal it. */
  SAML_IDP_ISSUER: optionalString,
  /** SAML: the IdP signing certificate(s) as PEM; two during rotation. `\n` escapes allowed. */
  SAML_IDP_CERT: optionalString,
  /** SAML: a file holding the IdP signing certificate(s) as PEM, instead of SAML_IDP_CERT. */
  SAML_IDP_CERT_FILE: optionalString,
  /** SAML: this service provider's entity ID (the expected Audience). @defaultValue `${PUBLIC_URL}/auth/saml/metadata` */
  SAML_SP_ENTITY_ID: optionalString,
  /** SAML: the assertion attribute holding the SCIM userName; NameID when unset. */
  SAML_LOGIN_ATTRIBUTE: optionalString,
  /**
   * SAML: the assertion attribute carrying the IdP's user id (Okta user id, Entra objectId);
   * the person is the SCIM user whose externalId equals it exactly. NameID when unset.
   */
  SAML_USER_ID_ATTRIBUTE: optionalString,
  /** SAML: the SCIM attribute a persistent or unspecified NameID is matched to. @defaultValue externalId */
  SAML_NAMEID_MATCH: z.preprocess(emptyAsUnset, z.enum(['externalId', 'userName']).default('externalId')),
  /**
   * SAML: accept an emailAddress-format NameID, matched to the SCIM userName. People can often
   * edit their own email in the IdP, so it is refused by default. @defaultValue false
   */
  SAML_ALLOW_EMAIL_NAMEID: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /**
   * SAML: the SCIM group whose members are console admins: `externalId:<IdP group id>` (exact),
   * or a displayName (case-insensitive).
   */
  SAML_ADMIN_GROUP: optionalString,
  /**
   * SAML: accept a response whose outer Response is unsigned as long as the assertion is signed
   * (for IdPs that cannot sign both). @defaultValue false — response and assertion both signed.
   */
  SAML_ALLOW_UNSIGNED_RESPONSE: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** SAML: tolerated clock difference with the IdP, ms. @defaultValue 30000 */
  SAML_CLOCK_SKEW_MS: z.preprocess(emptyAsUnset, z.coerce.number().int().min(0).max(300_000).default(30_000)),
  /**
   * Shared Signals: the transmitter's issuer, the base of its `.well-known/ssf-configuration`
   * (Okta: `https://<org>.okta.com`). The receiver is off while unset (docs/shared-signals.md).
   */
  SSF_TRANSMITTER_URL: url,
  /** Shared Signals: the receiver's OAuth client (client-credentials grant) for stream management. */
  SSF_CLIENT_ID: optionalString,
  SSF_CLIENT_SECRET: optionalString,
  /** Shared Signals: the token endpoint; read from the issuer's OAuth metadata when unset. */
  SSF_TOKEN_URL: url,
  /** Shared Signals: scopes asked for with the client credentials. @defaultValue "ssf.manage ssf.read" */
  SSF_SCOPES: z.preprocess(emptyAsUnset, z.string().default('ssf.manage ssf.read')),
  /** Shared Signals: the `aud` SETs must carry; the stream's `aud` when unset. */
  SSF_AUDIENCE: optionalString,
});

export type Config = Readonly<
  z.infer<typeof envSchema> & {
    /** Derived from the SAML_* variables and PUBLIC_URL; undefined while SAML is off. */
    saml: SamlSettings | undefined;
  }
>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses `env` with `schema`, or throws ConfigError naming every bad variable. */
export function parseEnv<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv): T {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  return parsed.data;
}

/**
 * Parses and freezes the environment, then derives the SAML settings (which reads
 * SAML_IDP_CERT_FILE). Throws ConfigError naming every bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const vars = parseEnv(envSchema, env);
  const saml = samlSettingsOf(vars);
  if ('problems' in saml) throw new ConfigError(saml.problems);
  return Object.freeze({ ...vars, saml: saml.settings });
}

/**
 * Why the daemon may not put its built-in emulator in place of the Pulumi Service, or undefined
 * when it may: a token is set, PULUMI_EMULATOR is on, or a development start left the token
 * unset. An empty token (Compose passes one when the variable is missing) or a production start
 * without one is a deployment that meant the real service, where deprovisioning must reach Pulumi.
 */
function emulatorRefusal(config: Pick<Config, 'PULUMI_ACCESS_TOKEN' | 'PULUMI_EMULATOR'>, env: NodeJS.ProcessEnv): string | undefined {
  if (config.PULUMI_ACCESS_TOKEN !== undefined || config.PULUMI_EMULATOR) return undefined;
  const remedy = 'set the token, or PULUMI_EMULATOR=1 to use the built-in Pulumi emulator (a demo org; nothing reaches Pulumi)';
  if (env.PULUMI_ACCESS_TOKEN !== undefined) return `PULUMI_ACCESS_TOKEN: is empty; ${remedy}`;
  if (env.NODE_ENV === 'production') return `PULUMI_ACCESS_TOKEN: unset with NODE_ENV=production; ${remedy}`;
  return undefined;
}

/**
 * The daemon's configuration: loadConfig, and a refusal (ConfigError) when it would fall back to
 * the built-in emulator unasked (`emulatorRefusal`). The worker and CLI never start the emulator.
 */
export function loadDaemonConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = loadConfig(env);
  const refusal = emulatorRefusal(config, env);
  if (refusal !== undefined) throw new ConfigError([refusal]);
  return config;
}

/**
 * For entry points (`npm start`, `npm run worker`, `npm run cli`, `npm run emulator`): the
 * settings `load` reads, or the list of bad variables on stderr and exit code 2 — never a
 * stack trace.
 */
export function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}

export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  return orExit(() => loadConfig(env));
}

export function loadDaemonConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  return orExit(() => loadDaemonConfig(env));
}

/** Name of the database the embedded Postgres holds. */
export const EMBEDDED_DATABASE = 'pulumi_idp_sync';

/**
 * The embedded Postgres's database, as the daemon starts it when DATABASE_URL is unset; the
 * CLI and worker processes use the same one while the daemon runs.
 */
export function embeddedDatabaseUrl(config: Pick<Config, 'EMBEDDED_PG_PORT'>): string {
  return `postgres://postgres:postgres@127.0.0.1:${config.EMBEDDED_PG_PORT}/${EMBEDDED_DATABASE}`;
}

/** The per-client SCIM rate limit to apply, or `false` when SCIM_RATE_LIMIT_RPS is 0. */
export function scimRateLimit(config: Pick<Config, 'SCIM_RATE_LIMIT_RPS' | 'SCIM_RATE_LIMIT_BURST'>): { perSecond: number; burst: number } | false {
  return config.SCIM_RATE_LIMIT_RPS > 0 ? { perSecond: config.SCIM_RATE_LIMIT_RPS, burst: config.SCIM_RATE_LIMIT_BURST } : false;
}

const SECRET_KEYS = new Set([
  'PULUMI_ACCESS_TOKEN',
  'SCIM_BEARER_TOKEN',
  'ADMIN_API_TOKEN',
  'SESSION_SECRET',
  'SSF_CLIENT_SECRET',
  'DATABASE_URL',
  'REDIS_URL',
]);

/** A loggable view of the config: secrets and URLs that may carry passwords become "set"/"unset". */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = config[key as keyof Config];
    out[key] = SECRET_KEYS.has(key) ? (value === undefined ? 'unset' : 'set') : value;
  }
  return out;
}
