// Issue 13's search-screen questions through GraphQL (shared by bench/vocabulary.ts and the lab), and
// the comparison of their answers with the SQL ones.

// The questions as a frontend asks them, in the names issue 13 proposes. When the API lands under
// other names, change them here; `answer` reads a response into the form the SQL answers take.
export const QUESTIONS = {
  reverseFilter: {
    label: 'customers with an order over 900 and tier PRO, first 50 by name',
    graphql: `{ customers(where: {orders: {total: {_gt: 900}}, tier: {_eq: PRO}}, order_by: [{name: asc}], limit: 50) { row_id name tier } }`,
    answer: (data: any): unknown[] => data.customers.map((c: any) => c.row_id),
  },
  nestedAggregate: {
    label: 'a page of 50 customers with orders_aggregate { count sum { total } }',
    graphql: `{ customers(limit: 50) { row_id name orders_aggregate { aggregate { count sum { total } } } } }`,
    answer: (data: any): unknown[] => data.customers.map((c: any) => [c.row_id, c.orders_aggregate.aggregate.count, c.orders_aggregate.aggregate.sum.total]),
  },
  groupByRef: {
    label: 'top 10 customer tiers by revenue over all orders',
    graphql: `{ orders_aggregate(group_by: [customer__tier]) { groups(order_by: [{sum: {total: desc}}], limit: 10) { key { customer__tier } aggregate { sum { total } } } } }`,
    answer: (data: any): unknown[] => data.orders_aggregate.groups.map((g: any) => [g.key.customer__tier, g.aggregate.sum.total]),
  },
} as const;
export type Question = keyof typeof QUESTIONS;

/** Same answers, or the first difference (sums compared to 1e-9 relative: summation order differs). */
export function difference(a: readonly unknown[], b: readonly unknown[]): string | null {
  const same = (x: unknown, y: unknown): boolean => {
    if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => same(v, y[i]));
    if (typeof x === 'number' || typeof y === 'number' || typeof x === 'bigint' || typeof y === 'bigint') {
      if (x === null || y === null) return x === y;
      const [p, q] = [Number(x), Number(y)];
      return Math.abs(p - q) <= 1e-9 * Math.max(1, Math.abs(p), Math.abs(q));
    }
    return String(x) === String(y);
  };
  if (a.length !== b.length) return `${a.length} vs ${b.length} rows`;
  const i = a.findIndex((v, k) => !same(v, b[k]));
  return i < 0 ? null : `row ${i}: ${JSON.stringify(a[i])} vs ${JSON.stringify(b[i])}`;
}

