// Child process for the crash test: one flush of `orders` that dies (SIGKILL) after the upload,
// before the manifest commit. Arguments: DATABASE_URL, LAKE_URL, DATA_DIR.
import pino from 'pino';
import { openLakehouse } from '../../src/cli/lakehouse.js';
import { loadCatalog } from '../../src/catalog/index.js';
import { openOltpStore } from '../../src/oltp/index.js';

const [databaseUrl, lakeUrl, dataDir] = process.argv.slice(2) as [string, string, string];
const log = pino({ level: 'silent' });
const catalog = await loadCatalog('schema');
const oltp = await openOltpStore({ databaseUrl, catalog, log });
const lakehouse = await openLakehouse(
  {
    lakeUrl,
    s3: { region: 'us-east-1', forcePathStyle: true },
    dataDir,
    flush: { maxRows: 20_000, maxAgeMs: 3_600_000, checkIntervalMs: 1_000 },
    orphanGraceMs: 600_000,
    faults: {
      async afterUpload(key) {
        process.stdout.write(`uploaded ${key}\n`);
        process.kill(process.pid, 'SIGKILL');
        await new Promise(() => undefined);
      },
    },
  },
  catalog,
  oltp,
  log,
);
await lakehouse.admin.flush(catalog.entity('orders'), true);
process.stdout.write('the flush committed, which it must not have\n');
process.exit(3);
