// The typed lake columns DuckDB derives from staged change_log snapshots (bufferRowsSql), for any
// list of attributes: the entity's, or every attribute a schema's definitions ever had.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Attribute } from '../../src/catalog/index.js';
import { DuckDb, bufferRowsSql, replacedVersionsSql } from '../../src/lake/index.js';

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

it('gives the versions updates and deletes replaced: an update’s changed attributes as they were (a json object whole), a delete’s snapshot', async () => {
  const attributes = [attr('s', 'string'), attr('i', 'int'), attr('f', 'float'), attr('j', 'json')];
  const rows = await duck.use(async (c) => {
    await c.run(`CREATE TABLE changes (time_slot BIGINT, schema_id SMALLINT, row_id UUID, deleted_at BIGINT, snapshot VARCHAR, inserted BOOLEAN,
                                       previous_slot BIGINT, previous_values VARCHAR);
      INSERT INTO changes VALUES
        (10, 2, '0190a1b2-0000-7000-8000-000000000001', NULL, '{"s": "new", "i": 7, "f": 2.5, "j": {"a": 1, "b": 2}}', false,
         4, '{"s": "old", "f": null, "j": {"a": 1}}'),
        (11, 2, '0190a1b2-0000-7000-8000-000000000002', 11, '{"s": "gone", "i": 3}', false, 5, NULL),
        (12, 2, '0190a1b2-0000-7000-8000-000000000003', NULL, '{"s": "born"}', true, NULL, NULL),
        (13, 2, '0190a1b2-0000-7000-8000-000000000004', NULL, '{"s": "before the column"}', false, NULL, NULL)`);
    return (await c.runAndReadAll(`SELECT time_slot, deleted_at, s, i, f, j::VARCHAR AS j, superseded_at FROM (${replacedVersionsSql('changes', attributes)}) ORDER BY time_slot`)).getRowObjectsJS();
  });
  // A JSON merge patch would have given {"a":1,"b":2}: the object is the attribute's value, replaced whole.
  expect(rows).toEqual([
    { time_slot: 4n, deleted_at: null, s: 'old', i: 7n, f: null, j: '{"a":1}', superseded_at: 10n },
    { time_slot: 5n, deleted_at: null, s: 'gone', i: 3n, f: null, j: null, superseded_at: 11n },
  ]);
});
