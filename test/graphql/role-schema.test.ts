// A role's schema is the generated one cut down by name (role-schema.ts): what no permission grants
// must not survive, whatever root field a generator adds later.
import { getNamedType, isObjectType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/index.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { NO_QUERIES_FIELD, schemaForRole } from '../../src/graphql/role-schema.js';

const rootFields = (schema: GraphQLSchema, root: 'Query' | 'Mutation') => Object.keys((root === 'Query' ? schema.getQueryType() : schema.getMutationType())?.getFields() ?? {});

describe('role schemas of the demo', async () => {
  const catalog = await loadCatalog('schema');
  const full = buildSchema(catalog);
  const demo = catalog.project('demo');

  it('a role no permission names keeps no root field of the generated schema, so none is left unclassified', () => {
    const nobody = schemaForRole(full, demo, 'nobody');
    expect(rootFields(nobody, 'Query')).toEqual([NO_QUERIES_FIELD]);
    expect(nobody.getMutationType()).toBeUndefined();
    // and nothing of an entity is reachable
    expect(Object.keys(nobody.getTypeMap()).filter((t) => demo.entities.some((e) => t === e.name || t.startsWith(`${e.name}_`)))).toEqual([]);
  });

  it("the analyst's schema has its columns, relations and writes, and nothing else of the entities", () => {
    const analyst = schemaForRole(full, demo, 'analyst');
    const customers = analyst.getType('customers');
    expect(isObjectType(customers) && Object.keys(customers.getFields()).sort()).toEqual([
      'country', 'name', 'orders', 'orders_aggregate', 'row_id', 'signup_at', 'tier', 'time_slot',
    ]);
    expect(rootFields(analyst, 'Mutation').sort()).toEqual([
      'delete_orders', 'delete_orders_by_pk', 'insert_orders', 'insert_orders_one', 'update_orders', 'update_orders_by_pk', 'update_orders_many',
    ]);
    // lifetime_value is in no type of the analyst's schema, input or output
    for (const type of Object.values(analyst.getTypeMap())) {
      if ('getFields' in type) expect(Object.keys(type.getFields()), type.name).not.toContain('lifetime_value');
    }
    // paid is preset on insert: not in the insert input; the update input has note and quantity only
    const input = (name: string) => Object.keys((analyst.getType(name) as unknown as { getFields(): object }).getFields()).sort();
    expect(input('orders_insert_input')).toEqual(['customer', 'note', 'placed_at', 'quantity', 'row_id', 'total']);
    expect(input('orders_set_input')).toEqual(['note', 'quantity']);
    expect(getNamedType(analyst.getQueryType()!.getFields().customers!.type).name).toBe('customers');
  });
});
