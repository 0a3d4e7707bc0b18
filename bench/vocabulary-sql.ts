// Issue 13's search-screen questions in SQL: raw DuckDB over one compacted Parquet file per entity,
// in the shapes the gateway's compiler emits, and the EAV store in Postgres in several forms.

/** `read_parquet(...)` arguments (quoted file paths) of the compacted files. */
export interface CompactedFiles {
  orders: string;
  customers: string;
}

/** Attribute ids of the EAV store, keyed `${schema_id}.${name}`; and the demo schema ids. */
export interface EavLayout {
  ids: Record<string, number>;
  project: string;
  customers: number;
  orders: number;
}

export const OVER = 900;
export const TIER = 'PRO';
export const PAGE = 50;
export const TOP = 10;

export const RAW = {
  /** The reverse-relation filter as an uncorrelated semi-join, as the filter compiler writes refs. */
  reverseFilter: (f: CompactedFiles) =>
    `SELECT c.row_id, c.name, c.tier FROM read_parquet(${f.customers}) AS c
      WHERE c.tier = '${TIER}' AND c.row_id IN (SELECT o.customer FROM read_parquet(${f.orders}) AS o WHERE o.total > ${OVER})
      ORDER BY c.name ASC NULLS LAST, c.row_id ASC LIMIT ${PAGE}`,
  /** A page of customers, then one statement for the nested aggregate of all its parents. */
  nestedPage: (f: CompactedFiles) => `SELECT c.row_id, c.name FROM read_parquet(${f.customers}) AS c ORDER BY c.row_id ASC LIMIT ${PAGE}`,
  nestedAggregate: (f: CompactedFiles, parentIds: readonly string[]) =>
    `SELECT o.customer, count(*) AS count, sum(o.total) AS sum_total FROM read_parquet(${f.orders}) AS o
      WHERE o.customer = ANY([${parentIds.map((id) => `'${id}'`).join(', ')}]::UUID[]) GROUP BY o.customer`,
  /** Group by a field of the referenced row: orders joined to their customer (orders without one form the NULL group). */
  groupByRef: (f: CompactedFiles) =>
    `SELECT c.tier, sum(o.total) AS sum_total FROM read_parquet(${f.orders}) AS o LEFT JOIN read_parquet(${f.customers}) AS c ON c.row_id = o.customer
      GROUP BY c.tier ORDER BY sum_total DESC NULLS FIRST, c.tier ASC NULLS LAST LIMIT ${TOP}`,
};

/** Live PRO customers with their name: the header, the tier value (an inner join) and the name. */
function proCustomers(l: EavLayout): string {
  return `SELECT e.row_id, n.v_text AS name, '${TIER}' AS tier
      FROM eav_entity e
      JOIN eav_value t ON t.row_id = e.row_id AND t.attribute_id = ${l.ids[`${l.customers}.tier`]} AND t.v_text = '${TIER}'
      LEFT JOIN eav_value n ON n.row_id = e.row_id AND n.attribute_id = ${l.ids[`${l.customers}.name`]}
     WHERE e.project = '${l.project}' AND e.schema_id = ${l.customers} AND e.deleted_at IS NULL`;
}

/** The customer of each live order over OVER: totals (no value index: a scan), their ref, the header. */
function bigOrderCustomers(l: EavLayout): string {
  return `SELECT r.v_uuid FROM eav_value ot
      JOIN eav_value r ON r.row_id = ot.row_id AND r.attribute_id = ${l.ids[`${l.orders}.customer`]}
      JOIN eav_entity oe ON oe.row_id = ot.row_id AND oe.deleted_at IS NULL
     WHERE ot.attribute_id = ${l.ids[`${l.orders}.total`]} AND ot.v_float > ${OVER}`;
}

// COLLATE "C": DuckDB compares strings bytewise; the same order makes the answers comparable.
const ORDER = `ORDER BY name COLLATE "C" ASC NULLS LAST, row_id ASC LIMIT ${PAGE}`;

/** The reverse-relation question over the EAV store, in the forms one would try; the fastest counts. */
export const EAV_FORMS: Record<string, (l: EavLayout) => string> = {
  'IN (uncorrelated semi-join)': (l) => `SELECT * FROM (${proCustomers(l)}) c WHERE c.row_id IN (${bigOrderCustomers(l)}) ${ORDER}`,
  'EXISTS (correlated, via the ref index)': (l) =>
    `SELECT * FROM (${proCustomers(l)}) c
      WHERE EXISTS (SELECT 1 FROM eav_value r
                      JOIN eav_value ot ON ot.row_id = r.row_id AND ot.attribute_id = ${l.ids[`${l.orders}.total`]} AND ot.v_float > ${OVER}
                      JOIN eav_entity oe ON oe.row_id = r.row_id AND oe.deleted_at IS NULL
                     WHERE r.attribute_id = ${l.ids[`${l.orders}.customer`]} AND r.v_uuid = c.row_id) ${ORDER}`,
  'JOIN + DISTINCT': (l) =>
    `SELECT * FROM (SELECT DISTINCT c.* FROM (${proCustomers(l)}) c JOIN (${bigOrderCustomers(l)}) b ON b.v_uuid = c.row_id) d ${ORDER}`,
  'materialized CTE of big-order customers': (l) =>
    `WITH big AS MATERIALIZED (SELECT DISTINCT v_uuid FROM (${bigOrderCustomers(l)}) b)
     SELECT c.* FROM (${proCustomers(l)}) c JOIN big ON big.v_uuid = c.row_id ${ORDER}`,
};
