// `npm run bench:row-filter`: what a role's select permission costs on the search questions (bench/
// search-questions.ts and issue 13's, bench/vocabulary-questions.ts) over 1M orders / 100k customers
// in the mixed state (compacted base, a delta of updates, a buffer), each asked in the same run,
// round-robin, three ways: as the admin (no filter), as the demo's `anonymous` role (filter {}: the
// per-role schema and request set-up alone) and as `analyst` (customers of its country; orders whose
// customer has that country: a filter through a ref, joined wherever an entity is read), and as the
// admin with the analyst's filters written into each list's `where` (the same rows asked the other
// way: what the role mechanism costs beyond the filter's own work; its answers must equal analyst's).
// Usage: npm run bench:row-filter   (BENCH_ORDERS=200000 for a quicker run; BENCH_RUNS=15;
//   BENCH_COUNTRY=DE the analyst's x-hasura-country; BENCH_DATABASE_URL to use a running Postgres)
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import { Kind, parse, parseValue, print, visit, type ArgumentNode, type FieldNode } from 'graphql';
import { createGatewayYoga } from '../src/graphql/index.js';
import { DemoLoad, describeLake, graphqlCaller, ms, openBenchGateway, timedTogether } from './support.js';
import { GRAPHQL_QUESTIONS } from './search-questions.js';
import { QUESTIONS } from './vocabulary-questions.js';

const ORDERS = Number(process.env.BENCH_ORDERS ?? 1_000_000);
const CUSTOMERS = Math.max(1_000, Math.round(ORDERS / 10));
const BUFFERED = 20_000;
const UPDATES = Math.round(ORDERS / 50);
const CUSTOMER_UPDATES = Math.round(UPDATES / 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const COUNTRY = process.env.BENCH_COUNTRY ?? 'DE';
const ADMIN = 'bench-admin-token';
if (!(ORDERS >= 2 * BUFFERED) || !(RUNS >= 1)) throw new Error(`BENCH_ORDERS must be at least ${2 * BUFFERED} and BENCH_RUNS at least 1`);

const g = await openBenchGateway('bench_row_filter');
// A server of its own over the bench gateway's services: its admin token, the anonymous role, and the demo's roles from schema/demo.json.
const yoga = createGatewayYoga({
  schema: g.schema,
  auth: { adminToken: ADMIN, anonymousRole: 'anonymous' },
  services: { catalog: g.catalog, oltp: g.oltp, admin: g.lakehouse.admin, search: g.lakehouse.search, log: g.log, limits: { defaultLimit: 100, maxLimit: 10_000, maxInsertObjects: 50_000 } },
});
// Exactly these headers (graphqlCaller's default would add the bench's admin token).
const as = (headers: Record<string, string>) => graphqlCaller((url, init) => yoga.fetch(url, init), 'http://bench/graphql', headers);
const admin = as({ authorization: `Bearer ${ADMIN}` });

// The analyst's select filters (schema/demo.json) as `where` of every list and aggregate of the questions.
const country = JSON.stringify(COUNTRY);
const ANALYST_WHERE: Record<string, string> = {
  customers: `{country: {_eq: ${country}}}`,
  orders: `{customer: {country: {_eq: ${country}}}}`,
  orders_aggregate: `{customer: {country: {_eq: ${country}}}}`,
};

/** `query` with each customers/orders field's `where` ANDed with the analyst's filter of that entity. */
function withAnalystWhere(query: string): string {
  const document = visit(parse(query), {
    Field(node: FieldNode): FieldNode | undefined {
      const filter = ANALYST_WHERE[node.name.value];
      if (!filter) return undefined;
      const where = node.arguments?.find((a) => a.name.value === 'where');
      const value = parseValue(where ? `{_and: [${print(where.value)}, ${filter}]}` : filter);
      const argument: ArgumentNode = { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'where' }, value };
      return { ...node, arguments: [...(node.arguments ?? []).filter((a) => a !== where), argument] };
    },
  });
  return print(document);
}

/** Same JSON, numbers to 1e-9 relative (sums add in another order). */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => same(v, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}

const CALLERS = {
  admin,
  // The admin token acting as a role (Hasura's x-hasura-role): the role's permissions, no JWT to verify.
  analyst: as({ authorization: `Bearer ${ADMIN}`, 'x-hasura-role': 'analyst', 'x-hasura-country': COUNTRY }),
  // No credential: the anonymous role, whose filters are {} (every row).
  anonymous: as({}),
};

const questions: [string, string][] = [
  ...Object.entries(GRAPHQL_QUESTIONS),
  ...Object.values(QUESTIONS).map((q): [string, string] => [q.label, q.graphql]),
];

/** The size of an answer: rows of a list, groups of a grouped aggregate. */
function size(data: Record<string, any>): number {
  const value = Object.values(data)[0];
  return Array.isArray(value) ? value.length : (value?.groups?.length ?? 1);
}

try {
  const load = await DemoLoad.load(g, { orders: ORDERS, customers: CUSTOMERS, buffered: BUFFERED });
  await load.compact();
  await load.flushUpdates(UPDATES, CUSTOMER_UPDATES);
  await load.bufferChanges(CUSTOMER_UPDATES);
  console.log(`\nthe mixed state:\n${await describeLake(g, ['customers', 'orders'])}`);

  const rows: string[] = [];
  for (const [label, query] of questions) {
    const filtered = withAnalystWhere(query);
    const sizes = await Promise.all(Object.values(CALLERS).map(async (call) => size(await call(query))));
    const agrees = same(await CALLERS.analyst(query), await admin(filtered)) ? 'equal' : 'DIFFER';
    const [asAdmin, analyst, anonymous, adminFiltered] = await timedTogether([...Object.values(CALLERS).map((call) => () => call(query)), () => admin(filtered)], RUNS);
    const cell = (t: { p50: number; p95: number }) => `${ms(t.p50)} / ${ms(t.p95)}`;
    const ratio = (a: { p50: number }, b: { p50: number }) => `${(a.p50 / b.p50).toFixed(2)}x`;
    rows.push(
      `| ${label} | ${cell(asAdmin!)} | ${cell(anonymous!)} | ${cell(analyst!)} | ${cell(adminFiltered!)} | ` +
        `${ratio(anonymous!, asAdmin!)} | ${ratio(analyst!, asAdmin!)} | ${ratio(analyst!, adminFiltered!)} | ${sizes.join(' / ')} | ${agrees} |`,
    );
    console.log(rows.at(-1));
  }
  console.log(`\n${ORDERS.toLocaleString('en')} orders, ${CUSTOMERS.toLocaleString('en')} customers, mixed state; ${RUNS} runs each after 3 warm-ups, the four callers round-robin; p50 / p95`);
  console.log(`analyst: x-hasura-country ${COUNTRY} (customers {country: {_eq: X-Hasura-Country}}, orders {customer: {country: {_eq: X-Hasura-Country}}})`);
  console.log(
    '| question | admin | anonymous (filter {}) | analyst (filter through a ref) | admin, analyst filter in where | anonymous / admin | analyst / admin | analyst / admin with where | rows or groups (admin / analyst / anonymous) | analyst vs admin with where |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
} finally {
  await g.close();
}
