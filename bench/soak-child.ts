// A second gateway process for the soak (bench/soak-run.ts): runs the background flush, compaction
// and GC workers and its own writer on the shared database and lake, reporting each acknowledged
// write on stdout ("ack c|d|u <row_id> [quantity]", "err <kind>") until the soak kills it.
// Arguments: DATABASE_URL, lake settings as JSON, DATA_DIR.
import pino from 'pino';
import { demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { openLakehouse, type LakehouseSettings } from '../src/cli/lakehouse.js';
import { loadCatalog } from '../src/catalog/index.js';
import { openOltpStore } from '../src/oltp/index.js';
import { errorKind } from './soak-kinds.js';

const [databaseUrl, lakeJson, dataDir] = process.argv.slice(2) as [string, string, string];
const log = pino({ level: 'silent' });
const catalog = await loadCatalog('schema');
const oltp = await openOltpStore({ databaseUrl, catalog, log });
const settings = { ...(JSON.parse(lakeJson) as Omit<LakehouseSettings, 'dataDir'>), dataDir } as LakehouseSettings;
const lakehouse = await openLakehouse(settings, catalog, oltp, log);
lakehouse.startWorkers();
process.stdout.write('ready\n');

const orders = catalog.entity('orders');
const { rows } = await oltp.pool.query<{ row_id: string }>(
  'SELECT row_id FROM eav_entity WHERE project = $1 AND schema_id = $2 AND deleted_at IS NULL LIMIT 50',
  [catalog.entity('customers').project, catalog.entity('customers').id],
);
const customerIds = rows.map((r) => r.row_id);
const random = seededRandom(Date.now() % 100_000);
const mine: string[] = [];
for (let i = 0; ; i++) {
  try {
    const choice = random();
    if (choice < 0.7 || mine.length < 5) {
      const [row] = await oltp.writer.insert(orders, [demoOrder(random, customerIds)]);
      mine.push(row!.row_id);
      process.stdout.write(`ack c ${row!.row_id}\n`);
    } else if (choice < 0.9) {
      const id = mine[Math.floor(random() * mine.length)]!;
      process.stdout.write(`try u ${id}\n`);
      if (await oltp.writer.update(orders, id, { quantity: i })) process.stdout.write(`ack u ${id} ${i}\n`);
    } else {
      const id = mine.splice(Math.floor(random() * mine.length), 1)[0]!;
      process.stdout.write(`try d ${id}\n`);
      if (await oltp.writer.softDelete(orders, id)) process.stdout.write(`ack d ${id}\n`);
    }
  } catch (error) {
    process.stdout.write(`err ${errorKind(error)}\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 5));
}
