// One write transaction of the EAV store: read and lock rows, then write a set of inserts, updates
// and soft deletes with one change_log row per changed row; the time slots are taken last.
import type { AttributeValue, Catalog, EntitySchema } from '../catalog/index.js';
import { ConflictError } from '../errors/index.js';
import { takeTimeSlots } from './clock.js';
import { COPY_MIN_ROWS, copyIn } from './copy-in.js';
import { captureChanges, checkRefs, copyNewRows, previousValuesOf, ValueRows, type NewRow, type PendingRows } from './eav-write.js';
import type { PgClient, PgPool } from './pool.js';
import { readEntityRows } from './reader.js';
import type { AttributeIds } from './registry.js';
import type { EntityRow } from './rows.js';

export type { NewRow, PendingRows } from './eav-write.js';

type Queryable = Pick<PgPool | PgClient, 'query'>;

/** A row's header as the EAV store holds it: live or soft-deleted, of any entity. */
export interface RowHead {
  row_id: string;
  project: string;
  schema_id: number;
  time_slot: bigint;
  deleted_at: bigint | null;
}

/**
 * A row a write chose (by a search at an earlier snapshot) changed before the write could lock it.
 * Nothing was written; the whole statement may run again on a newer snapshot.
 */
export class StaleReadError extends ConflictError {}

/** A row_id that a concurrent transaction inserted first (a unique violation); nothing was written. */
export class RowIdTakenError extends ConflictError {
  constructor(
    readonly rowId: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** A live row's new values; `changed` names the attributes the write sets (null ones are cleared). */
export interface RowUpdate {
  before: EntityRow;
  values: Record<string, AttributeValue>;
  changed: ReadonlySet<string>;
}

export interface WriteSet {
  inserts?: readonly NewRow[] | PendingRows;
  updates?: readonly RowUpdate[];
  /** Live rows to soft-delete, as locked by `lockLive`. */
  deletes?: readonly EntityRow[];
}

/** The rows as written, in the order given: new time_slot, values, deleted_at. */
export interface Written {
  inserted: EntityRow[];
  updated: EntityRow[];
  deleted: EntityRow[];
}

/** Headers of the given row_ids that exist (of any entity); `lock` takes their row locks, in row_id order. */
export async function readHeads(db: Queryable, rowIds: readonly string[], lock: boolean): Promise<Map<string, RowHead>> {
  if (rowIds.length === 0) return new Map();
  const { rows } = await db.query<RowHead>(
    `SELECT row_id, project, schema_id, time_slot, deleted_at FROM eav_entity
      WHERE row_id = ANY($1::uuid[]) ORDER BY row_id${lock ? ' FOR UPDATE' : ''}`,
    [rowIds],
  );
  return new Map(rows.map((r) => [r.row_id, r]));
}

function pendingOf(inserts: WriteSet['inserts'] = []): PendingRows {
  return 'rowAt' in inserts ? inserts : { count: inserts.length, rowAt: (index) => inserts[index]! };
}

const UNIQUE_VIOLATION = '23505';
const ENTITY_COPY = 'COPY eav_entity (row_id, project, schema_id, time_slot, created_at) FROM STDIN (FORMAT binary)';

export class WriteTransaction {
  /** The entities this transaction wrote a change of (by `project/schema id`). */
  readonly written = new Map<string, EntitySchema>();

  constructor(
    readonly client: PgClient,
    private readonly catalog: Catalog,
    private readonly ids: AttributeIds,
  ) {}

  /** Locks the headers of the given row_ids that exist and returns them. */
  heads(rowIds: readonly string[]): Promise<Map<string, RowHead>> {
    return readHeads(this.client, rowIds, true);
  }

  /** Locks the given rows of `entity` and returns the live ones as they are now. */
  lockLive(entity: EntitySchema, rowIds: readonly string[]): Promise<Map<string, EntityRow>> {
    return readEntityRows(this.client, this.ids, entity, rowIds, { forUpdate: true });
  }

  /** The live rows among `rowIds` as this transaction sees them, without locks. */
  read(entity: EntitySchema, rowIds: readonly string[]): Promise<Map<string, EntityRow>> {
    return readEntityRows(this.client, this.ids, entity, rowIds);
  }

  /**
   * Writes inserts, updates and soft deletes of `entity`. Everything that does not need a slot goes
   * first: the clock row stays locked from takeTimeSlots to commit, and every writer of this schema
   * waits for it (DESIGN 4.3).
   */
  async write(entity: EntitySchema, set: WriteSet): Promise<Written> {
    const pending = pendingOf(set.inserts);
    const updates = set.updates ?? [];
    const deletes = set.deletes ?? [];
    const count = pending.count + updates.length + deletes.length;
    if (count === 0) return { inserted: [], updated: [], deleted: [] };
    this.written.set(`${entity.project}/${entity.id}`, entity);
    const attributeIds = entity.attributes.map((attribute) => this.ids.idOf(entity, attribute));

    let fresh: NewRow[];
    let freshSnapshots: string[] | undefined;
    if (pending.count >= COPY_MIN_ROWS) {
      ({ rows: fresh, snapshots: freshSnapshots } = await this.uniquely(() => copyNewRows(this.client, entity, attributeIds, pending)));
    } else {
      fresh = Array.from({ length: pending.count }, (_, i) => pending.rowAt(i));
      const values = new ValueRows();
      for (const row of fresh) {
        entity.attributes.forEach((attribute, i) => {
          const value = row.values[attribute.name] ?? null;
          if (value !== null) values.add(row.row_id, attributeIds[i]!, attribute, value);
        });
      }
      await this.uniquely(() => values.write(this.client, false));
    }
    const changedValues = updates.map((u) => Object.fromEntries([...u.changed].map((name) => [name, u.values[name] ?? null])));
    // After the new rows' values (in the same transaction): a bulk insert's are checked as they are written.
    await checkRefs(this.client, this.catalog, entity, [...fresh.map((row) => row.values), ...changedValues]);

    const upserts = new ValueRows();
    const cleared: { rowIds: string[]; attributeIds: number[] } = { rowIds: [], attributeIds: [] };
    for (const update of updates) {
      for (const name of update.changed) {
        const attribute = entity.attributes.find((a) => a.name === name)!;
        const value = update.values[name] ?? null;
        if (value !== null) upserts.add(update.before.row_id, this.ids.idOf(entity, attribute), attribute, value);
        else {
          cleared.rowIds.push(update.before.row_id);
          cleared.attributeIds.push(this.ids.idOf(entity, attribute));
        }
      }
    }
    await upserts.write(this.client, true);
    if (cleared.rowIds.length > 0) {
      await this.client.query(
        `DELETE FROM eav_value v USING unnest($1::uuid[], $2::integer[]) AS t (row_id, attribute_id)
          WHERE v.row_id = t.row_id AND v.attribute_id = t.attribute_id`,
        [cleared.rowIds, cleared.attributeIds],
      );
    }

    const { first, now } = await takeTimeSlots(this.client, entity, count);
    let next = first;
    const slot = () => next++;
    const inserted: EntityRow[] = fresh.map(({ row_id, values }) => ({ row_id, time_slot: slot(), deleted_at: null, values }));
    const updated: EntityRow[] = updates.map((u) => ({ ...u.before, time_slot: slot(), deleted_at: null, values: u.values }));
    // The slot is the change's time in ms (or just after it), so it doubles as the delete time.
    const deleted: EntityRow[] = deletes.map((d) => {
      const at = slot();
      return { ...d, time_slot: at, deleted_at: at };
    });
    if (inserted.length >= COPY_MIN_ROWS) {
      await this.uniquely(() =>
        copyIn(this.client, ENTITY_COPY, inserted, (out, row) => {
          out.tuple(5);
          out.uuid(row.row_id);
          out.text(entity.project);
          out.int2(entity.id);
          out.int8(row.time_slot);
          out.int8(now);
        }),
      );
    } else if (inserted.length > 0) {
      await this.uniquely(() =>
        this.client.query(
          `INSERT INTO eav_entity (row_id, project, schema_id, time_slot, created_at)
           SELECT row_id, $3, $4, time_slot, $5 FROM unnest($1::uuid[], $2::bigint[]) AS t (row_id, time_slot)`,
          [inserted.map((r) => r.row_id), inserted.map((r) => String(r.time_slot)), entity.project, entity.id, String(now)],
        ),
      );
    }
    const headers = [...updated, ...deleted];
    if (headers.length > 0) {
      await this.client.query(
        `UPDATE eav_entity e SET time_slot = t.time_slot, deleted_at = t.deleted_at
           FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS t (row_id, time_slot, deleted_at)
          WHERE e.row_id = t.row_id`,
        [headers.map((r) => r.row_id), headers.map((r) => String(r.time_slot)), headers.map((r) => (r.deleted_at === null ? null : String(r.deleted_at)))],
      );
    }
    await captureChanges(this.client, entity, 'c', inserted, { snapshots: freshSnapshots });
    await captureChanges(this.client, entity, 'u', updated, {
      previous: updates.map((u) => ({ slot: u.before.time_slot, values: previousValuesOf(entity, u.before.values, u.changed) })),
    });
    // A delete's snapshot holds the values of the version it replaces: only that version's slot is new.
    await captureChanges(this.client, entity, 'd', deleted, { previous: deletes.map((d) => ({ slot: d.time_slot, values: null })) });
    return { inserted, updated, deleted };
  }

  /** Runs an insert; a unique violation (a concurrent insert of the same row_id) becomes RowIdTakenError. */
  private async uniquely<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
      const detail = String((error as { detail?: unknown }).detail ?? '');
      const rowId = /\(([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i.exec(detail)?.[1]?.toLowerCase() ?? null;
      throw new RowIdTakenError(rowId, `row_id ${rowId ?? '(unknown)'} was inserted by a concurrent write`);
    }
  }
}
