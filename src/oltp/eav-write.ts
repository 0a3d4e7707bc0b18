// The pieces every EAV write is made of: input coercion, typed value rows, ref checks and the
// change_log capture (SPEC 3.1), shared by the by-pk writer and set-based write transactions.
// Large inserts go by binary COPY (copy-in.ts), small ones and upserts by statements.
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
import { COPY_MIN_ROWS, copyIn, uuidBytes, type CopyTuples } from './copy-in.js';
import type { PgClient } from './pool.js';
import { EAV_VALUE_COLUMNS, eavColumnOf, eavParam, type EntityRow } from './rows.js';

export type AttributeInput = Readonly<Record<string, unknown>>;

/** A new row, its values checked. */
export interface NewRow {
  row_id: string;
  values: Record<string, AttributeValue>;
}

/**
 * New rows not made yet: a write makes each (`rowAt`: checks its input, gives it a row_id) just
 * before it encodes it, while Postgres stores the rows before it, so a bulk insert's checks take no
 * time of their own. What `rowAt` throws fails the write, and nothing of it is kept.
 */
export interface PendingRows {
  count: number;
  rowAt(index: number): NewRow;
}

const namesOf = new WeakMap<EntitySchema, ReadonlySet<string>>();

/** The entity's attribute names, kept per definition object: a batch checks every object against them. */
function attributeNames(entity: EntitySchema): ReadonlySet<string> {
  let names = namesOf.get(entity);
  if (!names) namesOf.set(entity, (names = new Set(entity.attributes.map((a) => a.name))));
  return names;
}

/** Checks an input object against the entity: unknown attributes, types, required values. */
export function coerceObject(
  entity: EntitySchema,
  input: AttributeInput,
  partial: boolean,
  policy: ValuePolicy,
  at?: string,
): Record<string, AttributeValue> {
  const where = at ? `${at}: ` : '';
  const known = attributeNames(entity);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new ValidationError(`${where}unknown attribute "${key}" of ${entity.name}`);
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

/** Where each EAV column is in a COPY of eav_value (row_id and attribute_id come first). */
const COPY_FIELD = new Map(EAV_VALUE_COLUMNS.map((column, i) => [column, i]));
const VALUE_COPY = `COPY eav_value (row_id, attribute_id, ${EAV_VALUE_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`;

/** One value in its typed column's binary form. */
function writeEavValue(out: CopyTuples, attribute: Attribute, value: Exclude<AttributeValue, null>): void {
  switch (attribute.type) {
    case 'string':
    case 'enum':
      return out.text(value as string);
    case 'int':
      return out.int8(value as bigint);
    case 'float':
      return out.float8(value as number);
    case 'boolean':
      return out.bool(value as boolean);
    case 'timestamp':
      return out.timestamptz(value as Date);
    case 'date':
      return out.date(value as string);
    case 'ref':
      return out.uuid(value as string);
    case 'json':
      return out.jsonb(JSON.stringify(value));
  }
}

/** Big-endian int32s, as the binary COPY format writes lengths and integers. */
function int32s(values: readonly number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((value, i) => view.setInt32(4 * i, value));
  return new Uint8Array(view.buffer);
}

/**
 * Writes new rows' values by one binary COPY, in row order. Each row is made (`rows.rowAt`, which
 * may check an input and throw) just before its values are encoded, and its change_log snapshot is
 * built after: that work is done while Postgres stores the chunks before it. Returns the rows and
 * their snapshots.
 */
export async function copyNewRows(
  client: PgClient,
  entity: EntitySchema,
  attributeIds: readonly number[],
  rows: PendingRows,
): Promise<{ rows: NewRow[]; snapshots: string[] }> {
  const made: NewRow[] = [];
  const snapshots: string[] = [];
  const { attributes } = entity;
  // A value row is its row's head (field count, row_id), then per attribute fixed bytes (its id and
  // the NULL columns before its own), its value, and the NULL columns after: encoded once here.
  const head = new Uint8Array(22);
  const headView = new DataView(head.buffer);
  headView.setInt16(0, 2 + EAV_VALUE_COLUMNS.length);
  headView.setInt32(2, 16);
  const nulls = (count: number) => Array<number>(count).fill(-1);
  const fieldOf = (attribute: Attribute) => COPY_FIELD.get(eavColumnOf(attribute))!;
  const before = attributes.map((attribute, k) => int32s([4, attributeIds[k]!, ...nulls(fieldOf(attribute))]));
  const after = attributes.map((attribute) => int32s(nulls(EAV_VALUE_COLUMNS.length - 1 - fieldOf(attribute))));
  await copyIn(client, VALUE_COPY, Array.from({ length: rows.count }).keys(), (out, i) => {
    const row = rows.rowAt(i);
    made.push(row);
    uuidBytes(row.row_id, head, 6);
    for (let k = 0; k < attributes.length; k++) {
      const attribute = attributes[k]!;
      const value = row.values[attribute.name] ?? null;
      if (value === null) continue;
      out.bytes(head);
      out.bytes(before[k]!);
      writeEavValue(out, attribute, value);
      out.bytes(after[k]!);
    }
    snapshots.push(snapshotOf(entity, row.values));
  });
  return { rows: made, snapshots };
}

interface ValueRow {
  rowId: string;
  attributeId: number;
  attribute: Attribute;
  value: Exclude<AttributeValue, null>;
}

/**
 * Value rows to write by one statement per EAV column (the few rows of a small insert, and
 * updates); on `upsert` they replace values the rows already have.
 */
export class ValueRows {
  private readonly rows: ValueRow[] = [];

  add(rowId: string, attributeId: number, attribute: Attribute, value: Exclude<AttributeValue, null>): void {
    this.rows.push({ rowId, attributeId, attribute, value });
  }

  async write(client: PgClient, upsert: boolean): Promise<void> {
    if (this.rows.length === 0) return;
    const byColumn = new Map<EavValueColumn, ValueRow[]>();
    for (const row of this.rows) {
      const column = eavColumnOf(row.attribute);
      const group = byColumn.get(column);
      if (group) group.push(row);
      else byColumn.set(column, [row]);
    }
    for (const [column, rows] of byColumn) {
      // On upsert the other typed columns are cleared too, so a row never holds two values.
      const conflict = upsert
        ? `ON CONFLICT (row_id, attribute_id) DO UPDATE SET ${EAV_VALUE_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')}`
        : '';
      await client.query(
        `INSERT INTO eav_value (row_id, attribute_id, ${column})
         SELECT * FROM unnest($1::uuid[], $2::integer[], $3::${EAV_COLUMN_CASTS[column]}[])
         ${conflict}`,
        [rows.map((r) => r.rowId), rows.map((r) => r.attributeId), rows.map((r) => eavParam(r.attribute, r.value))],
      );
    }
  }
}

const CHANGE_COPY = 'COPY change_log (project, schema_id, time_slot, row_id, deleted_at, snapshot, op, previous_slot, previous_values) FROM STDIN (FORMAT binary)';

/** The version an update or delete replaced: its slot, and (of an update) its values of the attributes changed. */
export interface PreviousVersion {
  slot: bigint;
  /** JSON of the changed attributes' values before, in snapshot form (null where there was none); null for a delete. */
  values: string | null;
}

/** The values `changed` attributes had in `before`, in snapshot form: an update's previous_values. */
export function previousValuesOf(entity: EntitySchema, before: Record<string, AttributeValue>, changed: Iterable<string>): string {
  const previous: Record<string, JsonValue> = {};
  for (const name of changed) {
    const attribute = entity.attributes.find((a) => a.name === name)!;
    previous[name] = toSnapshotJson(attribute, before[name] ?? null);
  }
  return JSON.stringify(previous);
}

/**
 * Appends one change_log row per changed row, in the writing transaction (SPEC 3.1); `snapshots`,
 * when given, are the rows' snapshots (from copyNewRows); `previous`, per update or delete, the
 * version it replaced.
 */
export async function captureChanges(
  client: PgClient,
  entity: EntitySchema,
  op: 'c' | 'u' | 'd',
  rows: readonly EntityRow[],
  options: { snapshots?: readonly string[]; previous?: readonly PreviousVersion[] } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const { snapshots, previous } = options;
  const snapshotAt = (i: number) => snapshots?.[i] ?? snapshotOf(entity, rows[i]!.values, rows[i]!.carried);
  if (rows.length < COPY_MIN_ROWS) {
    // One JSON document instead of a jsonb[] literal: Postgres parses it several times faster.
    const previousAt = (i: number) => (previous ? `,"previous_slot":${previous[i]!.slot},"previous_values":${previous[i]!.values ?? 'null'}` : '');
    await client.query(
      `INSERT INTO change_log (project, schema_id, time_slot, row_id, deleted_at, snapshot, op, previous_slot, previous_values)
       SELECT $1, $2, c.time_slot, c.row_id, c.deleted_at, c.snapshot, $4, c.previous_slot, c.previous_values
         FROM jsonb_to_recordset($3::jsonb) AS c (time_slot bigint, row_id uuid, deleted_at bigint, snapshot jsonb, previous_slot bigint, previous_values jsonb)`,
      [
        entity.project,
        entity.id,
        `[${rows.map((r, i) => `{"time_slot":${r.time_slot},"row_id":"${r.row_id}","deleted_at":${r.deleted_at ?? 'null'},"snapshot":${snapshotAt(i)}${previousAt(i)}}`).join(',')}]`,
        op,
      ],
    );
    return;
  }
  let i = 0;
  await copyIn(client, CHANGE_COPY, rows, (out, row) => {
    out.tuple(9);
    out.text(entity.project);
    out.int2(entity.id);
    out.int8(row.time_slot);
    out.uuid(row.row_id);
    if (row.deleted_at === null) out.null();
    else out.int8(row.deleted_at);
    out.jsonb(snapshotAt(i));
    out.text(op);
    const before = previous?.[i];
    if (before) out.int8(before.slot);
    else out.null();
    if (before?.values) out.jsonb(before.values);
    else out.null();
    i++;
  });
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
