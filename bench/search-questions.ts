// The three questions of the search benchmark, asked three ways: through GraphQL, of the Postgres
// EAV store directly, and of raw DuckDB over compacted Parquet files. Same answers, same pages.

const ORDER_FIELDS = 'row_id total quantity paid placed_at note';

export const GRAPHQL_QUESTIONS = {
  '(a) selective search, sort, limit 50': `{ orders(where: {total: {_gte: 995}, paid: {_eq: true}}, order_by: [{placed_at: desc}], limit: 50) { ${ORDER_FIELDS} } }`,
  '(b) group-by month over all orders': `{ orders_aggregate(group_by: [placed_at_month]) { groups { key { placed_at_month } aggregate { count sum { total } } } } }`,
  '(c) search through the customer ref': `{ orders(where: {customer: {country: {_eq: "DE"}}}, order_by: [{placed_at: desc}], limit: 50) { ${ORDER_FIELDS} } }`,
};

type Ids = Record<string, number>;
type Question = keyof typeof GRAPHQL_QUESTIONS;

/** The order's attributes as an EAV system reads them: one join per attribute. */
function pivot(ids: Ids): string {
  return `SELECT e.row_id, t.v_float AS total, q.v_int AS quantity, p.v_bool AS paid, pl.v_ts AS placed_at, n.v_text AS note, c.v_uuid AS customer
    FROM eav_entity e
    LEFT JOIN eav_value t ON t.row_id = e.row_id AND t.attribute_id = ${ids['2.total']}
    LEFT JOIN eav_value q ON q.row_id = e.row_id AND q.attribute_id = ${ids['2.quantity']}
    LEFT JOIN eav_value p ON p.row_id = e.row_id AND p.attribute_id = ${ids['2.paid']}
    LEFT JOIN eav_value pl ON pl.row_id = e.row_id AND pl.attribute_id = ${ids['2.placed_at']}
    LEFT JOIN eav_value n ON n.row_id = e.row_id AND n.attribute_id = ${ids['2.note']}
    LEFT JOIN eav_value c ON c.row_id = e.row_id AND c.attribute_id = ${ids['2.customer']}
   WHERE e.project = 'demo' AND e.schema_id = 2 AND e.deleted_at IS NULL`;
}

export const EAV_QUESTIONS: Record<Question, (ids: Ids) => string> = {
  '(a) selective search, sort, limit 50': (ids) =>
    `SELECT * FROM (${pivot(ids)}) o WHERE total >= 995 AND paid ORDER BY placed_at DESC NULLS FIRST, row_id LIMIT 50`,
  '(b) group-by month over all orders': (ids) =>
    `SELECT date_trunc('month', placed_at AT TIME ZONE 'UTC') AS month, count(*), sum(total) FROM (${pivot(ids)}) o GROUP BY 1 ORDER BY 1 NULLS LAST`,
  '(c) search through the customer ref': (ids) =>
    `SELECT o.* FROM (${pivot(ids)}) o
      WHERE EXISTS (SELECT 1 FROM eav_entity ce JOIN eav_value cc ON cc.row_id = ce.row_id AND cc.attribute_id = ${ids['1.country']}
                     WHERE ce.row_id = o.customer AND ce.deleted_at IS NULL AND cc.v_text = 'DE')
      ORDER BY placed_at DESC NULLS FIRST, row_id LIMIT 50`,
};

// The same SQL shapes the gateway's compiler emits (time bucket on a plain TIMESTAMP, the ref
// filter as an uncorrelated semi-join), so the ratio to it measures merge-on-read alone.
export const RAW_QUESTIONS: Record<Question, (orders: string, customers: string) => string> = {
  '(a) selective search, sort, limit 50': (orders) =>
    `SELECT row_id, total, quantity, paid, placed_at, note FROM read_parquet(${orders}) WHERE total >= 995 AND paid ORDER BY placed_at DESC NULLS FIRST, row_id LIMIT 50`,
  '(b) group-by month over all orders': (orders) =>
    `SELECT date_trunc('month', make_timestamp(epoch_us(placed_at))) AS month, count(*), sum(total) FROM read_parquet(${orders}) GROUP BY 1 ORDER BY 1 NULLS LAST`,
  '(c) search through the customer ref': (orders, customers) =>
    `SELECT o.row_id, o.total, o.quantity, o.paid, o.placed_at, o.note FROM read_parquet(${orders}) o
      WHERE o.customer IN (SELECT c.row_id FROM read_parquet(${customers}) c WHERE c.country = 'DE')
      ORDER BY o.placed_at DESC NULLS FIRST, o.row_id LIMIT 50`,
};

/** (b) and (c) as one would first write them; DuckDB answers these slower (date_trunc through ICU, EXISTS via a delim join). */
export const RAW_OBVIOUS: Partial<Record<Question, (orders: string, customers: string) => string>> = {
  '(b) group-by month over all orders': (orders) =>
    `SELECT date_trunc('month', placed_at) AS month, count(*), sum(total) FROM read_parquet(${orders}) GROUP BY 1 ORDER BY 1 NULLS LAST`,
  '(c) search through the customer ref': (orders, customers) =>
    `SELECT o.row_id, o.total, o.quantity, o.paid, o.placed_at, o.note FROM read_parquet(${orders}) o
      WHERE EXISTS (SELECT 1 FROM read_parquet(${customers}) c WHERE c.row_id = o.customer AND c.country = 'DE')
      ORDER BY o.placed_at DESC NULLS FIRST, o.row_id LIMIT 50`,
};
