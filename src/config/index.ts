// Environment -> one typed, validated Config; the only module that reads process.env.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors/index.js';

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);

/**
 * ORPHAN_GRACE_MS may not go below this, nor below twice QUERY_TIMEOUT_MS: a file a compaction
 * replaced is deleted that long after, and a query that listed it must have finished by then
 * (src/compaction/gc.ts). Tests that need a shorter grace pass it to the GC functions directly.
 */
export const ORPHAN_GRACE_FLOOR_MS = 60_000;

/**
 * `scheme://user:***@host/db`: the URL with its password masked, for messages and logs. Everything
 * up to the last '@' is taken as user info, so a password holding '@' or '/' is masked whole.
 */
export function maskUrlPassword(text: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text);
  if (!scheme) return text;
  const rest = text.slice(scheme[0].length);
  const at = rest.lastIndexOf('@');
  const colon = rest.indexOf(':');
  if (at < 0 || colon < 0 || colon > at) return text;
  return `${scheme[0]}${rest.slice(0, colon)}:***@${rest.slice(at + 1)}`;
}

/** Masks every `scheme://user:password@` in free text (log messages, error stacks). */
export function maskUrlPasswords(text: string): string {
  return text.replace(/([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@]*@/g, '$1:***@');
}

/** Variables whose value a message never shows: only its length. */
const SECRET_VARIABLES = new Set(['ADMIN_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'JWT_SECRET']);

/** A variable's value as an error message may show it. */
function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return `${name}=""`;
  if (SECRET_VARIABLES.has(name)) return `${name} (hidden, ${value.length} characters)`;
  if (name === 'DATABASE_URL') return `${name}=${JSON.stringify(maskUrlPassword(value))}`;
  return `${name}=${JSON.stringify(value)}`;
}

/** A URL that Node (and so pg) can parse; the message never repeats it (it may hold a password). */
const parsableUrl = (text: string) => {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
};

const booleanFrom = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const EnvSchema = z.object({
  PORT: intFrom(0, 65535).default(4000),
  // Unset: 0.0.0.0, or loopback only when no credential is configured (src/cli/serve.ts).
  HOST: z.string().min(1).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .refine(parsableUrl, 'is not a valid URL (percent-encode special characters in the user and password, e.g. @ as %40)')
    .optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  LAKE_URL: z
    .string()
    .regex(/^(file|s3):\/\//, 'must start with file:// or s3:// (e.g. file:///var/lake or s3://bucket/prefix)')
    .optional(),
  SCHEMA_DIR: z.string().min(1).default('schema'),
  ADMIN_TOKEN: z.string().min(8, 'must be at least 8 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty'], { error: 'must be auto, json or pretty' }).default('auto'),
  EMBEDDED_PG_PORT: intFrom(1, 65535).default(54329),
  S3_ENDPOINT: z.url('must be a URL such as http://127.0.0.1:9000').optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_FORCE_PATH_STYLE: booleanFrom.optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  FLUSH_MAX_ROWS: intFrom(1).default(20_000),
  FLUSH_MAX_AGE_MS: intFrom(1).default(3_600_000),
  FLUSH_CHECK_INTERVAL_MS: intFrom(50).default(1_000),
  ORPHAN_GRACE_MS: z.coerce
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .min(
      ORPHAN_GRACE_FLOOR_MS,
      `must be at least ${ORPHAN_GRACE_FLOOR_MS}: replaced and orphaned lake files are deleted this long after, and a running query or flush may still need them`,
    )
    .default(600_000),
  WORKERS: booleanFrom.default(true),
  QUERY_DEFAULT_LIMIT: intFrom(1).default(100),
  QUERY_MAX_LIMIT: intFrom(1).default(10_000),
  QUERY_TIMEOUT_MS: intFrom(100).default(60_000),
  AGGREGATE_CACHE_ENTRIES: intFrom(0, 100_000).default(64),
  MAX_INSERT_OBJECTS: intFrom(1, 1_000_000).default(50_000),
  LAKE_CACHE_MB: intFrom(1).default(2_048),
  // Postgres caps a jsonb value (the change_log snapshot) at 255 MB; a value must fit in it.
  MAX_VALUE_BYTES: intFrom(1_024, 128 * 1024 * 1024).default(16 * 1024 * 1024),
  COMPACT_MIN_DELTA_FILES: intFrom(1).default(10),
  COMPACT_MAX_DELTA_AGE_MS: intFrom(1).default(86_400_000),
  COMPACT_DIRTY_RATIO: z.coerce.number({ error: 'must be a number' }).min(0, 'must be at least 0').max(1, 'must be at most 1').default(0.05),
  COMPACT_BASE_TARGET_MB: intFrom(1).default(256),
  COMPACT_CHECK_INTERVAL_MS: intFrom(50).default(60_000),
  WORKER_BACKOFF_BASE_MS: intFrom(10).default(1_000),
  WORKER_BACKOFF_MAX_MS: intFrom(10).default(300_000),
  WORKER_BACKOFF_JITTER: z.coerce.number({ error: 'must be a number' }).min(0, 'must be at least 0').max(1, 'must be at most 1').default(0.2),
  PG_RETRY_ATTEMPTS: intFrom(1, 20).default(4),
  JOB_CHECK_INTERVAL_MS: intFrom(100).default(30_000),
  // Bounds of one process whatever a request asks (issue 11): rows, response bytes, parse cache, DuckDB.
  MAX_ROWS_PER_REQUEST: intFrom(1).default(100_000),
  MAX_RESPONSE_BYTES: intFrom(1_024).default(32 * 1024 * 1024),
  DOCUMENT_CACHE_BYTES: intFrom(0).default(4 * 1024 * 1024),
  DOCUMENT_CACHE_MAX_DOCUMENT_BYTES: intFrom(0).default(64 * 1024),
  DUCKDB_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'must be a size such as 512MB or 2GB')
    .default('2GB'),
  // Sized to the machine: on 2 cores more than two queries at once gained nothing (FIELD-NOTES).
  DUCKDB_THREADS: intFrom(1, 256).default(Math.min(256, os.availableParallelism())),
  DUCKDB_MAX_QUERIES: intFrom(1, 64).default(Math.min(64, Math.max(2, os.availableParallelism()))),
  DUCKDB_QUEUE_LENGTH: intFrom(0).default(16),
  DUCKDB_QUEUE_WAIT_MS: intFrom(0).default(10_000),
  // Lake files of 10,000 rows and more held as DuckDB tables (query/file-tables.ts); 0: read from Parquet.
  DUCKDB_FILE_TABLES_BYTES: intFrom(0).default(512 * 1024 * 1024),
  // Authentication (issue 12): Hasura-style JWTs, the admin credential, an optional anonymous role.
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters (an HS256 key of 256 bits)').optional(),
  JWT_JWKS_URL: z.url('must be a URL such as https://issuer.example/.well-known/jwks.json').optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_CLAIMS_NAMESPACE: z.string().min(1).default('https://hasura.io/jwt/claims'),
  JWT_CLOCK_TOLERANCE_S: intFrom(0, 300).default(5),
  JWT_MAX_BYTES: intFrom(256, 1024 * 1024).default(8_192),
  JWT_JWKS_COOLDOWN_MS: intFrom(0).default(30_000),
  ANONYMOUS_ROLE: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a role name (letters, digits, _ and -)').optional(),
  // API limits and web safety (issue 12).
  // Above MAX_VALUE_BYTES' default: a value at that bound, with its JSON quoting, must fit in a request.
  MAX_REQUEST_BYTES: intFrom(1_024).default(32 * 1024 * 1024),
  MAX_DEPTH: intFrom(1, 1_000).default(12),
  MAX_ALIASES: intFrom(1).default(50),
  MAX_TOKENS: intFrom(100).default(20_000),
  MAX_QUERY_COST: intFrom(1).default(20_000),
  MAX_INPUT_DEPTH: intFrom(2, 1_000).default(64),
  STATEMENT_TIMEOUT_MS: intFrom(0).default(60_000),
  PERSISTED_OPERATIONS_FILE: z.string().min(1).optional(),
  INTROSPECTION: booleanFrom.default(true),
  GRAPHIQL: booleanFrom.default(true),
  CORS_ORIGINS: z
    .string()
    .transform((v) => v.split(',').map((o) => o.trim()).filter((o) => o !== ''))
    .pipe(z.array(z.url('must be a comma-separated list of origins such as https://app.example.com').refine((o) => new URL(o).origin === o, 'must be an origin (scheme://host[:port], no path or trailing slash)')))
    .default([]),
});

export interface S3Config {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface Config {
  port: number;
  /** Absent: 0.0.0.0, or 127.0.0.1 when no credential is configured. */
  host?: string;
  /** Absent: the gateway runs an embedded Postgres under dataDir. */
  databaseUrl?: string;
  dataDir: string;
  lakeUrl: string;
  schemaDir: string;
  /** Absent: the admin API refuses every call. */
  adminToken?: string;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** auto: human-readable lines when the log goes to a terminal, JSON lines otherwise. */
  logFormat: z.infer<typeof EnvSchema>['LOG_FORMAT'];
  embeddedPgPort: number;
  s3: S3Config;
  flush: { maxRows: number; maxAgeMs: number; checkIntervalMs: number };
  /** SPEC 5.1: when to compact, the dirty ratio that rewrites a historical file, the base file size. */
  compaction: { minDeltaFiles: number; maxDeltaAgeMs: number; dirtyRatio: number; baseTargetBytes: number; checkIntervalMs: number };
  orphanGraceMs: number;
  workers: boolean;
  /** Bound of the local read cache of S3 lake files, in bytes. */
  lakeCacheBytes: number;
  /** timeoutMs bounds a search's whole life (snapshot to last row); ORPHAN_GRACE_MS stays at least twice it. */
  query: { defaultLimit: number; maxLimit: number; timeoutMs: number; aggregateCacheEntries: number };
  /** Largest accepted attribute value in bytes (a string's UTF-8, a JSON value serialized). */
  maxValueBytes: number;
  /** Rows one insert, set-based update or delete may write. */
  maxInsertObjects: number;
  /** How a failing flush or compaction of an entity waits before its worker tries it again. */
  backoff: { baseMs: number; maxMs: number; jitter: number };
  /** Attempts of idempotent Postgres work (snapshots, manifest reads, a worker's flush or compaction) on transient errors. */
  pgRetry: { attempts: number; baseMs: number };
  /** How often running jobs are checked for a holder that is gone (they are marked failed). */
  jobCheckIntervalMs: number;
  /** What one request may make the process hold: rows across all its fields, bytes of its response. */
  request: { maxRows: number; maxResponseBytes: number };
  /** Parsed documents kept, bounded by the total length of their text; longer documents are not kept. */
  documentCache: { maxBytes: number; maxDocumentBytes: number };
  /** DuckDB's own bounds, and how many searches run in it at once (more wait in a short queue, then BUSY). */
  duckdb: DuckDbSettings;
  auth: AuthConfig;
  webSafety: WebSafetyConfig;
}

/** How requests prove who they are (src/graphql/auth.ts). */
export interface AuthConfig {
  /** HS256 key; exclusive with jwksUrl. */
  jwtSecret?: string;
  /** RS256/ES256/EdDSA keys, fetched and cached; a new kid fetches again (rotation). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  claimsNamespace: string;
  clockToleranceS: number;
  /** A longer Authorization header is refused before it is parsed. */
  maxTokenBytes: number;
  /** The JWKS is fetched at most this often when an unknown kid arrives. */
  jwksCooldownMs: number;
  /** Role of a request without credentials; absent: such requests are refused. */
  anonymousRole?: string;
}

/** API limits and web safety (src/graphql/web-safety.ts). */
export interface WebSafetyConfig {
  maxRequestBytes: number;
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  /** Nesting of objects and lists in one argument or variable. */
  maxInputDepth: number;
  /** Postgres statement_timeout of the connections that serve requests; 0: none. */
  statementTimeoutMs: number;
  /** A JSON file `{ "<sha256 of the text>": "<operation text>" }`: only these operations run (admin exempt). */
  persistedOperationsFile?: string;
  introspection: boolean;
  graphiql: boolean;
  /** Origins whose browser pages may call the API (with credentials); empty: none besides the gateway's own. */
  corsOrigins: string[];
}

export interface DuckDbSettings {
  memoryLimit: string;
  threads: number;
  maxQueries: number;
  queueLength: number;
  queueWaitMs: number;
  /** Bound of the DuckDB tables of large lake files (their bytes as DuckDB counts them); 0: none. */
  fileTablesBytes: number;
}

/** Parses the environment; throws ConfigError naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in EnvSchema.shape && value !== undefined && value !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      return `${shownValue(name, present[name])}: ${issue.message}`;
    });
    throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.QUERY_DEFAULT_LIMIT > e.QUERY_MAX_LIMIT) {
    throw new ConfigError(
      `invalid environment:\n  QUERY_DEFAULT_LIMIT=${e.QUERY_DEFAULT_LIMIT}: must not exceed QUERY_MAX_LIMIT=${e.QUERY_MAX_LIMIT}`,
    );
  }
  if (e.ORPHAN_GRACE_MS < 2 * e.QUERY_TIMEOUT_MS) {
    throw new ConfigError(
      `invalid environment:\n  ORPHAN_GRACE_MS=${e.ORPHAN_GRACE_MS}: must be at least twice QUERY_TIMEOUT_MS=${e.QUERY_TIMEOUT_MS}, ` +
        'or GC may delete a replaced lake file a running query still reads',
    );
  }
  if (e.WORKER_BACKOFF_MAX_MS < e.WORKER_BACKOFF_BASE_MS) {
    throw new ConfigError(
      `invalid environment:\n  WORKER_BACKOFF_MAX_MS=${e.WORKER_BACKOFF_MAX_MS}: must be at least WORKER_BACKOFF_BASE_MS=${e.WORKER_BACKOFF_BASE_MS}`,
    );
  }
  if (e.MAX_REQUEST_BYTES <= e.MAX_VALUE_BYTES) {
    throw new ConfigError(
      `invalid environment:\n  MAX_REQUEST_BYTES=${e.MAX_REQUEST_BYTES}: must exceed MAX_VALUE_BYTES=${e.MAX_VALUE_BYTES}, or a value the writes accept cannot be sent`,
    );
  }
  if (e.JWT_SECRET && e.JWT_JWKS_URL) {
    throw new ConfigError('invalid environment:\n  JWT_SECRET and JWT_JWKS_URL: set one of them (an HS256 key, or the URL of the issuer\'s keys), not both');
  }
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir,
    lakeUrl: e.LAKE_URL ?? `file://${path.join(dataDir, 'lake')}`,
    schemaDir: path.resolve(e.SCHEMA_DIR),
    adminToken: e.ADMIN_TOKEN,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    s3: {
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      forcePathStyle: e.S3_FORCE_PATH_STYLE ?? e.S3_ENDPOINT !== undefined,
      accessKeyId: e.AWS_ACCESS_KEY_ID,
      secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
    },
    flush: { maxRows: e.FLUSH_MAX_ROWS, maxAgeMs: e.FLUSH_MAX_AGE_MS, checkIntervalMs: e.FLUSH_CHECK_INTERVAL_MS },
    compaction: {
      minDeltaFiles: e.COMPACT_MIN_DELTA_FILES,
      maxDeltaAgeMs: e.COMPACT_MAX_DELTA_AGE_MS,
      dirtyRatio: e.COMPACT_DIRTY_RATIO,
      baseTargetBytes: e.COMPACT_BASE_TARGET_MB * 1024 * 1024,
      checkIntervalMs: e.COMPACT_CHECK_INTERVAL_MS,
    },
    orphanGraceMs: e.ORPHAN_GRACE_MS,
    lakeCacheBytes: e.LAKE_CACHE_MB * 1024 * 1024,
    workers: e.WORKERS,
    query: { defaultLimit: e.QUERY_DEFAULT_LIMIT, maxLimit: e.QUERY_MAX_LIMIT, timeoutMs: e.QUERY_TIMEOUT_MS, aggregateCacheEntries: e.AGGREGATE_CACHE_ENTRIES },
    maxValueBytes: e.MAX_VALUE_BYTES,
    maxInsertObjects: e.MAX_INSERT_OBJECTS,
    backoff: { baseMs: e.WORKER_BACKOFF_BASE_MS, maxMs: e.WORKER_BACKOFF_MAX_MS, jitter: e.WORKER_BACKOFF_JITTER },
    pgRetry: { attempts: e.PG_RETRY_ATTEMPTS, baseMs: 50 },
    jobCheckIntervalMs: e.JOB_CHECK_INTERVAL_MS,
    request: { maxRows: e.MAX_ROWS_PER_REQUEST, maxResponseBytes: e.MAX_RESPONSE_BYTES },
    documentCache: { maxBytes: e.DOCUMENT_CACHE_BYTES, maxDocumentBytes: e.DOCUMENT_CACHE_MAX_DOCUMENT_BYTES },
    duckdb: {
      memoryLimit: e.DUCKDB_MEMORY_LIMIT,
      threads: e.DUCKDB_THREADS,
      maxQueries: e.DUCKDB_MAX_QUERIES,
      queueLength: e.DUCKDB_QUEUE_LENGTH,
      queueWaitMs: e.DUCKDB_QUEUE_WAIT_MS,
      fileTablesBytes: e.DUCKDB_FILE_TABLES_BYTES,
    },
    auth: {
      jwtSecret: e.JWT_SECRET,
      jwksUrl: e.JWT_JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      claimsNamespace: e.JWT_CLAIMS_NAMESPACE,
      clockToleranceS: e.JWT_CLOCK_TOLERANCE_S,
      maxTokenBytes: e.JWT_MAX_BYTES,
      jwksCooldownMs: e.JWT_JWKS_COOLDOWN_MS,
      anonymousRole: e.ANONYMOUS_ROLE,
    },
    webSafety: {
      maxRequestBytes: e.MAX_REQUEST_BYTES,
      maxDepth: e.MAX_DEPTH,
      maxAliases: e.MAX_ALIASES,
      maxTokens: e.MAX_TOKENS,
      maxCost: e.MAX_QUERY_COST,
      maxInputDepth: e.MAX_INPUT_DEPTH,
      statementTimeoutMs: e.STATEMENT_TIMEOUT_MS,
      persistedOperationsFile: e.PERSISTED_OPERATIONS_FILE ? path.resolve(e.PERSISTED_OPERATIONS_FILE) : undefined,
      introspection: e.INTROSPECTION,
      graphiql: e.GRAPHIQL,
      corsOrigins: e.CORS_ORIGINS,
    },
  };
}
