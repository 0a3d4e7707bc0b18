// The manifest: which lake files are live. Every change of the live set is one Postgres transaction.
import type { EntitySchema } from '../catalog/index.js';
import { ConflictError } from '../errors/index.js';
import { listedChangeBatch, listedChangesSql, type ChangeBatch, type ListedChange, type ListedChangesLimit, type PgClient, type PgPool } from '../oltp/index.js';
import type { FileKind } from './layout.js';

export interface ManifestFile {
  fileId: bigint;
  project: string;
  schemaId: number;
  path: string;
  kind: FileKind;
  level: number;
  rowIdMin: string;
  rowIdMax: string;
  slotMin: bigint;
  slotMax: bigint;
  rowCount: number;
  bytes: number;
  etag: string | null;
  columns: string[];
  addedAt: Date;
  removedAt: Date | null;
}

export type NewManifestFile = Omit<ManifestFile, 'fileId' | 'addedAt' | 'removedAt'>;

interface ManifestRow {
  file_id: bigint;
  project: string;
  schema_id: number;
  path: string;
  kind: FileKind;
  level: number;
  row_id_min: string;
  row_id_max: string;
  time_slot_min: bigint;
  time_slot_max: bigint;
  row_count: bigint;
  bytes: bigint;
  etag: string | null;
  columns: string[];
  added_at: Date;
  removed_at: Date | null;
}

function fromRow(r: ManifestRow): ManifestFile {
  return {
    fileId: r.file_id,
    project: r.project,
    schemaId: r.schema_id,
    path: r.path,
    kind: r.kind,
    level: r.level,
    rowIdMin: r.row_id_min,
    rowIdMax: r.row_id_max,
    slotMin: r.time_slot_min,
    slotMax: r.time_slot_max,
    rowCount: Number(r.row_count),
    bytes: Number(r.bytes),
    etag: r.etag,
    columns: r.columns,
    addedAt: r.added_at,
    removedAt: r.removed_at,
  };
}

type Queryable = Pick<PgPool | PgClient, 'query'>;

/** Live files of an entity, oldest first. */
export async function liveFiles(db: Queryable, entity: Pick<EntitySchema, 'project' | 'id'>): Promise<ManifestFile[]> {
  const { rows } = await db.query<ManifestRow>(
    `SELECT * FROM lake_file WHERE project = $1 AND schema_id = $2 AND removed_at IS NULL ORDER BY file_id`,
    [entity.project, entity.id],
  );
  return rows.map(fromRow);
}

export interface EntityTierListing {
  project: string;
  schemaId: number;
  /** Live files, oldest first. */
  files: ManifestFile[];
  /** The newest slot in the change_log buffer; null when it is empty. */
  bufferMax: bigint | null;
  /** The buffered changes above the slot asked (ListOptions), all of them; null when not asked or past the limit. */
  changes: ListedChanges | null;
}

/** Buffered changes a listing carried, in its snapshot: every one in (above, bufferMax]. */
export interface ListedChanges {
  above: bigint;
  batch: ChangeBatch;
}

export interface ListOptions {
  /**
   * Per entity, the slot above which the listing also carries its buffered changes (null: none),
   * when they are within `changesLimit`: the hot mirror's top-up without a transaction of its own.
   */
  changesAbove: readonly (bigint | null)[];
  changesLimit: ListedChangesLimit;
}

/** ManifestRow's columns, named: a prepared statement's `f.*` would fail ("cached plan must not change result type") once a migration adds one. */
const MANIFEST_COLUMNS = ['file_id', 'project', 'schema_id', 'path', 'kind', 'level', 'row_id_min', 'row_id_max', 'time_slot_min', 'time_slot_max', 'row_count', 'bytes', 'etag', 'columns', 'added_at', 'removed_at'] as const satisfies readonly (keyof ManifestRow)[];

/**
 * The listing of `count` entities. The entities first, their laterals once each (a planner may
 * otherwise run one per file row); the changes only on an entity's first row. The entities are a
 * VALUES row each, not an unnest of arrays: Postgres then estimates a generic plan as it does a
 * custom one and, prepared, plans the statement once per connection and entity count (planning
 * 0.015 against 0.32-0.43 ms, executing 0.10-0.23 against 0.11-0.15; an unnest of parameters
 * reads as 100 rows, so every execution was planned anew).
 */
function listTiersSql(count: number): string {
  const entities = Array.from({ length: count }, (_, i) => `($${3 * i + 1}::text, $${3 * i + 2}::smallint, $${3 * i + 3}::bigint)`);
  return `WITH e AS MATERIALIZED (
       SELECT u.project, u.schema_id, u.changes_above, b.buffer_max, ch.changes
         FROM (VALUES ${entities.join(', ')}) AS u (project, schema_id, changes_above)
        CROSS JOIN LATERAL (SELECT max(c.time_slot) AS buffer_max FROM change_log c
                             WHERE c.project = u.project AND c.schema_id = u.schema_id) AS b
        CROSS JOIN LATERAL (${listedChangesSql('u', `$${3 * count + 1}::int`, `$${3 * count + 2}::bigint`)}) AS ch
     )
     SELECT e.project AS entity_project, e.schema_id AS entity_schema_id, e.buffer_max,
            CASE WHEN row_number() OVER (PARTITION BY e.project, e.schema_id ORDER BY f.file_id) = 1 THEN e.changes END AS changes,
            ${MANIFEST_COLUMNS.map((c) => `f.${c}`).join(', ')}
       FROM e
       LEFT JOIN lake_file f ON f.project = e.project AND f.schema_id = e.schema_id AND f.removed_at IS NULL
      ORDER BY f.file_id`;
}
const LIST_TIERS_SQL = new Map<number, string>();

/**
 * Live files and the newest buffered slot of several entities, in ONE statement: a statement sees
 * one snapshot, so the listing and the buffer's high-water mark agree (DESIGN 4.5) in one round
 * trip. With `options`, the buffered changes above a slot too, in the same snapshot.
 */
export async function listTiers(db: Queryable, entities: readonly Pick<EntitySchema, 'project' | 'id'>[], options?: ListOptions): Promise<EntityTierListing[]> {
  type Row = ManifestRow & { entity_project: string; entity_schema_id: number; buffer_max: bigint | null; changes: ListedChange[] | null };
  if (entities.length === 0) return [];
  let text = LIST_TIERS_SQL.get(entities.length);
  if (text === undefined) LIST_TIERS_SQL.set(entities.length, (text = listTiersSql(entities.length)));
  // Prepared once per connection and entity count (a named statement; see listTiersSql).
  const { rows } = await db.query<Row>({
    name: `ltbase_list_tiers_${entities.length}`,
    text,
    values: [
      ...entities.flatMap((e, i) => [e.project, e.id, options?.changesAbove[i]?.toString() ?? null]),
      options?.changesLimit.rows ?? 0,
      options?.changesLimit.bytes ?? 0,
    ],
  });
  return entities.map((entity, i) => {
    const own = rows.filter((r) => r.entity_project === entity.project && r.entity_schema_id === entity.id);
    const changes = own.find((r) => r.changes !== null)?.changes ?? null;
    const above = options?.changesAbove[i] ?? null;
    return {
      project: entity.project,
      schemaId: entity.id,
      files: own.filter((r) => r.file_id !== null).map(fromRow),
      bufferMax: own[0]?.buffer_max ?? null,
      changes: changes === null || above === null ? null : { above, batch: listedChangeBatch(entity.id, changes) },
    };
  });
}

/** Every path the manifest still names (live, or removed but not yet deleted from the store). */
export async function knownPaths(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query<{ path: string }>('SELECT path FROM lake_file');
  return new Set(rows.map((r) => r.path));
}

/** Which of `paths` the manifest names (live, or removed but not yet deleted from the store). */
export async function namedPaths(db: Queryable, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const { rows } = await db.query<{ path: string }>('SELECT path FROM lake_file WHERE path = ANY($1::text[])', [paths]);
  return new Set(rows.map((r) => r.path));
}

/** Adds a live file and the row_ids of its updates and deletes (see lake_file_changed). */
export async function addFile(client: PgClient, file: NewManifestFile, changedRowIds: readonly string[] = []): Promise<bigint> {
  const { rows } = await client.query<{ file_id: bigint }>(
    `INSERT INTO lake_file (project, schema_id, path, kind, level, row_id_min, row_id_max, time_slot_min, time_slot_max,
                            row_count, bytes, etag, columns)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING file_id`,
    [
      file.project,
      file.schemaId,
      file.path,
      file.kind,
      file.level,
      file.rowIdMin,
      file.rowIdMax,
      file.slotMin.toString(),
      file.slotMax.toString(),
      file.rowCount,
      file.bytes,
      file.etag,
      file.columns,
    ],
  );
  const fileId = rows[0]!.file_id;
  if (changedRowIds.length > 0) {
    await client.query('INSERT INTO lake_file_changed (file_id, row_id) SELECT $1, unnest($2::uuid[])', [
      fileId.toString(),
      changedRowIds,
    ]);
  }
  return fileId;
}

export interface FileSwap {
  /** Live files the new ones replace. */
  remove: readonly bigint[];
  /** New files with the row_ids each lists as changed (see lake_file_changed). */
  add: readonly { file: NewManifestFile; changedRowIds: readonly string[] }[];
}

/**
 * Replaces live files by new ones inside the caller's transaction: the atomic swap of SPEC 5. Fails
 * with a ConflictError, changing nothing, when a file to remove is no longer live.
 */
export async function swapFiles(client: PgClient, swap: FileSwap): Promise<bigint[]> {
  const ids = swap.remove.map((id) => id.toString());
  const { rowCount } = await client.query('UPDATE lake_file SET removed_at = now() WHERE file_id = ANY($1::bigint[]) AND removed_at IS NULL', [ids]);
  if (rowCount !== ids.length) {
    throw new ConflictError(`lake swap: ${ids.length - (rowCount ?? 0)} of the ${ids.length} files it replaces are no longer live`);
  }
  const added: bigint[] = [];
  for (const { file, changedRowIds } of swap.add) added.push(await addFile(client, file, changedRowIds));
  return added;
}

/**
 * Files removed from the live set more than `graceMs` before `now` (default: the database's clock,
 * the one removed_at was taken from, so no process's clock skew shortens the grace).
 */
export async function removedBefore(db: Queryable, graceMs: number, now?: Date): Promise<{ fileId: bigint; path: string }[]> {
  const { rows } = await db.query<{ file_id: bigint; path: string }>(
    `SELECT file_id, path FROM lake_file
      WHERE removed_at < coalesce($1::timestamptz, now()) - $2 * interval '1 millisecond' ORDER BY file_id`,
    [now ?? null, graceMs],
  );
  return rows.map((r) => ({ fileId: r.file_id, path: r.path }));
}

/** Deletes removed files' manifest rows (and their changed sets) once their objects are gone. */
export async function forgetRemovedFiles(db: Queryable, fileIds: readonly bigint[]): Promise<void> {
  await db.query('DELETE FROM lake_file WHERE file_id = ANY($1::bigint[]) AND removed_at IS NOT NULL', [fileIds.map(String)]);
}

/** Every file id the manifest still names, live or removed. */
export async function knownFileIds(db: Queryable): Promise<Set<bigint>> {
  const { rows } = await db.query<{ file_id: bigint }>('SELECT file_id FROM lake_file');
  return new Set(rows.map((r) => r.file_id));
}

/**
 * The row_ids of a file's updates and deletes (a file's set never changes once it is added), or
 * null when the manifest no longer names the file: its set is gone too, and an empty answer would
 * wrongly say it has none.
 */
export async function changedRowIdsOf(db: Queryable, fileId: bigint): Promise<string[] | null> {
  const { rows } = await db.query<{ row_id: string | null }>(
    'SELECT c.row_id FROM lake_file f LEFT JOIN lake_file_changed c USING (file_id) WHERE f.file_id = $1',
    [fileId.toString()],
  );
  if (rows.length === 0) return null;
  return rows.filter((r) => r.row_id !== null).map((r) => r.row_id!);
}

export interface LakeFileTotals {
  project: string;
  schemaId: number;
  kind: FileKind;
  files: number;
  bytes: number;
  rows: number;
}

export async function liveFileTotals(db: Queryable): Promise<LakeFileTotals[]> {
  const { rows } = await db.query<{ project: string; schema_id: number; kind: FileKind; files: string; bytes: string; rows: string }>(
    `SELECT project, schema_id, kind, count(*) AS files, sum(bytes) AS bytes, sum(row_count) AS rows
       FROM lake_file WHERE removed_at IS NULL GROUP BY project, schema_id, kind`,
  );
  return rows.map((r) => ({
    project: r.project,
    schemaId: r.schema_id,
    kind: r.kind,
    files: Number(r.files),
    bytes: Number(r.bytes),
    rows: Number(r.rows),
  }));
}
