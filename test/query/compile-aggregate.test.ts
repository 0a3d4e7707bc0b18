// The aggregate plan and its DuckDB compiler as pure functions, without a database: each plan's
// exact statement and parameters (keys through refs, buckets in a zone, HAVING, group order, top-N,
// batches of parents, the float guard, a row filter per entity read), and the planners' errors.
import { describe, expect, it } from 'vitest';
import { Catalog, loadCatalog, type EntitySchema } from '../../src/catalog/index.js';
import { ValidationError } from '../../src/errors/index.js';
import { aggregateEntities, compileAggregate } from '../../src/query/compile-aggregate.js';
import { parseWhere } from '../../src/graphql/bind-filter.js';
import { parseTimeZone, planAggregate, type AggregateQuestion, type GroupKey } from '../../src/query/index.js';
import { groupKeys } from '../../src/graphql/aggregates.js';
import { parseGroupOrder, parseHaving } from '../../src/graphql/aggregate-inputs.js';

const catalog: Catalog = await loadCatalog('schema');
const orders = catalog.entity('orders');
const customers = catalog.entity('customers');
const key = (name: string): GroupKey => groupKeys(catalog, orders).find((k) => k.name === name)!;
const view = (entity: EntitySchema, rowIds?: readonly string[] | null) => `<${entity.name}${rowIds ? ` ${rowIds.join(',')}` : ''}>`;
const PARENT = '01900000-0000-7000-8000-000000000001';

/** Parameter values as plain text, to compare in a table. */
function paramText(values: unknown[]): string[] {
  return values.map((v) => String(v));
}

const question = (q: Partial<AggregateQuestion>): AggregateQuestion => ({ entity: orders, filter: null, request: { count: true, fields: {} }, ...q });

describe('compileAggregate', () => {
  it.each<[string, AggregateQuestion, string, string[]]>([
    ['one row of figures', question({ request: { count: true, fields: { sum: ['total'], stddev: ['quantity'], var_pop: ['total'] } } }), 'SELECT count(*) AS "count", sum(o."total") AS "sum__total", stddev_samp(o."quantity") AS "stddev__quantity", var_pop(o."total") AS "var_pop__total" FROM <orders> AS o WHERE true', []],
    [
      'a UTC bucket on a plain TIMESTAMP (the fast path), keys in order',
      question({ groupBy: [key('placed_at_quarter')] }),
      `SELECT date_trunc('quarter', make_timestamp(epoch_us(o."placed_at"))) AS "key__placed_at_quarter", count(*) AS "count" FROM <orders> AS o WHERE true GROUP BY 1 ORDER BY "key__placed_at_quarter" ASC NULLS LAST`,
      [],
    ],
    [
      'a bucket in a zone: truncated on the local clock, back to an instant',
      question({ groupBy: [key('placed_at_day')], timeZone: 'Europe/Berlin' }),
      `SELECT timezone($1, date_trunc('day', timezone($1, o."placed_at"))) AS "key__placed_at_day", count(*) AS "count" FROM <orders> AS o WHERE true GROUP BY 1 ORDER BY "key__placed_at_day" ASC NULLS LAST`,
      ['Europe/Berlin'],
    ],
    [
      'a zone without a bucket of a timestamp binds no parameter (DuckDB refuses one the statement lacks)',
      question({ groupBy: [key('note')], timeZone: 'Europe/Berlin' }),
      'SELECT o."note" AS "key__note", count(*) AS "count" FROM <orders> AS o WHERE true GROUP BY 1 ORDER BY "key__note" ASC NULLS LAST',
      [],
    ],
    [
      "keys of the referenced row: one LEFT JOIN per ref over the live rows",
      question({ groupBy: [key('customer__tier'), key('customer__signup_at_month'), key('paid')] }),
      `SELECT j1."tier" AS "key__customer__tier", date_trunc('month', make_timestamp(epoch_us(j1."signup_at"))) AS "key__customer__signup_at_month", o."paid" AS "key__paid", count(*) AS "count" FROM <orders> AS o LEFT JOIN <customers> AS j1 ON j1.row_id = o."customer" WHERE true GROUP BY 1, 2, 3 ORDER BY "key__customer__tier" ASC NULLS LAST, "key__customer__signup_at_month" ASC NULLS LAST, "key__paid" ASC NULLS LAST`,
      [],
    ],
    [
      'HAVING over the groups, their order by a figure, then the key; top-N with an offset',
      question({
        request: { count: false, fields: { sum: ['total'] } },
        groupBy: [key('customer__country')],
        having: parseHaving(orders, { count: { _gt: 5 }, avg: { total: { _lte: 2.5 } } }),
        orderBy: parseGroupOrder(orders, [key('customer__country')], [{ max: { placed_at: 'desc_nulls_last' } }]),
        limit: 10,
        offset: 20,
      }),
      `SELECT * FROM (SELECT j1."country" AS "key__customer__country", sum(o."total") AS "sum__total", count(*) AS "count", avg(o."total") AS "avg__total", max(o."placed_at") AS "max__placed_at" FROM <orders> AS o LEFT JOIN <customers> AS j1 ON j1.row_id = o."customer" WHERE true GROUP BY 1) AS g WHERE ((g."count" > $1) AND (g."avg__total" <= $2)) ORDER BY g."max__placed_at" DESC NULLS LAST, g."key__customer__country" ASC NULLS LAST LIMIT 10 OFFSET 20`,
      ['5', '2.5'],
    ],
    [
      'a batch of parents: grouped by the ref, pinned to the parents',
      question({ filter: parseWhere(catalog, orders, { total: { _gt: 1 } }), parents: { via: orders.attributes.find((a) => a.name === 'customer')!, ids: [PARENT] } }),
      `SELECT o."customer" AS "parent__", count(*) AS "count" FROM <orders> AS o WHERE (o."total" > $1::DOUBLE) AND o."customer" = ANY($2::UUID[]) GROUP BY 1 ORDER BY "parent__" ASC NULLS LAST`,
      ['1', `[${PARENT}]`],
    ],
    [
      'a ref filter reads the referenced rows it pins',
      question({ filter: parseWhere(catalog, orders, { row_id: { _eq: PARENT } }) }),
      `SELECT count(*) AS "count" FROM <orders ${PARENT}> AS o WHERE (o."row_id" = $1::UUID)`,
      [PARENT],
    ],
  ])('%s', (_what, q, sql, params) => {
    const statement = compileAggregate(planAggregate(q), view);
    expect(statement.sql).toBe(sql);
    expect(paramText(statement.params)).toEqual(params);
    expect(statement.types).toHaveLength(params.length);
  });

  it('guards float figures only when asked: sums rescaled by 2^64, spreads taken over values scaled by 2^-540', () => {
    const plan = planAggregate(question({ request: { count: false, fields: { sum: ['total', 'quantity'], stddev_pop: ['total'], var_samp: ['total'] } } }));
    expect(compileAggregate(plan, view).sql).not.toContain('isfinite');
    const guarded = compileAggregate(plan, view, true).sql;
    expect(guarded).toContain('CASE WHEN isfinite(sum(o."total")) THEN sum(o."total") ELSE sum(o."total" * 5.421010862427522e-20::DOUBLE) * 18446744073709551616::DOUBLE END AS "sum__total"');
    expect(guarded).toContain('sum(o."quantity") AS "sum__quantity"'); // ints are exact HUGEINT sums
    expect(guarded).toContain('stddev_pop(o."total" * 2.778448436856347e-163::DOUBLE) * 3.599131035634557e+162::DOUBLE AS "stddev_pop__total"');
    expect(guarded).toContain('var_samp(o."total" * 2.778448436856347e-163::DOUBLE) * 3.599131035634557e+162::DOUBLE * 3.599131035634557e+162::DOUBLE AS "var_samp__total"');
    expect(2 ** -540).toBe(2.778448436856347e-163);
    expect(2 ** 540).toBe(3.599131035634557e162);
  });

  it("applies a role's row filter to every read of its entity (the door access control will use)", () => {
    const plan = {
      ...planAggregate(question({ groupBy: [key('customer__tier')], filter: parseWhere(catalog, orders, { customer: { name: { _eq: 'x' } } }) })),
      rowFilters: new Map([['customers', parseWhere(catalog, customers, { country: { _eq: 'DE' } })!]]),
    };
    const { sql } = compileAggregate(plan, view);
    // Once for the ref filter's semi-join, once for the group key's join.
    expect(sql.match(/\(SELECT \* FROM <customers> AS r\d+ WHERE \(r\d+\."country" = \$\d+::VARCHAR\)\)/g)).toHaveLength(2);
    expect(aggregateEntities(plan).map((e) => e.name)).toEqual(['orders', 'customers']);
  });

  it('reads kept parents for the reverse relations it is given, and the referencing rows for the others', () => {
    const filter = parseWhere(catalog, customers, { _or: [{ orders: { total: { _gt: 1 } } }, { orders: { paid: { _eq: true } } }] })!;
    const [kept] = (filter as Extract<typeof filter, { kind: 'or' }>).items;
    const { sql } = compileAggregate(planAggregate(question({ entity: customers, filter })), view, false, new Map([[kept!, '<kept parents>']]));
    expect(sql).toBe(
      'SELECT count(*) AS "count" FROM <customers> AS o WHERE ((o.row_id IN (SELECT parent FROM <kept parents>)) OR (o.row_id IN (SELECT r1."customer" FROM <orders> AS r1 WHERE r1."customer" IS NOT NULL AND (r1."paid" = $1::BOOLEAN))))',
    );
  });
});

describe('the planners', () => {
  it.each([
    ['UTC', null],
    ['Etc/UTC', null],
    ['utc', null],
    ['Europe/Berlin', 'Europe/Berlin'],
    ['US/Eastern', 'America/New_York'],
    [null, null],
  ])('reads time_zone %s as %s (null: UTC, the fast path)', (input, zone) => {
    expect(parseTimeZone(input)).toBe(zone);
  });

  it.each<[string, () => unknown, string]>([
    ['an unknown zone', () => parseTimeZone('Mars/Base'), 'time_zone: "Mars/Base" is not an IANA time zone'],
    ['a having value of the wrong type', () => parseHaving(orders, { sum: { quantity: { _gt: 1.5 } } }), 'having.sum.quantity._gt: expected a 64-bit integer, got 1.5'],
    ['a having null value', () => parseHaving(orders, { count: { _eq: null } }), 'having.count._eq: null is not a value to compare with; use _is_null'],
    ['a figure the entity lacks', () => parseHaving(orders, { avg: { note: { _gt: 1 } } }), 'having.avg.note: not a figure of orders'],
    ['an order by a key not grouped by', () => parseGroupOrder(orders, [key('paid')], [{ key: { note: 'asc' } }]), 'order_by[0].key.note: not a key of group_by (paid)'],
    ['a spread of a string', () => planAggregate(question({ request: { count: false, fields: { stddev: ['note'] } } })), 'stddev.note: orders has no field "note" to take the stddev of'],
  ])('refuses %s with a ValidationError naming the path', (_what, run, message) => {
    expect(run).toThrow(ValidationError);
    expect(run).toThrow(message);
  });

  it('computes each figure once, also when HAVING and the order name it again', () => {
    const plan = planAggregate(
      question({
        request: { count: true, fields: { sum: ['total'] } },
        groupBy: [key('paid')],
        having: parseHaving(orders, { count: { _gt: 1 }, sum: { total: { _gt: 2 } } }),
        orderBy: parseGroupOrder(orders, [key('paid')], [{ count: 'desc', sum: { total: 'asc' } }]),
      }),
    );
    expect(plan.measures.map((m) => (m.fn === 'count' ? 'count' : `${m.fn}(${m.attribute.name})`))).toEqual(['count', 'sum(total)']);
    expect(plan.orderBy.map((o) => `${o.direction} ${o.nulls}`)).toEqual(['desc first', 'asc last']);
  });
});
