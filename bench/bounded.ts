// RSS of a gateway process under the requests of issue 11 (21-level nesting, 200 aliases, inline-object
// inserts) and idle: a real `serve` child on loopback, sampled from /proc, each phase bounded in time.
//   npx tsx bench/bounded.ts [--root DIR] [--heap-mb 2048] [--docs 20] [--objects 10000] [--timeout-s 180]
//                            [--phases idle,nested,aliases,inserts] [--env K=V ...]
// --root runs another checkout's gateway (e.g. the base branch) against the same steps.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/ports.js';
import { BENCH_ADMIN_TOKEN, benchDatabase } from './support.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const root = path.resolve(option('root', '.'));
const heapMb = Number(option('heap-mb', '2048'));
const docs = Number(option('docs', '20'));
const objectsPerDoc = Number(option('objects', '10000'));
const extraEnv = Object.fromEntries(args.flatMap((a, i) => (args[i - 1] === '--env' ? [a.split('=') as [string, string]] : [])));
// --phases picks some of idle,nested,aliases,inserts; each heavy phase starts on a fresh process.
const phases = new Set(option('phases', 'idle,nested,aliases,inserts').split(','));
const PHASE_TIMEOUT_MS = Number(option('timeout-s', '180')) * 1000;

const rssMb = (pid: number): number | null => {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
  } catch {
    return null;
  }
};

interface Gateway {
  child: ChildProcess;
  url: string;
  exited: Promise<string>;
  log: string;
}

async function startGateway(databaseUrl: string, dataDir: string, n: number): Promise<Gateway> {
  const port = await freePort();
  const log = path.join(dataDir, `gateway-${n}.log`);
  const out = fs.openSync(log, 'w');
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, '--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: root,
    // Issue 12's limits would refuse these requests before the bounds measured here are reached.
    env: { ...process.env, ADMIN_TOKEN: BENCH_ADMIN_TOKEN, MAX_DEPTH: '1000', MAX_ALIASES: '100000', MAX_TOKENS: '10000000', MAX_QUERY_COST: '1000000000', ...extraEnv, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', out, out],
  });
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`exit ${code ?? ''}${signal ?? ''}`)));
  const url = `http://127.0.0.1:${port}`;
  for (const started = Date.now(); Date.now() - started < 120_000; ) {
    if (child.exitCode !== null) throw new Error(`the gateway exited at start; see ${log}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url, exited, log };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the gateway did not answer /healthz within 120 s');
}

interface PhaseResult {
  phase: string;
  peakRssMb: number | null;
  afterRssMb: number | null;
  seconds: number;
  outcome: string;
}

async function post(gw: Gateway, query: string, variables?: unknown): Promise<{ bytes: number; body: any }> {
  const response = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(PHASE_TIMEOUT_MS),
  });
  const text = await response.text();
  return { bytes: Buffer.byteLength(text), body: JSON.parse(text) };
}

const describe = ({ bytes, body }: { bytes: number; body: any }) => {
  const error = body.errors?.[0];
  return error ? `${bytes} B, error ${error.extensions?.code}: ${String(error.message).slice(0, 90)}` : `${bytes} B, ok`;
};

async function phase(gw: Gateway, name: string, work: () => Promise<string>): Promise<PhaseResult> {
  const pid = gw.child.pid!;
  let peak = rssMb(pid);
  const sampler = setInterval(() => {
    const now = rssMb(pid);
    if (now !== null && (peak === null || now > peak)) peak = now;
  }, 50);
  const started = performance.now();
  let outcome: string;
  try {
    outcome = await Promise.race([work(), gw.exited.then((how) => `the process died (${how})`)]);
  } catch (error) {
    // A connection reset comes before the exit event of a process that died: give it a moment.
    const how = await Promise.race([gw.exited, new Promise<null>((r) => setTimeout(() => r(null), 2_000))]);
    outcome = how ? `the process died (${how})` : `request failed: ${(error as Error).message}`;
  } finally {
    clearInterval(sampler);
  }
  if (outcome.includes('aborted due to timeout')) {
    // The server keeps working on a request its client gave up on: stop it, so the next phase starts clean.
    outcome = `no answer within ${PHASE_TIMEOUT_MS / 1000} s (RSS then ${rssMb(pid)} MB); the process was killed and restarted`;
    gw.child.kill('SIGKILL');
    await gw.exited;
  } else if (outcome.startsWith('the process died')) {
    const tail = (await fsp.readFile(gw.log, 'utf8')).split('\n').filter((l) => /heap|memory|fatal/i.test(l)).slice(0, 2).join(' | ');
    if (tail) outcome += `: ${tail.slice(0, 160)}`;
  }
  const result = { phase: name, peakRssMb: peak, afterRssMb: rssMb(pid) ?? null, seconds: Math.round((performance.now() - started) / 100) / 10, outcome };
  console.error(JSON.stringify(result));
  return result;
}

function nested(levels: number): string {
  let inner = 'row_id';
  for (let level = levels; level >= 1; level--) {
    const field = level === 1 ? 'customers' : level % 2 === 0 ? 'orders' : 'customer';
    inner = `${field} { row_id ${inner} }`;
  }
  return `{ ${inner} }`;
}

const aliases = `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: orders(limit: 10000) { row_id total quantity paid placed_at note }`).join(' ')} }`;

function inlineInsert(doc: number): string {
  const items = Array.from(
    { length: objectsPerDoc },
    (_, i) => `{name: "bulk ${doc}-${i}", country: "DE", tier: FREE, signup_at: "2025-01-01T00:00:00Z", lifetime_value: ${i}.25}`,
  );
  return `mutation { insert_customers(objects: [${items.join(', ')}]) { affected_rows } }`;
}

async function main(): Promise<void> {
  const db = await benchDatabase('bounded');
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ltbase-bounded-'));
  const results: PhaseResult[] = [];
  let gw: Gateway | undefined;
  let starts = 0;
  const ensureGateway = async () => {
    if (!gw || gw.child.exitCode !== null || gw.child.signalCode !== null) gw = await startGateway(db.url, dataDir, starts++);
    return gw;
  };
  /** A new process, so that a phase's RSS is its own and not what an earlier phase left. */
  const freshGateway = async () => {
    if (gw && gw.child.exitCode === null && gw.child.signalCode === null) {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
    gw = undefined;
    const g = await ensureGateway();
    results.push({ phase: '(fresh process)', peakRssMb: null, afterRssMb: rssMb(g.child.pid!), seconds: 0, outcome: '' });
    return g;
  };
  try {
    // The demo data set, loaded by the checkout's own CLI (2,000 customers, 8,000 orders).
    await new Promise<void>((resolve, reject) => {
      const seed = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'seed', '--customers', '2000', '--orders', '8000'], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
        stdio: 'ignore',
      });
      seed.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`seed exited ${code}`))));
    });
    let g = await ensureGateway();
    if (phases.has('idle')) {
      await new Promise((r) => setTimeout(r, 3_000));
      results.push({ phase: 'idle after start', peakRssMb: null, afterRssMb: rssMb(g.child.pid!), seconds: 0, outcome: 'no request yet' });
      results.push(await phase(g, 'one small search (warm-up)', async () => describe(await post(g, '{ orders(limit: 5) { row_id total } customers_aggregate { aggregate { count } } }'))));
      await new Promise((r) => setTimeout(r, 3_000));
      results.push({ phase: 'idle after a search', peakRssMb: null, afterRssMb: rssMb(g.child.pid!), seconds: 0, outcome: '' });
    }
    if (phases.has('nested')) {
      g = await freshGateway();
      results.push(await phase(g, '21-level customers/orders nesting', async () => describe(await post(g, nested(21)))));
    }
    if (phases.has('aliases')) {
      g = await freshGateway();
      results.push(await phase(g, '200 aliases of orders(limit: 10000)', async () => describe(await post(g, aliases))));
    }
    if (phases.has('inserts')) {
      g = await freshGateway();
      results.push(
      await phase(g, `${docs} inline-object inserts of ${objectsPerDoc} (${docs * objectsPerDoc} rows)`, async () => {
        let last = '';
        for (let doc = 0; doc < docs; doc++) {
          const answer = await post(g, inlineInsert(doc));
          last = describe(answer);
          if (answer.body.errors) return `doc ${doc}: ${last}`;
        }
        return `${docs} documents, last ${last}`;
      }),
      );
    }
    g = await ensureGateway();
    results.push(await phase(g, 'a small search after all that', async () => describe(await post(g, '{ orders(limit: 5) { row_id } }'))));
  } finally {
    gw?.child.kill('SIGTERM');
    await Promise.race([gw?.exited, new Promise((r) => setTimeout(r, 10_000))]);
    gw?.child.kill('SIGKILL');
    await db.drop();
    await fsp.rm(dataDir, { recursive: true, force: true });
  }
  console.log(`gateway at ${root}, node heap capped at ${heapMb} MB, RSS in MB from /proc/<pid>/status (VmRSS, peak sampled every 50 ms)`);
  console.log('| phase | peak RSS | RSS after | s | outcome |\n| --- | --- | --- | --- | --- |');
  for (const r of results) console.log(`| ${r.phase} | ${r.peakRssMb ?? ''} | ${r.afterRssMb ?? ''} | ${r.seconds} | ${r.outcome} |`);
}

await main();
