// The write path: EAV rows and their change_log rows in one transaction, set-based for bulk inserts.
import { uuidv7 } from 'uuidv7';
import {
  DEFAULT_VALUE_POLICY,
  coerceAttributeValue,
  toSnapshotJson,
  type Attribute,
  type AttributeValue,
  type Catalog,
  type EntitySchema,
  type JsonValue,
  type ValuePolicy,
} from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import { takeTimeSlots } from './clock.js';
import { inTransaction, type PgClient, type PgPool } from './pool.js';
import { readEntityRows } from './reader.js';
import type { AttributeIds } from './registry.js';
import { EAV_VALUE_COLUMNS, eavColumnOf, eavParam, type EntityRow } from './rows.js';
import type { EavValueColumn } from '../catalog/index.js';

export type AttributeInput = Readonly<Record<string, unknown>>;

/** Checks an input object against the entity: unknown attributes, types, required values. */
function coerceObject(
  entity: EntitySchema,
  input: AttributeInput,
  partial: boolean,
  policy: ValuePolicy,
  at?: string,
): Record<string, AttributeValue> {
  const where = at ? `${at}: ` : '';
  for (const key of Object.keys(input)) {
    if (!entity.attributes.some((a) => a.name === key)) {
      throw new ValidationError(`${where}unknown attribute "${key}" of ${entity.name}`);
    }
  }
  const values: Record<string, AttributeValue> = {};
  for (const attribute of entity.attributes) {
    if (partial && !(attribute.name in input)) continue;
    try {
      values[attribute.name] = coerceAttributeValue(entity.name, attribute, input[attribute.name], policy);
    } catch (error) {
      if (error instanceof ValidationError && at) throw new ValidationError(`${at}: ${error.message}`);
      throw error;
    }
  }
  return values;
}

/** The change_log snapshot: this definition's values, and the carried values of attributes it lacks. */
function snapshotOf(entity: EntitySchema, values: Record<string, AttributeValue>, carried: Record<string, JsonValue> = {}): string {
  const snapshot: Record<string, JsonValue> = { ...carried };
  for (const attribute of entity.attributes) {
    const value = values[attribute.name] ?? null;
    if (value !== null) snapshot[attribute.name] = toSnapshotJson(attribute, value);
  }
  return JSON.stringify(snapshot);
}

const EAV_COLUMN_CASTS: Record<EavValueColumn, string> = {
  v_text: 'text',
  v_int: 'bigint',
  v_float: 'float8',
  v_bool: 'boolean',
  v_ts: 'timestamptz',
  v_date: 'date',
  v_uuid: 'uuid',
  v_json: 'jsonb',
};

/** Value rows grouped by EAV column, for one set-based `unnest` insert per column in use. */
class ValueRows {
  private readonly byColumn = new Map<EavValueColumn, { rowIds: string[]; attributeIds: number[]; values: unknown[] }>();

  add(rowId: string, attributeId: number, attribute: Attribute, value: AttributeValue): void {
    const column = eavColumnOf(attribute);
    let group = this.byColumn.get(column);
    if (!group) this.byColumn.set(column, (group = { rowIds: [], attributeIds: [], values: [] }));
    group.rowIds.push(rowId);
    group.attributeIds.push(attributeId);
    group.values.push(eavParam(attribute, value));
  }

  /** Inserts the rows; `upsert` replaces the value of attributes a row already has. */
  async write(client: PgClient, upsert: boolean): Promise<void> {
    for (const [column, group] of this.byColumn) {
      // On upsert the other typed columns are cleared too, so a row never holds two values.
      const conflict = upsert
        ? `ON CONFLICT (row_id, attribute_id) DO UPDATE SET ${EAV_VALUE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}`
        : '';
      await client.query(
        `INSERT INTO eav_value (row_id, attribute_id, ${column})
         SELECT * FROM unnest($1::uuid[], $2::integer[], $3::${EAV_COLUMN_CASTS[column]}[])
         ${conflict}`,
        [group.rowIds, group.attributeIds, group.values],
      );
    }
  }
}

export class EavWriter {
  constructor(
    private readonly pool: PgPool,
    private readonly catalog: Catalog,
    private readonly ids: AttributeIds,
    private readonly policy: ValuePolicy = DEFAULT_VALUE_POLICY,
  ) {}

  /** Inserts rows in one transaction and returns them as stored; all or nothing. */
  async insert(entity: EntitySchema, objects: readonly AttributeInput[]): Promise<EntityRow[]> {
    if (objects.length === 0) return [];
    const prepared = objects.map((object, i) => ({
      row_id: uuidv7(),
      values: coerceObject(entity, object, false, this.policy, objects.length === 1 ? undefined : `objects[${i}]`),
    }));
    return inTransaction(this.pool, async (client) => {
      await this.checkRefs(client, entity, prepared.map((p) => p.values));
      const values = new ValueRows();
      for (const row of prepared) {
        for (const attribute of entity.attributes) {
          const value = row.values[attribute.name] ?? null;
          if (value !== null) values.add(row.row_id, this.ids.idOf(entity, attribute), attribute, value);
        }
      }
      // Everything that does not need the slot goes first: the clock row stays locked from
      // takeTimeSlots to commit, and every writer of this schema waits for it (DESIGN 4.3).
      await values.write(client, false);
      const first = await takeTimeSlots(client, entity, prepared.length);
      const slots = prepared.map((_, i) => first + BigInt(i));
      await client.query(
        `INSERT INTO eav_entity (row_id, project, schema_id, time_slot, created_at)
         SELECT row_id, $3, $4, time_slot, (extract(epoch FROM now()) * 1000)::bigint
           FROM unnest($1::uuid[], $2::bigint[]) AS t (row_id, time_slot)`,
        [prepared.map((p) => p.row_id), slots.map(String), entity.project, entity.id],
      );
      await this.capture(client, entity, 'c', prepared.map((p, i) => ({ ...p, time_slot: slots[i]!, deleted_at: null })));
      return prepared.map((p, i) => ({ row_id: p.row_id, time_slot: slots[i]!, deleted_at: null, values: p.values }));
    });
  }

  /** Sets the given attributes of a live row; null when no live row has that row_id. */
  async update(entity: EntitySchema, rowId: string, set: AttributeInput): Promise<EntityRow | null> {
    const changes = coerceObject(entity, set, true, this.policy);
    return inTransaction(this.pool, async (client) => {
      const current = (await readEntityRows(client, this.ids, entity, [rowId], { forUpdate: true })).get(rowId);
      if (!current) return null;
      await this.checkRefs(client, entity, [changes]);
      const upserts = new ValueRows();
      const cleared: number[] = [];
      for (const [name, value] of Object.entries(changes)) {
        const attribute = entity.attributes.find((a) => a.name === name)!;
        if (value === null) cleared.push(this.ids.idOf(entity, attribute));
        else upserts.add(rowId, this.ids.idOf(entity, attribute), attribute, value);
      }
      await upserts.write(client, true);
      if (cleared.length > 0) {
        await client.query('DELETE FROM eav_value WHERE row_id = $1 AND attribute_id = ANY($2::integer[])', [rowId, cleared]);
      }
      const values = { ...current.values, ...changes };
      const slot = await takeTimeSlots(client, entity, 1);
      await client.query('UPDATE eav_entity SET time_slot = $2 WHERE row_id = $1', [rowId, slot]);
      await this.capture(client, entity, 'u', [{ row_id: rowId, values, carried: current.carried, time_slot: slot, deleted_at: null }]);
      return { row_id: rowId, time_slot: slot, deleted_at: null, values };
    });
  }

  /** Soft-deletes a live row (sets deleted_at); returns it as it was, or null when there is none. */
  async softDelete(entity: EntitySchema, rowId: string): Promise<EntityRow | null> {
    return inTransaction(this.pool, async (client) => {
      const current = (await readEntityRows(client, this.ids, entity, [rowId], { forUpdate: true })).get(rowId);
      if (!current) return null;
      const slot = await takeTimeSlots(client, entity, 1);
      // The slot is the change's time in ms (or just after it), so it doubles as the delete time.
      await client.query('UPDATE eav_entity SET time_slot = $2, deleted_at = $2 WHERE row_id = $1', [rowId, slot]);
      const deleted = { ...current, time_slot: slot, deleted_at: slot };
      await this.capture(client, entity, 'd', [deleted]);
      return deleted;
    });
  }

  /** Appends one change_log row per changed row, in the writing transaction (SPEC 3.1). */
  private async capture(client: PgClient, entity: EntitySchema, op: 'c' | 'u' | 'd', rows: readonly EntityRow[]): Promise<void> {
    // One JSON document instead of a jsonb[] literal: Postgres parses it several times faster.
    await client.query(
      `INSERT INTO change_log (project, schema_id, time_slot, row_id, deleted_at, snapshot, op)
       SELECT $1, $2, c.time_slot, c.row_id, c.deleted_at, c.snapshot, $4
         FROM jsonb_to_recordset($3::jsonb) AS c (time_slot bigint, row_id uuid, deleted_at bigint, snapshot jsonb)`,
      [
        entity.project,
        entity.id,
        `[${rows
          .map(
            (r) =>
              `{"time_slot":${r.time_slot},"row_id":"${r.row_id}","deleted_at":${r.deleted_at ?? 'null'},"snapshot":${snapshotOf(entity, r.values, r.carried)}}`,
          )
          .join(',')}]`,
        op,
      ],
    );
  }

  /** Every ref value must name a live row of the target entity; locks those rows against deletion. */
  private async checkRefs(client: PgClient, entity: EntitySchema, rows: readonly Record<string, AttributeValue>[]): Promise<void> {
    for (const attribute of entity.attributes) {
      if (attribute.type !== 'ref') continue;
      const wanted = [...new Set(rows.map((r) => r[attribute.name]).filter((v): v is string => typeof v === 'string'))];
      if (wanted.length === 0) continue;
      const target = this.catalog.refTarget(attribute);
      const { rows: found } = await client.query<{ row_id: string }>(
        `SELECT row_id FROM eav_entity
          WHERE row_id = ANY($1::uuid[]) AND project = $2 AND schema_id = $3 AND deleted_at IS NULL
          ORDER BY row_id FOR SHARE`,
        [wanted, target.project, target.id],
      );
      if (found.length < wanted.length) {
        const present = new Set(found.map((r) => r.row_id));
        const missing = wanted.filter((id) => !present.has(id));
        throw new ValidationError(
          `${entity.name}.${attribute.name}: no ${target.name} row with row_id ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''}`,
        );
      }
    }
  }
}
