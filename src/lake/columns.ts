// The lake's columns for an entity: the system columns, then one typed column per attribute.
import { TYPE_MAPPING, quoteIdent, type EntitySchema } from '../catalog/index.js';

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
  return [...SYSTEM_COLUMNS, ...entity.attributes.map((a) => ({ name: a.name, duckdb: TYPE_MAPPING[a.type].duckdb }))];
}

/** DuckDB's read_csv `columns` struct for the lake columns, in order. */
export function csvColumnsStruct(entity: EntitySchema): string {
  return `{${lakeColumns(entity)
    .map((c) => `${quoteIdent(c.name).replaceAll('"', "'")}: '${c.duckdb}'`)
    .join(', ')}}`;
}
