// Rows as DuckDB returns them -> the API's row shape (lake column values -> JS values).
import type { Attribute, EntitySchema, JsonValue } from '../catalog/index.js';
import type { EntityRow } from '../oltp/index.js';

/**
 * Reads a DuckDB row (getRowObjectsJS) of an entity's columns back into the API's row shape; of a
 * partial row (PageArgs.columns), only the columns it has.
 */
export function toEntityRow(entity: EntitySchema, row: Record<string, unknown>): EntityRow {
  const values: Record<string, unknown> = {};
  for (const attribute of entity.attributes) {
    if (attribute.name in row) values[attribute.name] = fromDuckDb(attribute, row[attribute.name]);
  }
  return {
    row_id: row.row_id as string,
    time_slot: row.time_slot as bigint,
    deleted_at: (row.deleted_at as bigint | null) ?? null,
    values: values as EntityRow['values'],
  };
}

export function fromDuckDb(attribute: Pick<Attribute, 'type'>, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (attribute.type) {
    case 'date':
      return (value as Date).toISOString().slice(0, 10);
    case 'json':
      return JSON.parse(value as string) as JsonValue;
    default:
      return value;
  }
}

