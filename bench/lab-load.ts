// The lab's concurrency run: a real `serve` child on loopback over the lab's database and lake, and
// a bounded load generator in this process (no autocannon in the dependencies: a small loop over
// fetch with keep-alive). Each client picks, by weight, a question of the suite, an orders_by_pk
// lookup or a write (insert_orders_one or update_orders_by_pk), for a fixed time per level.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../test/support/ports.js';
import { BENCH_ADMIN_TOKEN, percentile } from './support.js';

export interface LoadGateway {
  url: string;
  child: ChildProcess;
  /** Highest RSS seen by sampling /proc every 100 ms, and the kernel's high-water mark (VmHWM), in MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

const statusMb = (pid: number, field: 'VmRSS' | 'VmHWM'): number | null => {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
};

/**
 * `npm start`'s gateway (src/main.ts serve) as a child: the lab's database and lake, the bench's
 * admin token (the load asks and writes as the admin), no background workers (the buffer only grows during the run, so the states measured stay
 * the states built), `env` over the configuration's defaults.
 */
export async function startLoadGateway(databaseUrl: string, lakeDir: string, dataDir: string, env: Record<string, string>): Promise<LoadGateway> {
  const port = await freePort();
  fs.mkdirSync(dataDir, { recursive: true });
  const logFile = path.join(dataDir, 'gateway.log');
  const out = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    env: {
      ...process.env,
      ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
      WORKERS: 'false',
      ...env,
      DATABASE_URL: databaseUrl,
      LAKE_URL: `file://${lakeDir}`,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', out, out],
  });
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, statusMb(child.pid!, 'VmRSS') ?? 0)), 100);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    clearInterval(sampler);
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    fs.closeSync(out);
  };
  for (const started = Date.now(); Date.now() - started < 120_000; ) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the gateway exited at start; see ${logFile}`);
    }
    try {
      if ((await fetch(`${url}/healthz`)).ok) {
        return { url, child, stop, peakRssMb: () => Math.max(peak, statusMb(child.pid!, 'VmHWM') ?? 0) };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error('the gateway did not answer /healthz within 120 s');
}

export type RequestKind = 'question' | 'by_pk' | 'write';

export interface LoadMix {
  questions: readonly string[];
  orderIds: readonly string[];
  customerIds: readonly string[];
  /** Shares of question, by_pk and write (sum 1). */
  weights: Record<RequestKind, number>;
}

export interface LevelResult {
  clients: number;
  seconds: number;
  /** From the window's end to the end of the last request started in it. */
  drain_seconds: number;
  requests: number;
  throughput_rps: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  errors: number;
  first_errors: string[];
  by_kind: Record<RequestKind, { requests: number; p50_ms: number; p99_ms: number }>;
}

const BY_PK = `query($id: UUID!) { orders_by_pk(row_id: $id) { row_id total paid customer { name } } }`;
const INSERT = `mutation($c: UUID) { insert_orders_one(object: {total: 12.5, quantity: 1, paid: false, customer: $c}) { row_id } }`;
const UPDATE = `mutation($id: UUID!, $t: Float) { update_orders_by_pk(row_id: $id, _set: {total: $t}) { row_id } }`;

/** `clients` loops for `seconds` (after `warmupSeconds` not counted), over HTTP to `url`. */
export async function runLevel(url: string, mix: LoadMix, clients: number, seconds: number, warmupSeconds: number, seed: number): Promise<LevelResult> {
  let state = seed >>> 0;
  const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const latencies: Record<RequestKind, number[]> = { question: [], by_pk: [], write: [] };
  /** Requests that ended inside the measured window (the throughput; latencies are of those started in it). */
  let completedInWindow = 0;
  const errors: string[] = [];
  let errorCount = 0;
  const startAt = performance.now();
  const measureFrom = startAt + warmupSeconds * 1000;
  const endAt = measureFrom + seconds * 1000;
  let nextQuestion = 0;

  const request = async (): Promise<[RequestKind, () => Promise<unknown>]> => {
    const r = random();
    const { question, by_pk } = mix.weights;
    if (r < question) return ['question', () => post(url, mix.questions[nextQuestion++ % mix.questions.length]!)];
    if (r < question + by_pk) return ['by_pk', () => post(url, BY_PK, { id: pick(mix.orderIds) })];
    return random() < 0.5
      ? ['write', () => post(url, INSERT, { c: pick(mix.customerIds) })]
      : ['write', () => post(url, UPDATE, { id: pick(mix.orderIds), t: Math.round(random() * 100_000) / 100 })];
  };
  const client = async () => {
    while (performance.now() < endAt) {
      const [kind, run] = await request();
      const started = performance.now();
      try {
        await run();
        const ended = performance.now();
        if (started >= measureFrom) latencies[kind].push(ended - started);
        if (ended >= measureFrom && ended <= endAt) completedInWindow++;
      } catch (error) {
        if (started >= measureFrom) {
          errorCount++;
          if (errors.length < 5) errors.push(`${kind}: ${(error as Error).message.slice(0, 160)}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  // The last requests started before endAt may end well after it (seconds under 32 clients): the
  // window, not the drain, is the denominator of the throughput.
  const drainSeconds = (performance.now() - endAt) / 1000;
  const all = Object.values(latencies).flat().sort((a, b) => a - b);
  const byKind = Object.fromEntries(
    (Object.keys(latencies) as RequestKind[]).map((k) => {
      const sorted = latencies[k].sort((a, b) => a - b);
      return [k, { requests: sorted.length, p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99) }];
    }),
  ) as LevelResult['by_kind'];
  return {
    clients,
    seconds,
    drain_seconds: drainSeconds,
    requests: all.length,
    throughput_rps: completedInWindow / seconds,
    p50_ms: percentile(all, 50),
    p95_ms: percentile(all, 95),
    p99_ms: percentile(all, 99),
    errors: errorCount,
    first_errors: errors,
    by_kind: byKind,
  };
}

/** One GraphQL request; an HTTP error status or a GraphQL error throws. */
async function post(url: string, query: string, variables: Record<string, unknown> = {}): Promise<void> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text.slice(0, 120)}`);
  const body = JSON.parse(text) as { errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join('; '));
}
