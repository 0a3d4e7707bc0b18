// `npm run bench:row-filter`: what a role's select permission costs on the search questions (bench/
// search-questions.ts and issue 13's, bench/vocabulary-questions.ts) over 1M orders / 100k customers
// in the mixed state (compacted base, a delta of updates, a buffer), each asked in the same run,
// round-robin, three ways: as the admin (no filter), as the demo's `anonymous` role (filter {}: the
// per-role schema and request set-up alone) and as `analyst` (customers of its country; orders whose
// customer has that country: a filter through a ref, joined wherever an entity is read).
// Usage: npm run bench:row-filter   (BENCH_ORDERS=200000 for a quicker run; BENCH_RUNS=15;
//   BENCH_COUNTRY=DE the analyst's x-hasura-country; BENCH_DATABASE_URL to use a running Postgres)
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
// The bench gateway has no admin token; this server has one, and the demo's roles from schema/demo.json.
const yoga = createGatewayYoga({
  schema: g.schema,
  auth: { adminToken: ADMIN, anonymousRole: 'anonymous' },
  services: { catalog: g.catalog, oltp: g.oltp, admin: g.lakehouse.admin, search: g.lakehouse.search, log: g.log, limits: { defaultLimit: 100, maxLimit: 10_000, maxInsertObjects: 50_000 } },
});
const as = (headers: Record<string, string>) =>
  graphqlCaller((url, init) => yoga.fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } }), 'http://bench/graphql');
const CALLERS = {
  admin: as({ authorization: `Bearer ${ADMIN}` }),
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
    const sizes = await Promise.all(Object.values(CALLERS).map(async (call) => size(await call(query))));
    const [admin, analyst, anonymous] = await timedTogether(Object.values(CALLERS).map((call) => () => call(query)), RUNS);
    rows.push(
      `| ${label} | ${ms(admin!.p50)} / ${ms(admin!.p95)} | ${ms(anonymous!.p50)} / ${ms(anonymous!.p95)} | ${ms(analyst!.p50)} / ${ms(analyst!.p95)} | ` +
        `${(anonymous!.p50 / admin!.p50).toFixed(2)}x | ${(analyst!.p50 / admin!.p50).toFixed(2)}x | ${sizes.join(' / ')} |`,
    );
    console.log(rows.at(-1));
  }
  console.log(`\n${ORDERS.toLocaleString('en')} orders, ${CUSTOMERS.toLocaleString('en')} customers, mixed state; ${RUNS} runs each after 3 warm-ups, admin / anonymous / analyst round-robin; p50 / p95`);
  console.log(`analyst: x-hasura-country ${COUNTRY} (customers {country: {_eq: X-Hasura-Country}}, orders {customer: {country: {_eq: X-Hasura-Country}}})`);
  console.log('| question | admin | anonymous (filter {}) | analyst (filter through a ref) | anonymous / admin | analyst / admin | rows or groups (admin / analyst / anonymous) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
} finally {
  await g.close();
}
