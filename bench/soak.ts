// `npm run soak [-- --minutes 30]`: the soak of bench/soak-run.ts against a throwaway database
// (BENCH_DATABASE_URL / DATABASE_URL's server, else an embedded Postgres); exit code 1 if a row was lost.
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import { benchDatabase } from './support.js';
import { runSoak } from './soak-run.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const minutes = option('minutes', 30);
if (!(minutes > 0 && minutes <= 24 * 60)) throw new Error('--minutes must be between 0 and 1440');

const database = await benchDatabase('soak');
try {
  console.log(`soak: ${minutes} min on loopback (Postgres, S3 server, a child gateway); faults every ${option('fault-seconds', 8)} s`);
  const report = await runSoak({
    durationMs: minutes * 60_000,
    databaseUrl: database.url,
    writers: option('writers', 3),
    searchers: option('searchers', 2),
    faultEveryMs: option('fault-seconds', 8) * 1000,
    progress: (line) => console.log(line),
  });
  const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  console.log(`duration: ${report.durationS} s`);
  console.log(`operations: ${total(report.operations)} ${JSON.stringify(report.operations)}`);
  const { ['postgres connections terminated (count)']: terminated, ...injected } = report.faults;
  console.log(`faults injected: ${total(injected)} ${JSON.stringify(injected)}; Postgres connections terminated by them: ${terminated ?? 0}`);
  console.log(`rows checked: ${report.rowsChecked}`);
  console.log(`rows lost: ${report.rowsLost}${report.lostExamples.length ? ` ${JSON.stringify(report.lostExamples)}` : ''}`);
  console.log(`errors by kind: ${JSON.stringify(report.errors, null, 1)}`);
  for (const v of report.verify) console.log(`verify ${v.entity}: ok=${v.ok} truth_rows=${v.truth_rows} lake_rows=${v.lake_rows} ${v.duration_ms} ms`);
  if (report.rowsLost > 0) process.exitCode = 1;
} finally {
  await database.drop();
}
process.exit();
