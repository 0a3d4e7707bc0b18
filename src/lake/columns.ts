// The lake's columns for an entity: the system columns, then one typed column per attribute.
import { TYPE_MAPPING, type Attribute, type EntitySchema } from '../catalog/index.js';

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

export function lakeColumns(entity: EntitySchema): LakeColumn[] {
  return lakeColumnsOf(entity.attributes);
}

/** The lake columns of these attributes (e.g. every attribute a schema ever had), in order. */
export function lakeColumnsOf(attributes: readonly Attribute[]): LakeColumn[] {
  return [...SYSTEM_COLUMNS, ...attributes.map((a) => ({ name: a.name, duckdb: TYPE_MAPPING[a.type].duckdb }))];
}
