// Pending uploads: the objects a flush or compaction writes, recorded before they are uploaded and
// turned into manifest rows by its commit, so no lake object is ever unaccounted for while its job
// lives (the GC's reasoning is in src/compaction/gc.ts).
import type { EntitySchema } from '../catalog/index.js';
import { ConflictError } from '../errors/index.js';
import type { PgClient, PgPool } from '../oltp/index.js';
import type { ObjectStore, PutResult } from './store/index.js';

type Queryable = Pick<PgPool | PgClient, 'query'>;

export interface PendingOwner {
  entity: Pick<EntitySchema, 'project' | 'id'>;
  kind: 'flush' | 'compact';
  jobId: bigint;
}

/**
 * Records `paths` as pending in a transaction of their own (committed before any upload starts),
 * then uploads each local file under its path.
 */
export async function uploadPending(
  pool: PgPool,
  store: ObjectStore,
  owner: PendingOwner,
  files: readonly { path: string; localFile: string }[],
): Promise<PutResult[]> {
  await pool.query(
    `INSERT INTO lake_pending_upload (path, project, schema_id, job_id, kind) SELECT unnest($1::text[]), $2, $3, $4, $5`,
    [files.map((f) => f.path), owner.entity.project, owner.entity.id, owner.jobId.toString(), owner.kind],
  );
  const stored: PutResult[] = [];
  for (const file of files) stored.push(await store.putFile(file.path, file.localFile));
  return stored;
}

/**
 * Inside the manifest transaction that makes `paths` live files: ends their pending state, and
 * proves each object is in the store as uploaded. Runs last before COMMIT, after any wait for row
 * locks, so nothing is committed naming an object that is not there.
 */
export async function commitPending(
  client: PgClient,
  store: ObjectStore,
  what: string,
  uploads: readonly { path: string; bytes: number; etag: string | null }[],
): Promise<void> {
  const paths = uploads.map((u) => u.path);
  const { rows } = await client.query<{ path: string }>('DELETE FROM lake_pending_upload WHERE path = ANY($1::text[]) RETURNING path', [paths]);
  if (rows.length !== paths.length) {
    const claimed = new Set(rows.map((r) => r.path));
    const lost = paths.filter((p) => !claimed.has(p)).join(', ');
    throw new ConflictError(`${what}: ${lost} is no longer a pending upload (collected as an orphan?); nothing was committed`);
  }
  for (const upload of uploads) {
    const found = await store.head(upload.path);
    if (!found || found.bytes !== upload.bytes || (found.etag !== null && upload.etag !== null && found.etag !== upload.etag)) {
      throw new ConflictError(
        `${what}: the uploaded file ${upload.path} is not in the lake store (${store.description}) as uploaded` +
          `${found ? ` (${found.bytes} bytes, expected ${upload.bytes})` : ''}; nothing was committed`,
      );
    }
  }
}

export interface PendingUpload {
  path: string;
  jobId: bigint;
  kind: 'flush' | 'compact';
  createdAt: Date;
}

/** The pending uploads of an entity recorded more than `graceMs` before `now` (default: the database's clock). */
export async function pendingUploadsBefore(
  db: Queryable,
  entity: Pick<EntitySchema, 'project' | 'id'>,
  graceMs: number,
  now?: Date,
): Promise<{ stale: PendingUpload[]; young: Set<string> }> {
  const { rows } = await db.query<{ path: string; job_id: bigint; kind: 'flush' | 'compact'; created_at: Date; stale: boolean }>(
    `SELECT path, job_id, kind, created_at,
            created_at < coalesce($3::timestamptz, now()) - $4 * interval '1 millisecond' AS stale
       FROM lake_pending_upload WHERE project = $1 AND schema_id = $2`,
    [entity.project, entity.id, now ?? null, graceMs],
  );
  return {
    stale: rows.filter((r) => r.stale).map((r) => ({ path: r.path, jobId: r.job_id, kind: r.kind, createdAt: r.created_at })),
    young: new Set(rows.filter((r) => !r.stale).map((r) => r.path)),
  };
}

/** Forgets pending uploads whose owner is gone (their objects, if any, are deleted first). */
export async function forgetPendingUploads(db: Queryable, paths: readonly string[]): Promise<void> {
  if (paths.length > 0) await db.query('DELETE FROM lake_pending_upload WHERE path = ANY($1::text[])', [paths]);
}
