// schema/schema.graphql is what client code generation reads: it must match what the server serves.
import fs from 'node:fs/promises';
import { expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.js';
import { printGatewaySchema } from '../../src/graphql/index.js';

it('schema/schema.graphql matches the schema generated from schema/ (run `npm run schema:print` after changes)', async () => {
  const printed = printGatewaySchema(await loadCatalog('schema'));
  expect(await fs.readFile('schema/schema.graphql', 'utf8')).toBe(printed);
  expect(printed).toMatch(/insert_orders\(\s*objects: \[orders_insert_input!\]!\s+("""[^"]*"""\s+)?on_conflict: orders_on_conflict\s*\): orders_mutation_response/);
  // lake_status shows failing background work per entity (issue 11).
  expect(printed).toMatch(/type lake_entity_status \{[^}]*consecutive_failures: Int![^}]*last_error: String[^}]*last_error_at: DateTime[^}]*retry_at: DateTime/s);
});
