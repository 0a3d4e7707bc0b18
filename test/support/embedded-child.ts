// Child process of the embedded Postgres tests: starts an embedded Postgres, says "ready", then
// waits to be killed (the crash test); or, with a third argument, stops it and ends on its own with
// that exit code (what a failed CLI command or test run does).
import pino from 'pino';
import { startEmbeddedPostgres } from '../../src/oltp/index.js';

const [dataDir, port, exitCode] = process.argv.slice(2);
const server = await startEmbeddedPostgres({ dataDir: dataDir!, port: Number(port), database: 'crash', log: pino({ level: 'silent' }) });
process.stdout.write(`ready ${server.url}\n`);
if (exitCode) {
  await server.stop();
  process.exitCode = Number(exitCode);
} else {
  setInterval(() => undefined, 60_000);
}
