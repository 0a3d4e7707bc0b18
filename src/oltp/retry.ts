// Retries of idempotent Postgres work on transient errors (serialization, deadlock, a lost or
// refused connection), with exponential backoff. Never wrap a write that is not idempotent: a
// connection lost at COMMIT leaves its outcome unknown, and only work that is exactly-once by
// construction (a snapshot read, a flush, a compaction) may simply run again.

export interface PgRetrySettings {
  /** Attempts in all, the first included (1: no retry). */
  attempts: number;
  /** Wait before the first retry; doubled for each further one, with jitter. */
  baseMs: number;
}

export const DEFAULT_PG_RETRY: PgRetrySettings = { attempts: 4, baseMs: 50 };

// 40001 serialization_failure, 40P01 deadlock_detected, 57P01 admin_shutdown (pg_terminate_backend),
// 57P02 crash_shutdown, 57P03 cannot_connect_now (a server starting or in recovery), class 08
// connection exceptions.
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03']);
const TRANSIENT_NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);
// node-postgres reports a connection closed under it without a code.
const TRANSIENT_MESSAGES = [/Connection terminated/i, /not queryable/i, /Client was closed/i];

/** Whether `error` (or an error it wraps) is a Postgres failure that may pass on a new attempt. */
export function isTransientPgError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08') || TRANSIENT_NODE_CODES.has(code))) return true;
    const message = e instanceof Error ? e.message : '';
    if (TRANSIENT_MESSAGES.some((m) => m.test(message))) return true;
  }
  return false;
}

/** Runs `work`, again after a transient Postgres error, up to `settings.attempts` times in all. */
export async function retryTransient<T>(
  work: (attempt: number) => Promise<T>,
  settings: PgRetrySettings = DEFAULT_PG_RETRY,
  onRetry?: (error: unknown, attempt: number, waitMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= settings.attempts || !isTransientPgError(error)) throw error;
      const waitMs = Math.round(settings.baseMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
      onRetry?.(error, attempt, waitMs);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
