// The typed lake columns DuckDB derives from staged change_log snapshots (bufferRowsSql), for any
// list of attributes: the entity's, or every attribute a schema's definitions ever had.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Attribute } from '../../src/catalog/index.js';
import { DuckDb, bufferRowsSql } from '../../src/lake/index.js';

let duck: DuckDb;
beforeAll(async () => {
  duck = await DuckDb.open();
  await duck.use((c) =>
    c.run(`CREATE TABLE staged (time_slot BIGINT, schema_id SMALLINT, row_id UUID, deleted_at BIGINT, snapshot VARCHAR);
      INSERT INTO staged VALUES
        (1, 2, '0190a1b2-0000-7000-8000-000000000001', NULL,
         '{"s": "a\\r\\nb", "i": "9223372036854775807", "t": "0001-01-01T00:00:00.000Z", "d": "9999-12-31", "j": {"x": [1, "y"]}, "gone": "kept"}'),
        (2, 2, '0190a1b2-0000-7000-8000-000000000002', 0, '{"i": -5, "f": 5e-324, "b": false}'),
        (3, 2, '0190a1b2-0000-7000-8000-000000000003', 3, '{"i": "not a number"}')`),
  );
});
afterAll(() => {
  duck?.close();
});

const attr = (name: string, type: Attribute['type']): Attribute => ({ name, type, required: false });

it('types every listed attribute from the snapshot, reads deleted_at 0 as NULL, and a value that does not convert as NULL', async () => {
  const attributes = [attr('s', 'string'), attr('i', 'int'), attr('f', 'float'), attr('b', 'boolean'), attr('t', 'timestamp'), attr('d', 'date'), attr('j', 'json'), attr('gone', 'string'), attr('never', 'ref')];
  const rows = await duck.use(async (c) =>
    (
      await c.runAndReadAll(
        `SELECT deleted_at, s, i, f, b, t::VARCHAR AS t, d::VARCHAR AS d, j::VARCHAR AS j, gone, never, typeof(i) AS i_type, typeof(never) AS never_type
           FROM (${bufferRowsSql('staged', attributes)}) ORDER BY time_slot`,
      )
    ).getRowObjectsJS(),
  );
  expect(rows).toEqual([
    { deleted_at: null, s: 'a\r\nb', i: 9223372036854775807n, f: null, b: null, t: '0001-01-01 00:00:00+00', d: '9999-12-31', j: '{"x":[1,"y"]}', gone: 'kept', never: null, i_type: 'BIGINT', never_type: 'UUID' },
    { deleted_at: null, s: null, i: -5n, f: 5e-324, b: false, t: null, d: null, j: null, gone: null, never: null, i_type: 'BIGINT', never_type: 'UUID' },
    { deleted_at: 3n, s: null, i: null, f: null, b: null, t: null, d: null, j: null, gone: null, never: null, i_type: 'BIGINT', never_type: 'UUID' },
  ]);
});

it('reads the system columns alone for an entity without attributes', async () => {
  const rows = await duck.use(async (c) => (await c.runAndReadAll(`SELECT * FROM (${bufferRowsSql('staged', [])}) ORDER BY time_slot`)).columnNames());
  expect(rows).toEqual(['time_slot', 'schema_id', 'row_id', 'deleted_at']);
});
