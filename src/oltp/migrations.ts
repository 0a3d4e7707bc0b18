// Versioned, idempotent migrations of the OLTP store, run at start under an advisory lock.
import type { Logger } from 'pino';
import type { PgPool } from './pool.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

// Append only: a released migration is never edited, a change is a new version.
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'eav store, change_log and time_slot clock',
    sql: `
      -- Attribute registry: stable ids for the catalog's attributes, as an EAV system keeps them.
      CREATE TABLE eav_attribute (
        attribute_id serial PRIMARY KEY,
        project text NOT NULL,
        schema_id smallint NOT NULL,
        name text NOT NULL,
        type text NOT NULL,
        UNIQUE (project, schema_id, name)
      );
      -- Entity header: one row per row_id, the current version's slot and soft-delete mark.
      CREATE TABLE eav_entity (
        row_id uuid PRIMARY KEY,
        project text NOT NULL,
        schema_id smallint NOT NULL,
        time_slot bigint NOT NULL,
        deleted_at bigint,
        created_at bigint NOT NULL
      );
      CREATE INDEX eav_entity_by_schema ON eav_entity (project, schema_id, row_id);
      -- One row per (entity, attribute) with a value; absent attributes have no row. No foreign
      -- keys: the writer adds header and values in one transaction, and FK triggers were measured
      -- at 60% of a bulk insert's time.
      CREATE TABLE eav_value (
        row_id uuid NOT NULL,
        attribute_id integer NOT NULL,
        v_text text,
        v_int bigint,
        v_float double precision,
        v_bool boolean,
        v_ts timestamptz,
        v_date date,
        v_uuid uuid,
        v_json jsonb,
        PRIMARY KEY (row_id, attribute_id)
      );
      CREATE INDEX eav_value_by_ref ON eav_value (attribute_id, v_uuid) WHERE v_uuid IS NOT NULL;
      -- Per (project, schema) clock: its row lock, held to commit, makes commit order slot order.
      CREATE TABLE time_slot_clock (
        project text NOT NULL,
        schema_id smallint NOT NULL,
        last bigint NOT NULL,
        PRIMARY KEY (project, schema_id)
      );
      -- SPEC 3.1: every change, captured in the writing transaction; the lake's hot buffer.
      CREATE TABLE change_log (
        project text NOT NULL,
        schema_id smallint NOT NULL,
        time_slot bigint NOT NULL,
        row_id uuid NOT NULL,
        deleted_at bigint,
        snapshot jsonb NOT NULL,
        PRIMARY KEY (project, schema_id, time_slot)
      );
    `,
  },
  {
    version: 2,
    name: 'lake manifest and jobs',
    sql: `
      -- The source of truth for which lake files exist (DESIGN 3): a file is live while removed_at
      -- is null; every change of the live set is one transaction on this table.
      CREATE TABLE lake_file (
        file_id bigserial PRIMARY KEY,
        project text NOT NULL,
        schema_id smallint NOT NULL,
        path text NOT NULL UNIQUE,
        kind text NOT NULL CHECK (kind IN ('delta', 'base')),
        level smallint NOT NULL,
        row_id_min uuid NOT NULL,
        row_id_max uuid NOT NULL,
        time_slot_min bigint NOT NULL,
        time_slot_max bigint NOT NULL,
        row_count bigint NOT NULL,
        bytes bigint NOT NULL,
        etag text,
        columns text[] NOT NULL,
        added_at timestamptz NOT NULL DEFAULT now(),
        removed_at timestamptz
      );
      CREATE INDEX lake_file_live ON lake_file (project, schema_id) WHERE removed_at IS NULL;
      -- One row per flush, compaction or garbage collection run, for the admin API and debugging.
      CREATE TABLE lake_job (
        job_id bigserial PRIMARY KEY,
        kind text NOT NULL,
        project text,
        schema_id smallint,
        trigger text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'done', 'skipped', 'failed')),
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        details jsonb NOT NULL DEFAULT '{}',
        error text
      );
      CREATE INDEX lake_job_recent ON lake_job (kind, project, schema_id, started_at DESC);
    `,
  },
  {
    version: 3,
    name: 'change kinds and per-file changed rows',
    sql: `
      -- What each change did (c insert, u update, d delete, as CDC logs say). Rows captured before
      -- this column existed count as updates, the answer that is never wrong (see lake_file_changed).
      ALTER TABLE change_log ADD COLUMN op text NOT NULL DEFAULT 'u' CHECK (op IN ('c', 'u', 'd'));
      -- Per lake file, the row_ids of its updates and deletes: every row with more than one version
      -- in the lake has one here, so a merge-on-read deduplicates only these rows and reads every
      -- other row straight from its file, with the filter pushed down (DESIGN 4.4).
      CREATE TABLE lake_file_changed (
        file_id bigint NOT NULL REFERENCES lake_file (file_id) ON DELETE CASCADE,
        row_id uuid NOT NULL,
        PRIMARY KEY (file_id, row_id)
      );
    `,
  },
  {
    version: 4,
    name: 'pending lake uploads',
    sql: `
      -- Objects a flush or compaction is about to upload, recorded and committed before the upload
      -- starts; the manifest commit that makes one a live lake_file deletes its row in the same
      -- transaction. GC deletes a pending object only while it holds the entity's flush and compaction
      -- locks, so its owner is gone (src/compaction/gc.ts says why that is enough).
      CREATE TABLE lake_pending_upload (
        path text PRIMARY KEY,
        project text NOT NULL,
        schema_id smallint NOT NULL,
        job_id bigint NOT NULL,
        kind text NOT NULL CHECK (kind IN ('flush', 'compact')),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX lake_pending_upload_by_schema ON lake_pending_upload (project, schema_id, created_at);
    `,
  },
  {
    version: 5,
    name: 'enum values in the attribute registry',
    sql: `
      -- Every value a definition listed for an enum attribute: a later definition may add values
      -- but not remove one (rows and lake files may hold it), checked at start.
      CREATE TABLE eav_enum_value (
        attribute_id integer NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (attribute_id, value)
      );
      -- Values already stored count as registered, so a database older than this table is held
      -- to the values its rows have.
      INSERT INTO eav_enum_value (attribute_id, value)
      SELECT DISTINCT v.attribute_id, v.v_text
        FROM eav_value v JOIN eav_attribute a ON a.attribute_id = v.attribute_id
       WHERE a.type = 'enum' AND v.v_text IS NOT NULL;
    `,
  },
  {
    version: 6,
    name: 'the session that runs each job',
    sql: `
      -- The Postgres backend that holds a running job's entity lock: once that session is gone (its
      -- process died) or no longer holds the lock, the job can never finish and is marked failed.
      ALTER TABLE lake_job ADD COLUMN holder_pid integer;
      CREATE INDEX lake_job_running ON lake_job (job_id) WHERE status = 'running';
    `,
  },
  {
    version: 7,
    name: 'the version each change replaced',
    sql: `
      -- Per update or delete, the slot of the version it replaced, and per update that version's
      -- values of the attributes it changed (NULL for one that had none): with the change's own
      -- snapshot they make the replaced version, which a kept aggregate's correction takes away
      -- without looking it up in a lake file. NULL for inserts and for changes captured before.
      ALTER TABLE change_log ADD COLUMN previous_slot bigint, ADD COLUMN previous_values jsonb;
    `,
  },
];

const MIGRATION_LOCK = 0x4c544201; // arbitrary constant: "LTB" + 1

/** Applies every migration not yet applied; safe to call from several processes at once. */
export async function migrate(pool: PgPool, log: Logger, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.version));
    // By version, each one not yet applied: a lower version landing after a higher one still runs.
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      log.info({ version: migration.version, name: migration.name }, 'applied migration');
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}
