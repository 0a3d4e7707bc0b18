// Child process for the crash test: starts an embedded Postgres, says "ready", then waits to be killed.
import pino from 'pino';
import { startEmbeddedPostgres } from '../../src/oltp/index.js';

const [dataDir, port] = process.argv.slice(2);
const server = await startEmbeddedPostgres({ dataDir: dataDir!, port: Number(port), database: 'crash', log: pino({ level: 'silent' }) });
process.stdout.write(`ready ${server.url}\n`);
setInterval(() => undefined, 60_000);
