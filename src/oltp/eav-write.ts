// The pieces every EAV write is made of: input coercion, typed value rows, ref checks and the
// change_log capture (SPEC 3.1), shared by the by-pk writer and set-based write transactions.
import {
  coerceAttributeValue,
  toSnapshotJson,
  type Attribute,
  type AttributeValue,
  type Catalog,
  type EavValueColumn,
  type EntitySchema,
  type JsonValue,
  type ValuePolicy,
} from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import type { PgClient } from './pool.js';
import { EAV_VALUE_COLUMNS, eavColumnOf, eavParam, type EntityRow } from './rows.js';

export type AttributeInput = Readonly<Record<string, unknown>>;

/** Checks an input object against the entity: unknown attributes, types, required values. */
export function coerceObject(
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
export class ValueRows {
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

/** Appends one change_log row per changed row, in the writing transaction (SPEC 3.1). */
export async function captureChanges(client: PgClient, entity: EntitySchema, op: 'c' | 'u' | 'd', rows: readonly EntityRow[]): Promise<void> {
  if (rows.length === 0) return;
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
export async function checkRefs(client: PgClient, catalog: Catalog, entity: EntitySchema, rows: readonly Record<string, AttributeValue>[]): Promise<void> {
  for (const attribute of entity.attributes) {
    if (attribute.type !== 'ref') continue;
    const wanted = [...new Set(rows.map((r) => r[attribute.name]).filter((v): v is string => typeof v === 'string'))];
    if (wanted.length === 0) continue;
    const target = catalog.refTarget(attribute);
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
