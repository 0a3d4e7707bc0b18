// The one place that maps attribute types between the definitions, GraphQL, Postgres and DuckDB/Parquet.

export const ATTRIBUTE_TYPES = ['string', 'int', 'float', 'boolean', 'timestamp', 'date', 'enum', 'ref', 'json'] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

/** Which typed value column of the EAV value table holds an attribute of this type. */
export type EavValueColumn = 'v_text' | 'v_int' | 'v_float' | 'v_bool' | 'v_ts' | 'v_date' | 'v_uuid' | 'v_json';

export interface TypeMapping {
  /** GraphQL scalar name; enums and refs get generated types instead (see graphql layer). */
  graphqlScalar: 'String' | 'BigInt' | 'Float' | 'Boolean' | 'DateTime' | 'Date' | 'UUID' | 'JSON';
  postgres: string;
  duckdb: string;
  eavColumn: EavValueColumn;
  /** Numeric types get sum/avg aggregates. */
  numeric: boolean;
  /** Ordered types get min/max and range operators. */
  ordered: boolean;
}

export const TYPE_MAPPING: Record<AttributeType, TypeMapping> = {
  string: { graphqlScalar: 'String', postgres: 'text', duckdb: 'VARCHAR', eavColumn: 'v_text', numeric: false, ordered: true },
  int: { graphqlScalar: 'BigInt', postgres: 'bigint', duckdb: 'BIGINT', eavColumn: 'v_int', numeric: true, ordered: true },
  float: { graphqlScalar: 'Float', postgres: 'double precision', duckdb: 'DOUBLE', eavColumn: 'v_float', numeric: true, ordered: true },
  boolean: { graphqlScalar: 'Boolean', postgres: 'boolean', duckdb: 'BOOLEAN', eavColumn: 'v_bool', numeric: false, ordered: false },
  timestamp: { graphqlScalar: 'DateTime', postgres: 'timestamptz', duckdb: 'TIMESTAMPTZ', eavColumn: 'v_ts', numeric: false, ordered: true },
  date: { graphqlScalar: 'Date', postgres: 'date', duckdb: 'DATE', eavColumn: 'v_date', numeric: false, ordered: true },
  enum: { graphqlScalar: 'String', postgres: 'text', duckdb: 'VARCHAR', eavColumn: 'v_text', numeric: false, ordered: true },
  ref: { graphqlScalar: 'UUID', postgres: 'uuid', duckdb: 'UUID', eavColumn: 'v_uuid', numeric: false, ordered: false },
  json: { graphqlScalar: 'JSON', postgres: 'jsonb', duckdb: 'JSON', eavColumn: 'v_json', numeric: false, ordered: false },
};

export function typeMapping(type: AttributeType): TypeMapping {
  return TYPE_MAPPING[type];
}
