// The columns a compaction writes: every stored attribute, whatever the compacting process's
// definition lists, and never silently fewer than its inputs have.
import { expect, it } from 'vitest';
import { parseProjectDefinition } from '../../src/catalog/index.js';
import { outputAttributes } from '../../src/compaction/index.js';

const items = parseProjectDefinition(
  { project: 'shop', entities: [{ id: 1, name: 'items', attributes: [{ name: 'name', type: 'string' }] }] },
  'schema/shop.json',
).entities[0]!;
const SYSTEM = ['time_slot', 'schema_id', 'row_id', 'deleted_at'];

it('writes every stored attribute in registry order, also those this definition lacks or no input has', () => {
  const stored = [
    { name: 'name', type: 'string' as const },
    { name: 'color', type: 'string' as const },
    { name: 'weight', type: 'float' as const },
  ];
  const inputs = [{ path: 'a.parquet', columns: [...SYSTEM, 'name', 'color'] }, { path: 'b.parquet', columns: [...SYSTEM, 'name'] }];
  expect(outputAttributes(items, inputs, stored)).toEqual(stored);
});

it('refuses to compact an input column the registry cannot type, rather than drop it', () => {
  expect(() => outputAttributes(items, [{ path: 'a.parquet', columns: [...SYSTEM, 'name', 'mystery'] }], [{ name: 'name', type: 'string' }])).toThrow(
    'a.parquet has columns no attribute is registered for (mystery)',
  );
});
