// schema/schema.graphql is what client code generation reads: it must match what the server serves.
import fs from 'node:fs/promises';
import { expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.js';
import { printGatewaySchema } from '../../src/graphql/index.js';

it('schema/schema.graphql matches the schema generated from schema/ (run `npm run schema:print` after changes)', async () => {
  const printed = printGatewaySchema(await loadCatalog('schema'));
  expect(await fs.readFile('schema/schema.graphql', 'utf8')).toBe(printed);
  expect(printed).toContain('insert_orders(objects: [orders_insert_input!]!): orders_mutation_response');
});
