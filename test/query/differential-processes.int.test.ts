// Differential test across processes and definition versions: three gateway processes on one
// database, each on its own definition, write hostile values (CR/LF, quotes, Unicode, strings over
// 2 MB, the first and last representable dates and times, JSON), update, delete, flush and compact in
// seeded random order; between steps a process restarts on a changed definition (an attribute added,
// one dropped, one added back). After every few steps each process's searches must equal its own
// OLTP point reads. DIFF_PROCESS_STEPS / DIFF_SEED scale and vary it.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/cli/demo-data.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { scratchDir } from '../support/scratch.js';

const STEPS = Number(process.env.DIFF_PROCESS_STEPS ?? 60);
const SEED = Number(process.env.DIFF_SEED ?? 20261130);
const CHECK_EVERY = 10;

type AttributeDef = Record<string, unknown>;
const BASE: AttributeDef[] = [
  { name: 'name', type: 'string' },
  { name: 'size', type: 'int' },
  { name: 'status', type: 'enum', values: ['NEW', 'DONE'] },
  { name: 'at', type: 'timestamp' },
  { name: 'day', type: 'date' },
  { name: 'doc', type: 'json' },
];
const COLOR: AttributeDef = { name: 'color', type: 'string' };
const WEIGHT: AttributeDef = { name: 'weight', type: 'float' };

/** Restarts between steps: which process slot comes back on which definition. */
const RESTARTS: { atStep: number; slot: number; attributes: AttributeDef[]; what: string }[] = [
  { atStep: Math.floor(STEPS / 4), slot: 2, attributes: [...BASE, WEIGHT], what: 'color dropped' },
  { atStep: Math.floor(STEPS / 2), slot: 1, attributes: [...BASE, COLOR, WEIGHT], what: 'weight added' },
  { atStep: Math.floor((3 * STEPS) / 4), slot: 2, attributes: [...BASE, WEIGHT, COLOR], what: 'color added back' },
];

const NAMES = [
  'a\rb',
  '\r',
  'a\r\nb',
  'line\nbreak\n',
  '"quoted", with comma',
  "it's",
  'back\\slash\\',
  'tab\there',
  '\\N',
  '',
  'NULL',
  '😀 emoji 𝄞',
  'e\u0301 combining',
  'שלום עולם',
  '\uFEFFbom',
];
const TIMES = ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z', '2026-11-30T12:00:00.000Z'];
const DAYS = ['0001-01-01', '9999-12-31', '1970-01-01', '2024-02-29'];
const DOCS = [{ a: [1, 'x\r\ny'], 'ü': null }, [], 'just text', 42.5, { nested: { deeper: ['"', '\\', '\n'] } }];

/** A row with long strings shortened to their length and a hash, so a failure shows where they differ. */
function describeRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && v.length > 200 ? `${v.length} chars, ${createHash('sha1').update(v).digest('hex')}` : Object.is(v, -0) ? '-0' : v]),
  );
}

async function schemaDir(attributes: AttributeDef[]): Promise<string> {
  const dir = await scratchDir('schema-');
  await fs.writeFile(path.join(dir, 'shop.json'), JSON.stringify({ project: 'shop', entities: [{ id: 1, name: 'items', attributes }] }));
  return dir;
}

describe('processes on changing definitions answer like the OLTP truth, hostile values included', () => {
  const gateways: TestGateway[] = [];
  afterAll(async () => {
    // Joined processes first: the first one drops the database.
    for (const gw of gateways.slice(1).reverse()) await gw?.close();
    await gateways[0]?.close();
  });

  async function start(attributes: AttributeDef[]): Promise<TestGateway> {
    const first = gateways[0];
    return startTestGateway({
      schemaDir: await schemaDir(attributes),
      ...(first ? { databaseUrl: first.databaseUrl, lake: { lakeUrl: first.lakeSettings.lakeUrl } } : {}),
    });
  }

  /** Each process's search (every row, every attribute it knows) equals its own OLTP point reads. */
  async function expectSearchesEqualTruth(step: string, pickName: () => string): Promise<void> {
    for (const gw of gateways) {
      const names = gw.catalog.entity('items').attributes.map((a) => a.name);
      const fields = `row_id ${names.join(' ')}`;
      const res = await gw.gql(`{ items(order_by: [{row_id: asc}], limit: 1000) { ${fields} } all: items_aggregate { aggregate { count } } }`);
      expect(res.errors, step).toBeUndefined();
      const { rows } = await gw.oltp.pool.query<{ row_id: string }>('SELECT row_id FROM eav_entity WHERE deleted_at IS NULL ORDER BY row_id');
      const ids = rows.map((r) => r.row_id);
      expect(res.data.items.map((r: { row_id: string }) => r.row_id), `${step}: row_ids seen with ${names.join(', ')}`).toEqual(ids);
      expect(res.data.all.aggregate.count, step).toBe(ids.length);
      const truth = await gw.gql(`{ __typename ${ids.map((id, i) => `r${i}: items_by_pk(row_id: "${id}") { ${fields} }`).join(' ')} }`);
      expect(truth.errors, step).toBeUndefined();
      const expected = ids.map((_, i) => truth.data[`r${i}`]);
      expect(res.data.items.map(describeRow), `${step}: search against point reads, ${names.join(', ')}`).toEqual(expected.map(describeRow));
      expect(res.data.items, `${step}: search against point reads, ${names.join(', ')}`).toEqual(expected);
      // A filter on a hostile value finds exactly the rows holding it.
      const name = pickName();
      const filtered = await gw.gql(`query ($n: String) { items(where: {name: {_eq: $n}}, order_by: [{row_id: asc}], limit: 1000) { row_id } }`, { n: name });
      expect(filtered.errors, step).toBeUndefined();
      expect(
        filtered.data.items.map((r: { row_id: string }) => r.row_id),
        `${step}: name _eq ${JSON.stringify(name)}`,
      ).toEqual(expected.filter((r: { name: string | null }) => r.name === name).map((r: { row_id: string }) => r.row_id));
    }
  }

  it(`over ${STEPS} random steps (seed ${SEED})`, { timeout: 600_000 }, async () => {
    const random = seededRandom(SEED);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    gateways.push(await start(BASE), await start([...BASE, COLOR]), await start([...BASE, COLOR, WEIGHT]));
    const live: string[] = [];
    let bigStrings = 0;
    const valueOf = (name: string): unknown => {
      if (random() < 0.15) return null;
      switch (name) {
        case 'name':
          // Now and then a value longer than DuckDB's default CSV line (2 MB).
          if (random() < 0.04) return `${bigStrings++}`.padEnd(2_100_000, 'x\r\n');
          return pick(NAMES);
        case 'size':
          return pick([0, -1, 9007199254740991, Math.floor(random() * 50)]);
        case 'status':
          return pick(['NEW', 'DONE']);
        case 'at':
          return pick(TIMES);
        case 'day':
          return pick(DAYS);
        case 'doc':
          return pick(DOCS);
        case 'color':
          return pick(['red', 'green', 'a\r\nb']);
        default:
          return pick([0.1, -0, 1e308, 5e-324, Math.round(random() * 1000) / 8]);
      }
    };
    const objectFor = (gw: TestGateway, partial: boolean) =>
      Object.fromEntries(
        gw.catalog
          .entity('items')
          .attributes.filter(() => !partial || random() < 0.5)
          .map((a) => [a.name, valueOf(a.name)]),
      );
    const log: string[] = [];
    for (let step = 0; step < STEPS; step++) {
      for (const restart of RESTARTS.filter((r) => r.atStep === step)) {
        await gateways[restart.slot]!.close();
        gateways[restart.slot] = await start(restart.attributes);
        log.push(`restart ${restart.slot}: ${restart.what}`);
        await expectSearchesEqualTruth(`step ${step}, after restart (${restart.what})`, () => pick(NAMES));
      }
      const gw = pick(gateways);
      const items = gw.catalog.entity('items');
      const roll = random();
      if (roll < 0.35 || live.length === 0) {
        const res = await gw.gql(`mutation ($o: items_insert_input!) { insert_items_one(object: $o) { row_id } }`, { o: objectFor(gw, false) });
        expect(res.errors, `step ${step}`).toBeUndefined();
        live.push(res.data.insert_items_one.row_id);
        log.push('insert');
      } else if (roll < 0.65) {
        const id = pick(live);
        const res = await gw.gql(`mutation ($id: UUID!, $s: items_set_input!) { update_items_by_pk(row_id: $id, _set: $s) { row_id } }`, {
          id,
          s: objectFor(gw, true),
        });
        expect(res.errors, `step ${step}`).toBeUndefined();
        log.push('update');
      } else if (roll < 0.75) {
        const id = live.splice(Math.floor(random() * live.length), 1)[0]!;
        expect((await gw.gql(`mutation ($id: UUID!) { delete_items_by_pk(row_id: $id) { row_id } }`, { id })).errors, `step ${step}`).toBeUndefined();
        log.push('delete');
      } else if (roll < 0.9) {
        await gw.lakehouse.admin.flush(items, true);
        log.push('flush');
      } else {
        await gw.lakehouse.admin.compact(items, true);
        log.push('compact');
      }
      if (step % CHECK_EVERY === CHECK_EVERY - 1) await expectSearchesEqualTruth(`step ${step} (${log.slice(-4).join(', ')})`, () => pick(NAMES));
    }
    for (const gw of gateways) await gw.lakehouse.admin.flush(gw.catalog.entity('items'), true);
    await gateways[0]!.lakehouse.admin.compact(gateways[0]!.catalog.entity('items'), true);
    await expectSearchesEqualTruth('after a last flush by each and a compaction by the oldest', () => pick(NAMES));
    expect(log.filter((l) => l === 'flush').length).toBeGreaterThan(0);
    expect(log.filter((l) => l.startsWith('restart')).length).toBe(RESTARTS.length);
  });
});
