// The catalog's list of generated GraphQL names is complete: every name a built schema has, the
// catalog predicted (so its collision check covers it); and a deprecated attribute shows as such.
import { isEnumType, isInputObjectType, isObjectType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { Catalog, generatedGraphqlNames, parseProjectDefinition, type GeneratedName } from '../../src/catalog/index.js';
import { buildSchema } from '../../src/graphql/index.js';

const projects = [
  parseProjectDefinition(
    {
      project: 'shop',
      entities: [
        {
          id: 1,
          name: 'customers',
          attributes: [
            { name: 'name', type: 'string', required: true },
            { name: 'tier', type: 'enum', values: ['FREE', 'PRO'] },
            { name: 'signup_at', type: 'timestamp' },
            { name: 'born_on', type: 'date' },
            { name: 'visits', type: 'int' },
            { name: 'score', type: 'float', deprecated: true },
            { name: 'vip', type: 'boolean' },
            { name: 'extra', type: 'json' },
          ],
        },
        {
          id: 2,
          name: 'orders',
          attributes: [
            { name: 'customer', type: 'ref', entity: 'customers' },
            { name: 'payer', type: 'ref', entity: 'customers' },
          ],
        },
        { id: 3, name: 'notes', attributes: [{ name: 'customer', type: 'ref', entity: 'customers' }] },
      ],
    },
    'schema/shop.json',
  ),
  parseProjectDefinition({ project: 'crm', entities: [{ id: 1, name: 'leads', attributes: [{ name: 'stage', type: 'enum', values: ['A'] }] }] }, 'schema/crm.json'),
];

/** Every name in the schema as [scope, name], in the scopes the catalog predicts. */
function schemaNames(schema: GraphQLSchema, predictedScopes: Set<string>): string[] {
  const names: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    names.push(`type ${type.name}`);
    if (predictedScopes.has(`field ${type.name}`) && (isObjectType(type) || isInputObjectType(type))) {
      for (const field of Object.keys(type.getFields())) names.push(`field ${type.name} ${field}`);
    }
    if (predictedScopes.has(`enum value ${type.name}`) && isEnumType(type)) {
      for (const value of type.getValues()) names.push(`enum value ${type.name} ${value.name}`);
    }
  }
  return names;
}

function key(g: GeneratedName): string {
  return g.scope.kind === 'type' ? `type ${g.name}` : `${g.scope.kind} ${g.scope.of} ${g.name}`;
}

describe('generated GraphQL names', () => {
  it('every type, root field, entity field, filter field, group key and enum value of a built schema is one the catalog predicts', () => {
    const predicted = generatedGraphqlNames(projects);
    const scopes = new Set(predicted.map((g) => (g.scope.kind === 'type' ? 'type' : `${g.scope.kind} ${g.scope.of}`)));
    expect(scopes).toContain('field Query');
    expect(scopes).toContain('enum value customers_group_by');
    const known = new Set(predicted.map(key));
    // One schema per project: together they hold only names the catalog predicted.
    const catalog = new Catalog(projects);
    const built = catalog.projectNames.flatMap((project) => schemaNames(buildSchema(catalog, project), scopes));
    const unpredicted = built.filter((name) => !known.has(name));
    expect(unpredicted).toEqual([]);
  });
});

describe('deprecation', () => {
  it('an attribute marked "deprecated": true is a deprecated field, still served', () => {
    const schema = buildSchema(new Catalog(projects), 'shop');
    const customers = schema.getType('customers');
    if (!isObjectType(customers)) throw new Error('customers is not an object type');
    expect(customers.getFields().score!.deprecationReason).toMatch(/Deprecated in the schema definition/);
    expect(customers.getFields().visits!.deprecationReason).toBeUndefined();
  });
});
