// Reads current entity rows out of the EAV tables (the OLTP truth) and pivots them into EntityRows.
import { ATTRIBUTE_TYPES, toSnapshotJson, type AttributeType, type AttributeValue, type EntitySchema } from '../catalog/index.js';
import type { PgClient, PgPool } from './pool.js';
import type { AttributeIds } from './registry.js';
import { EAV_VALUE_COLUMNS, eavColumnOf, type EntityRow } from './rows.js';

type Queryable = Pick<PgPool | PgClient, 'query'>;

interface EavJoinRow {
  row_id: string;
  time_slot: bigint;
  deleted_at: bigint | null;
  attribute_id: number | null;
  /** Registry name and type of the value's attribute (null without a value). */
  attribute_name: string | null;
  attribute_type: string | null;
  [column: string]: unknown;
}

/**
 * The live (not soft-deleted) rows among `rowIds`, keyed by row_id; `forUpdate` locks their headers.
 */
export async function readEntityRows(
  db: Queryable,
  ids: AttributeIds,
  entity: EntitySchema,
  rowIds: readonly string[],
  options: { forUpdate?: boolean } = {},
): Promise<Map<string, EntityRow>> {
  const rows = new Map<string, EntityRow>();
  if (rowIds.length === 0) return rows;
  if (options.forUpdate) {
    await db.query(
      `SELECT 1 FROM eav_entity WHERE row_id = ANY($1::uuid[]) AND project = $2 AND schema_id = $3
        ORDER BY row_id FOR UPDATE`,
      [rowIds, entity.project, entity.id],
    );
  }
  const { rows: joined } = await db.query<EavJoinRow>(
    `SELECT e.row_id, e.time_slot, e.deleted_at, v.attribute_id, a.name AS attribute_name, a.type AS attribute_type,
            ${EAV_VALUE_COLUMNS.map((c) => `v.${c}`).join(', ')}
       FROM eav_entity e LEFT JOIN eav_value v ON v.row_id = e.row_id
            LEFT JOIN eav_attribute a ON a.attribute_id = v.attribute_id
      WHERE e.row_id = ANY($1::uuid[]) AND e.project = $2 AND e.schema_id = $3 AND e.deleted_at IS NULL`,
    [rowIds, entity.project, entity.id],
  );
  for (const r of joined) {
    let row = rows.get(r.row_id);
    if (!row) {
      row = { row_id: r.row_id, time_slot: r.time_slot, deleted_at: r.deleted_at, values: {} };
      for (const attribute of entity.attributes) row.values[attribute.name] = null;
      rows.set(r.row_id, row);
    }
    if (r.attribute_id === null) continue;
    const attribute = ids.attributeOf(entity, r.attribute_id);
    // The pool's type parsers already give the in-memory forms (int8 -> bigint, date -> text).
    if (attribute) {
      row.values[attribute.name] = (r[eavColumnOf(attribute)] ?? null) as AttributeValue;
    } else if (r.attribute_name !== null && isAttributeType(r.attribute_type)) {
      // An attribute of another definition (newer, or dropped from this one): kept as stored.
      const stored = { name: r.attribute_name, type: r.attribute_type, required: false };
      const value = (r[eavColumnOf(stored)] ?? null) as AttributeValue;
      if (value !== null) (row.carried ??= {})[stored.name] = toSnapshotJson(stored, value);
    }
  }
  return rows;
}

function isAttributeType(type: string | null): type is AttributeType {
  return (ATTRIBUTE_TYPES as readonly (string | null)[]).includes(type);
}
