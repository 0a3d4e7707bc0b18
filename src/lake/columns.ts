// The lake's columns for an entity: the system columns, then one typed column per attribute.
import { TYPE_MAPPING, type EntitySchema, type LakeAttribute } from '../catalog/index.js';

export interface LakeColumn {
  name: string;
  duckdb: string;
}

export const SYSTEM_COLUMNS: readonly LakeColumn[] = [
  { name: 'time_slot', duckdb: 'BIGINT' },
  { name: 'schema_id', duckdb: 'SMALLINT' },
  { name: 'row_id', duckdb: 'UUID' },
  { name: 'deleted_at', duckdb: 'BIGINT' },
];

/**
 * The lake columns of `attributes`: by default the entity's own (what a search reads); a flush or
 * compaction passes every stored attribute, so columns of other definitions are carried.
 */
export function lakeColumns(entity: EntitySchema, attributes: readonly LakeAttribute[] = entity.attributes): LakeColumn[] {
  return lakeColumnsOf(attributes);
}

/** The lake columns of these attributes (e.g. every attribute a schema ever had), in order. */
export function lakeColumnsOf(attributes: readonly LakeAttribute[]): LakeColumn[] {
  return [...SYSTEM_COLUMNS, ...attributes.map((a) => ({ name: a.name, duckdb: TYPE_MAPPING[a.type].duckdb }))];
}
