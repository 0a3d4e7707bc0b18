// The lab's question suite: each question through GraphQL (ours), in raw DuckDB over one compacted
// Parquet file per entity in the compiler's SQL shapes, and in the EAV store in several SQL forms
// (the fastest measured counts). Every form answers in one comparable shape, checked against raw.
import { GRAPHQL_QUESTIONS, RAW_QUESTIONS, EAV_QUESTIONS } from './search-questions.js';
import { QUESTIONS as VOCABULARY } from './vocabulary-questions.js';
import { EAV_FORMS, RAW, type CompactedFiles, type EavLayout } from './vocabulary-sql.js';

export type Rows = Record<string, unknown>[];
/** Runs SQL (DuckDB or Postgres) and returns its rows. */
export type Sql = (sql: string, params?: unknown[]) => Promise<Rows>;

export interface LabQuestion {
  key: string;
  label: string;
  graphql: string;
  /** A GraphQL response in the answer shape. */
  answer(data: any): unknown[];
  /** Raw DuckDB over the compacted files, in the answer shape. */
  raw(sql: Sql, files: CompactedFiles): Promise<unknown[]>;
  /** The EAV store's forms (search_path on the bench's indexed copy), each in the answer shape. */
  eav: Record<string, (sql: Sql, layout: EavLayout) => Promise<unknown[]>>;
}

const ids = (rows: Rows) => rows.map((r) => r.row_id);
/** The value columns after the first (a group key whose type differs between engines). */
const values = (rows: Rows) => rows.map((r) => Object.values(r).slice(1));

const attr = (l: EavLayout, entity: 'orders' | 'customers', name: string) => l.ids[`${l[entity]}.${name}`]!;
const live = (l: EavLayout, entity: 'orders' | 'customers', alias = 'e') =>
  `${alias}.project = '${l.project}' AND ${alias}.schema_id = ${l[entity]} AND ${alias}.deleted_at IS NULL`;

/** Live orders with the named attributes as columns (one LEFT JOIN per attribute, as EAV reads them). */
function orders(l: EavLayout, names: readonly string[]): string {
  const joins = names.map((n, i) => `LEFT JOIN eav_value a${i} ON a${i}.row_id = e.row_id AND a${i}.attribute_id = ${attr(l, 'orders', n)}`);
  const column = (n: string) => ({ total: 'v_float', quantity: 'v_int', paid: 'v_bool', placed_at: 'v_ts', note: 'v_text', customer: 'v_uuid' })[n]!;
  return `SELECT e.row_id, ${names.map((n, i) => `a${i}.${column(n)} AS ${n}`).join(', ')} FROM eav_entity e ${joins.join(' ')} WHERE ${live(l, 'orders')}`;
}

const ALL = ['total', 'quantity', 'paid', 'placed_at', 'note', 'customer'];
const PAGE_ORDER = 'ORDER BY placed_at DESC NULLS FIRST, row_id LIMIT 50';
const [A, B, C] = Object.keys(GRAPHQL_QUESTIONS) as (keyof typeof GRAPHQL_QUESTIONS)[];
const oldIds = (l: EavLayout) => ({ ...l.ids });

export const SUITE: LabQuestion[] = [
  {
    key: 'a',
    label: A!.slice(4),
    graphql: GRAPHQL_QUESTIONS[A!],
    answer: (d) => d.orders.map((o: any) => o.row_id),
    raw: async (sql, f) => ids(await sql(RAW_QUESTIONS[A!](f.orders, f.customers))),
    eav: {
      'pivot, then filter': async (sql, l) => ids(await sql(EAV_QUESTIONS[A!](oldIds(l)))),
      'value-index probes joined, then pivot': async (sql, l) =>
        ids(
          await sql(`SELECT * FROM (${orders(l, ALL)}) o WHERE o.row_id IN (
            SELECT t.row_id FROM eav_value t JOIN eav_value p ON p.row_id = t.row_id AND p.attribute_id = ${attr(l, 'orders', 'paid')} AND p.v_bool
             WHERE t.attribute_id = ${attr(l, 'orders', 'total')} AND t.v_float >= 995) ${PAGE_ORDER}`),
        ),
      // The planner pivots every order before the probes above (2.3 s at 1M): a materialized CTE
      // makes it probe first and pivot only the hits through the primary key.
      'materialized value-index probes, then pivot of the hits': async (sql, l) =>
        ids(
          await sql(`WITH hits AS MATERIALIZED (
              SELECT t.row_id FROM eav_value t JOIN eav_value p ON p.row_id = t.row_id AND p.attribute_id = ${attr(l, 'orders', 'paid')} AND p.v_bool
               WHERE t.attribute_id = ${attr(l, 'orders', 'total')} AND t.v_float >= 995)
            SELECT * FROM (${orders(l, ALL)} AND e.row_id IN (SELECT row_id FROM hits)) o ${PAGE_ORDER}`),
        ),
      'INTERSECT of value-index probes, then pivot': async (sql, l) =>
        ids(
          await sql(`SELECT * FROM (${orders(l, ALL)}) o WHERE o.row_id IN (
            SELECT row_id FROM eav_value WHERE attribute_id = ${attr(l, 'orders', 'total')} AND v_float >= 995
            INTERSECT SELECT row_id FROM eav_value WHERE attribute_id = ${attr(l, 'orders', 'paid')} AND v_bool) ${PAGE_ORDER}`),
        ),
    },
  },
  {
    key: 'b',
    label: B!.slice(4),
    graphql: GRAPHQL_QUESTIONS[B!],
    answer: (d) => d.orders_aggregate.groups.map((g: any) => [g.aggregate.count, g.aggregate.sum.total]),
    raw: async (sql, f) => values(await sql(RAW_QUESTIONS[B!](f.orders, f.customers))),
    eav: {
      'pivot of every attribute': async (sql, l) => values(await sql(EAV_QUESTIONS[B!](oldIds(l)))),
      'the two attributes joined': async (sql, l) =>
        values(await sql(`SELECT date_trunc('month', placed_at AT TIME ZONE 'UTC') AS month, count(*), sum(total) FROM (${orders(l, ['placed_at', 'total'])}) o GROUP BY 1 ORDER BY 1 NULLS LAST`)),
      'one scan, conditional aggregation per row': async (sql, l) =>
        values(
          await sql(`SELECT date_trunc('month', v.placed_at AT TIME ZONE 'UTC') AS month, count(*), sum(v.total)
            FROM eav_entity e LEFT JOIN (
              SELECT row_id, max(v_ts) FILTER (WHERE attribute_id = ${attr(l, 'orders', 'placed_at')}) AS placed_at,
                     max(v_float) FILTER (WHERE attribute_id = ${attr(l, 'orders', 'total')}) AS total
                FROM eav_value WHERE attribute_id IN (${attr(l, 'orders', 'placed_at')}, ${attr(l, 'orders', 'total')}) GROUP BY row_id) v ON v.row_id = e.row_id
            WHERE ${live(l, 'orders')} GROUP BY 1 ORDER BY 1 NULLS LAST`),
        ),
    },
  },
  {
    key: 'c',
    label: C!.slice(4),
    graphql: GRAPHQL_QUESTIONS[C!],
    answer: (d) => d.orders.map((o: any) => o.row_id),
    raw: async (sql, f) => ids(await sql(RAW_QUESTIONS[C!](f.orders, f.customers))),
    eav: {
      'pivot, EXISTS per order': async (sql, l) => ids(await sql(EAV_QUESTIONS[C!](oldIds(l)))),
      'pivot, IN (country value index)': async (sql, l) =>
        ids(
          await sql(`SELECT * FROM (${orders(l, ALL)}) o WHERE o.customer IN (
            SELECT cc.row_id FROM eav_value cc JOIN eav_entity ce ON ce.row_id = cc.row_id AND ce.deleted_at IS NULL
             WHERE cc.attribute_id = ${attr(l, 'customers', 'country')} AND cc.v_text = 'DE') ${PAGE_ORDER}`),
        ),
      'country index -> ref index -> page of 50, then pivot': async (sql, l) =>
        ids(
          await sql(`WITH hits AS MATERIALIZED (
              SELECT r.row_id FROM eav_value cc
                JOIN eav_entity ce ON ce.row_id = cc.row_id AND ce.deleted_at IS NULL
                JOIN eav_value r ON r.attribute_id = ${attr(l, 'orders', 'customer')} AND r.v_uuid = cc.row_id
                JOIN eav_entity oe ON oe.row_id = r.row_id AND ${live(l, 'orders', 'oe')}
                LEFT JOIN eav_value pl ON pl.row_id = r.row_id AND pl.attribute_id = ${attr(l, 'orders', 'placed_at')}
               WHERE cc.attribute_id = ${attr(l, 'customers', 'country')} AND cc.v_text = 'DE'
               ORDER BY pl.v_ts DESC NULLS FIRST, r.row_id LIMIT 50)
            SELECT * FROM (${orders(l, ALL)} AND e.row_id IN (SELECT row_id FROM hits)) o ${PAGE_ORDER}`),
        ),
    },
  },
  {
    key: 'reverse',
    label: VOCABULARY.reverseFilter.label,
    graphql: VOCABULARY.reverseFilter.graphql,
    answer: VOCABULARY.reverseFilter.answer,
    raw: async (sql, f) => ids(await sql(RAW.reverseFilter(f))),
    eav: Object.fromEntries(Object.entries(EAV_FORMS).map(([form, text]) => [form, async (sql: Sql, l: EavLayout) => ids(await sql(text(l)))])),
  },
  {
    key: 'nested',
    label: VOCABULARY.nestedAggregate.label,
    graphql: VOCABULARY.nestedAggregate.graphql,
    answer: VOCABULARY.nestedAggregate.answer,
    raw: async (sql, f) => {
      const page = (await sql(RAW.nestedPage(f))).map((r) => String(r.row_id));
      const sums = new Map((await sql(RAW.nestedAggregate(f, page))).map((r) => [String(r.customer), r]));
      return page.map((id) => [id, sums.get(id)?.count ?? 0, sums.get(id)?.sum_total ?? null]);
    },
    eav: {
      'page, then one grouped ref-index lookup': async (sql, l) => {
        const page = (await sql(customerPage(l))).map((r) => String(r.row_id));
        const sums = new Map(
          (
            await sql(
              `SELECT r.v_uuid AS customer, count(*) AS count, sum(t.v_float) AS sum_total FROM eav_value r
                JOIN eav_entity oe ON oe.row_id = r.row_id AND oe.deleted_at IS NULL
                LEFT JOIN eav_value t ON t.row_id = r.row_id AND t.attribute_id = ${attr(l, 'orders', 'total')}
               WHERE r.attribute_id = ${attr(l, 'orders', 'customer')} AND r.v_uuid = ANY($1::uuid[]) GROUP BY r.v_uuid`,
              [page],
            )
          ).map((r) => [String(r.customer), r]),
        );
        return page.map((id) => [id, sums.get(id)?.count ?? 0, sums.get(id)?.sum_total ?? null]);
      },
      'one statement, LATERAL per customer': async (sql, l) =>
        (
          await sql(`SELECT p.row_id, a.count, a.sum_total FROM (${customerPage(l)}) p LEFT JOIN LATERAL (
              SELECT count(*) AS count, sum(t.v_float) AS sum_total FROM eav_value r
                JOIN eav_entity oe ON oe.row_id = r.row_id AND oe.deleted_at IS NULL
                LEFT JOIN eav_value t ON t.row_id = r.row_id AND t.attribute_id = ${attr(l, 'orders', 'total')}
               WHERE r.attribute_id = ${attr(l, 'orders', 'customer')} AND r.v_uuid = p.row_id) a ON true ORDER BY p.row_id`)
        ).map((r) => [String(r.row_id), r.count, r.sum_total]),
    },
  },
  {
    key: 'groupref',
    label: VOCABULARY.groupByRef.label,
    graphql: VOCABULARY.groupByRef.graphql,
    answer: VOCABULARY.groupByRef.answer,
    raw: async (sql, f) => (await sql(RAW.groupByRef(f))).map((r) => [r.tier, r.sum_total]),
    eav: {
      'orders pivot joined to tiers': async (sql, l) =>
        (await sql(`SELECT c.tier, sum(o.total) AS sum_total FROM (${orders(l, ['total', 'customer'])}) o LEFT JOIN (${customerTiers(l)}) c ON c.row_id = o.customer ${TIER_ORDER}`)).map((r) => [r.tier, r.sum_total]),
      'per-customer sums first, then tiers': async (sql, l) =>
        (
          await sql(`SELECT c.tier, sum(s.total) AS sum_total FROM (SELECT customer, sum(total) AS total FROM (${orders(l, ['total', 'customer'])}) o GROUP BY customer) s
            LEFT JOIN (${customerTiers(l)}) c ON c.row_id = s.customer ${TIER_ORDER}`)
        ).map((r) => [r.tier, r.sum_total]),
    },
  },
];

const TIER_ORDER = 'GROUP BY c.tier ORDER BY sum_total DESC NULLS FIRST, c.tier ASC NULLS LAST LIMIT 10';

function customerPage(l: EavLayout): string {
  return `SELECT e.row_id, n.v_text AS name FROM eav_entity e LEFT JOIN eav_value n ON n.row_id = e.row_id AND n.attribute_id = ${attr(l, 'customers', 'name')}
           WHERE ${live(l, 'customers')} ORDER BY e.row_id LIMIT 50`;
}

function customerTiers(l: EavLayout): string {
  return `SELECT e.row_id, t.v_text AS tier FROM eav_entity e LEFT JOIN eav_value t ON t.row_id = e.row_id AND t.attribute_id = ${attr(l, 'customers', 'tier')} WHERE ${live(l, 'customers')}`;
}
