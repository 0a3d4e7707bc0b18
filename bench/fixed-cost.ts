// `npm run bench:fixed-cost`: a request's fixed cost, what it spends outside its DuckDB statement
// (HTTP, parse and validation, the Postgres listing of its snapshot, the mirror's top-up, the plan,
// the rows to JSON), on small data where the statement is short: 1,000 flushed orders and 100
// buffered, a filtered, sorted page of 10. Per request, the statement's time is taken in the
// gateway; the request's as a client sees it, in process (yoga.fetch, no socket) and over
// loopback HTTP from another process (curl, one kept-alive connection; skipped without curl).
// Usage: npm run bench:fixed-cost -- [--runs 300]. BENCH_DATABASE_URL: a running Postgres (else embedded).
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { DuckDBConnection } from '@duckdb/node-api';
import { BENCH_ADMIN_TOKEN, median, openBenchGateway } from './support.js';

const { values: options } = parseArgs({ options: { runs: { type: 'string', default: '300' } } });
const RUNS = Number(options.runs);
if (!(RUNS >= 10)) throw new Error('--runs must be at least 10');
const WARMUP = 50;
const QUESTION = `{ orders(where: {total: {_gt: 500}}, order_by: [{total: desc}], limit: 10) { row_id total note } }`;

// Every DuckDB statement's time, as the gateway runs it (the same process).
const statements: number[] = [];
const runAndReadAll = DuckDBConnection.prototype.runAndReadAll;
DuckDBConnection.prototype.runAndReadAll = async function (this: DuckDBConnection, ...args: Parameters<typeof runAndReadAll>) {
  const started = performance.now();
  try {
    return await runAndReadAll.apply(this, args);
  } finally {
    statements.push(performance.now() - started);
  }
};

/** Per request: its time and that of its statements (several per request add up). */
function split(requestTimes: readonly number[], perRequest: readonly number[]): string {
  const outside = requestTimes.map((t, i) => t - perRequest[i]!);
  return `request p50 ${median(requestTimes).toFixed(2)} ms, its statements ${median(perRequest).toFixed(2)} ms, outside them ${median(outside).toFixed(2)} ms`;
}

const g = await openBenchGateway('bench_fixed_cost');
const server = createServer(g.yoga);
try {
  const orders = Array.from({ length: 1_000 }, (_, i) => ({ total: i, quantity: i % 7, note: i % 2 ? 'gift' : 'rush' }));
  const insert = `mutation($o: [orders_insert_input!]!) { insert_orders(objects: $o) { affected_rows } }`;
  await g.gql(insert, { o: orders });
  await g.lakehouse.admin.flush(g.catalog.entity('orders'), true);
  await g.gql(insert, { o: orders.slice(0, 100) });

  // In process: yoga.fetch, the request's own handling without a socket.
  for (let i = 0; i < WARMUP; i++) await g.gql(QUESTION);
  const times: number[] = [];
  const perRequest: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    statements.length = 0;
    const started = performance.now();
    await g.gql(QUESTION);
    times.push(performance.now() - started);
    perRequest.push(statements.reduce((a, b) => a + b, 0));
  }
  console.log(`in process (yoga.fetch), ${RUNS} requests: ${split(times, perRequest)}`);

  // Over loopback HTTP from another process: curl asks the same request RUNS times on one connection.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const args = ['-s', '-o', '/dev/null', '-w', '%{stderr}%{time_total} ', '-H', 'content-type: application/json', '-H', `authorization: Bearer ${BENCH_ADMIN_TOKEN}`, '-d', JSON.stringify({ query: QUESTION })];
  const urls = Array.from({ length: WARMUP + RUNS }, () => `http://127.0.0.1:${port}/graphql`);
  statements.length = 0;
  const written = await new Promise<{ stdout: string; stderr: string } | null>((resolve, reject) =>
    execFile('curl', [...args, ...urls], { maxBuffer: 10_000_000 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') resolve(null);
      else if (error) reject(error);
      else resolve({ stdout, stderr });
    }),
  );
  // The first response goes to /dev/null, the others to stdout: each must be an answer.
  if (written && (written.stdout.includes('"errors"') || written.stdout.split('{"data":{"orders":').length !== WARMUP + RUNS)) {
    throw new Error(`curl's requests did not all answer: ${written.stdout.slice(0, 300)}`);
  }
  if (written === null) {
    console.log('over HTTP: skipped (no curl on this machine)');
  } else {
    const curlTimes = written.stderr.trim().split(/\s+/).map((s) => Number(s) * 1000).slice(WARMUP);
    // One statement per request here (a page): the gateway's statements in order, after the warm-up.
    const httpStatements = statements.slice(-RUNS);
    if (curlTimes.length !== RUNS || httpStatements.length !== RUNS) throw new Error(`expected ${RUNS} timed requests and statements, got ${curlTimes.length} and ${httpStatements.length}`);
    console.log(`over loopback HTTP (curl, another process, keep-alive), ${RUNS} requests: ${split(curlTimes, httpStatements)}`);
  }
} finally {
  server.close();
  DuckDBConnection.prototype.runAndReadAll = runAndReadAll;
  await g.close();
}
