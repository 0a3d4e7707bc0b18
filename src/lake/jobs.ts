// The jobs table: every flush, compaction and garbage collection run leaves one row.
import type { EntitySchema } from '../catalog/index.js';
import type { PgPool } from '../oltp/index.js';

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

export async function startJob(
  pool: PgPool,
  kind: JobKind,
  entity: Pick<EntitySchema, 'project' | 'id'> | null,
  trigger: string,
): Promise<bigint> {
  const { rows } = await pool.query<{ job_id: bigint }>(
    `INSERT INTO lake_job (kind, project, schema_id, trigger, status) VALUES ($1, $2, $3, $4, 'running') RETURNING job_id`,
    [kind, entity?.project ?? null, entity?.id ?? null, trigger],
  );
  return rows[0]!.job_id;
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

export async function recentJobs(pool: PgPool, options: { limit: number; kind?: JobKind }): Promise<Job[]> {
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
    `SELECT * FROM lake_job WHERE ($2::text IS NULL OR kind = $2) ORDER BY job_id DESC LIMIT $1`,
    [options.limit, options.kind ?? null],
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
