// The jobs table: every flush, compaction and garbage collection run leaves one row.
import type { EntitySchema } from '../catalog/index.js';
import type { PgClient, PgPool } from '../oltp/index.js';
import { LOCK_CLASS } from './lock.js';

export type JobKind = 'flush' | 'compact' | 'gc' | 'rebuild';
export type JobStatus = 'running' | 'done' | 'skipped' | 'failed';

export interface Job {
  jobId: bigint;
  kind: JobKind;
  project: string | null;
  schemaId: number | null;
  trigger: string;
  status: JobStatus;
  startedAt: Date;
  finishedAt: Date | null;
  details: Record<string, unknown>;
  error: string | null;
}

/**
 * Records a running job. `holder` is the connection that holds the entity's lock for the job (from
 * withSchemaLock): its backend pid is kept, so a job whose session is gone can be marked failed.
 */
export async function startJob(
  holder: PgClient,
  kind: JobKind,
  entity: Pick<EntitySchema, 'project' | 'id'> | null,
  trigger: string,
): Promise<bigint> {
  const { rows } = await holder.query<{ job_id: bigint }>(
    `INSERT INTO lake_job (kind, project, schema_id, trigger, status, holder_pid)
     VALUES ($1, $2, $3, $4, 'running', pg_backend_pid()) RETURNING job_id`,
    [kind, entity?.project ?? null, entity?.id ?? null, trigger],
  );
  return rows[0]!.job_id;
}

export const DEAD_JOB_ERROR = 'the process running this job ended (its Postgres session is gone or no longer holds the lock) before the job finished';

/**
 * Marks failed every running flush, compaction or rebuild (which holds the flush lock too) whose holder session no longer holds the entity's
 * lock in this database: its process died (or lost its connection), so it can never commit. A job
 * finishes before its lock is released, and a job finishing meanwhile is re-checked by the UPDATE
 * (its row is no longer 'running'), so a live job is never marked. Returns the jobs marked.
 */
export async function failDeadJobs(pool: PgPool): Promise<{ jobId: bigint; kind: JobKind; project: string; schemaId: number }[]> {
  const { rows } = await pool.query<{ job_id: bigint; kind: JobKind; project: string; schema_id: number }>(
    `UPDATE lake_job j SET status = 'failed', finished_at = now(), error = $3
      WHERE j.status = 'running' AND j.kind IN ('flush', 'compact', 'rebuild') AND j.project IS NOT NULL
        AND NOT EXISTS (
          SELECT 1 FROM pg_locks l
           WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND l.classid = (CASE j.kind WHEN 'compact' THEN $2::int ELSE $1::int END)::oid
             AND l.objid = hashtext(j.project || '/' || j.schema_id)::oid
             AND (j.holder_pid IS NULL OR l.pid = j.holder_pid))
      RETURNING j.job_id, j.kind, j.project, j.schema_id`,
    [LOCK_CLASS.flush, LOCK_CLASS.compact, DEAD_JOB_ERROR],
  );
  return rows.map((r) => ({ jobId: r.job_id, kind: r.kind, project: r.project, schemaId: r.schema_id }));
}

export async function finishJob(
  pool: PgPool,
  jobId: bigint,
  status: Exclude<JobStatus, 'running'>,
  details: Record<string, unknown>,
  error?: string,
): Promise<void> {
  await pool.query(
    `UPDATE lake_job SET status = $2, finished_at = now(), details = $3, error = $4 WHERE job_id = $1`,
    [jobId, status, JSON.stringify(details, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), error ?? null],
  );
}

/** The newest jobs, of one kind and one project when given (a project's admin endpoint sees its own). */
export async function recentJobs(pool: PgPool, options: { limit: number; kind?: JobKind; project?: string }): Promise<Job[]> {
  const { rows } = await pool.query<{
    job_id: bigint;
    kind: JobKind;
    project: string | null;
    schema_id: number | null;
    trigger: string;
    status: JobStatus;
    started_at: Date;
    finished_at: Date | null;
    details: Record<string, unknown>;
    error: string | null;
  }>(
    `SELECT * FROM lake_job WHERE ($2::text IS NULL OR kind = $2) AND ($3::text IS NULL OR project = $3) ORDER BY job_id DESC LIMIT $1`,
    [options.limit, options.kind ?? null, options.project ?? null],
  );
  return rows.map((r) => ({
    jobId: r.job_id,
    kind: r.kind,
    project: r.project,
    schemaId: r.schema_id,
    trigger: r.trigger,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    details: r.details,
    error: r.error,
  }));
}

/** When each (project, schema) last finished a job of `kind` successfully. */
export async function lastFinished(pool: PgPool, kind: JobKind): Promise<Map<string, Date>> {
  const { rows } = await pool.query<{ project: string; schema_id: number; at: Date }>(
    `SELECT project, schema_id, max(finished_at) AS at FROM lake_job
      WHERE kind = $1 AND status = 'done' AND project IS NOT NULL GROUP BY project, schema_id`,
    [kind],
  );
  return new Map(rows.map((r) => [`${r.project}/${r.schema_id}`, r.at]));
}

export interface JobFailures {
  kind: JobKind;
  project: string;
  schemaId: number;
  /** Failed jobs since the last one that succeeded (or found nothing to do). */
  consecutive: number;
  lastError: string | null;
  lastErrorAt: Date | null;
}

/** Per (kind, project, schema): the last failed job, and how many failed since the last success. */
export async function jobFailures(pool: PgPool): Promise<JobFailures[]> {
  const { rows } = await pool.query<{ kind: JobKind; project: string; schema_id: number; consecutive: number; error: string | null; at: Date | null }>(
    `WITH ok AS (
       SELECT kind, project, schema_id, max(job_id) AS last_ok FROM lake_job
        WHERE status IN ('done', 'skipped') AND project IS NOT NULL GROUP BY kind, project, schema_id
     ), failed AS (
       SELECT j.kind, j.project, j.schema_id,
              count(*) FILTER (WHERE j.job_id > coalesce(ok.last_ok, 0))::int AS consecutive,
              max(j.job_id) AS last_failed
         FROM lake_job j LEFT JOIN ok USING (kind, project, schema_id)
        WHERE j.status = 'failed' AND j.project IS NOT NULL GROUP BY j.kind, j.project, j.schema_id
     )
     SELECT f.kind, f.project, f.schema_id, f.consecutive, j.error, coalesce(j.finished_at, j.started_at) AS at
       FROM failed f JOIN lake_job j ON j.job_id = f.last_failed`,
  );
  return rows.map((r) => ({ kind: r.kind, project: r.project, schemaId: r.schema_id, consecutive: r.consecutive, lastError: r.error, lastErrorAt: r.at }));
}
