// Generated GraphQL names: every collision between them is a ConfigError naming the file and both
// sources, found by the catalog before any schema is built.
import { describe, expect, it } from 'vitest';
import { Catalog, graphqlNameProblems, parseProjectDefinition, type ProjectDefinition } from '../../src/catalog/index.js';
import { ConfigError } from '../../src/errors/index.js';

function shop(entities: unknown[], name = 'shop', source = `schema/${name}.json`): ProjectDefinition {
  return parseProjectDefinition({ project: name, entities }, source);
}

function entity(id: number, name: string, attributes: unknown[] = []) {
  return { id, name, attributes };
}

describe('generated GraphQL names', () => {
  it.each<[string, ProjectDefinition[], string[]]>([
    [
      'a timestamp "created" beside a date "created_day" (the day bucket is a group key)',
      [shop([entity(1, 'items', [{ name: 'created', type: 'timestamp' }, { name: 'created_day', type: 'date' }])])],
      ['attribute "items.created_day" in schema/shop.json', 'the day bucket of attribute "items.created"', 'items_group_by: created_day', 'items_group_key.created_day'],
    ],
    [
      'a date "due" beside a string "due_month"',
      [shop([entity(1, 'items', [{ name: 'due', type: 'date' }, { name: 'due_month', type: 'string' }])])],
      ['the month bucket of attribute "items.due"', 'items_group_by: due_month'],
    ],
    [
      'an entity x beside an entity x_aggregate',
      [shop([entity(1, 'x'), entity(2, 'x_aggregate')])],
      ['entity "x_aggregate" in schema/shop.json', 'entity "x" in schema/shop.json', 'type "x_aggregate"', 'Query.x_aggregate'],
    ],
    ['an entity x beside an entity x_by_pk', [shop([entity(1, 'x'), entity(2, 'x_by_pk')])], ['Query.x_by_pk']],
    ['an entity x beside an entity x_one (insert_x_one twice)', [shop([entity(1, 'x'), entity(2, 'x_one')])], ['Mutation.insert_x_one']],
    ['an entity x beside an entity x_bool_exp', [shop([entity(1, 'x'), entity(2, 'x_bool_exp')])], ['type "x_bool_exp"']],
    [
      'an entity x_sum_fields beside an entity x without numeric attributes (the name is reserved all the same)',
      [shop([entity(1, 'x'), entity(2, 'x_sum_fields')])],
      ['type "x_sum_fields"'],
    ],
    [
      'enum types of a_b.c and a.b_c',
      [shop([entity(1, 'a_b', [{ name: 'c', type: 'enum', values: ['X'] }]), entity(2, 'a', [{ name: 'b_c', type: 'enum', values: ['X'] }])])],
      ['attribute "a.b_c"', 'attribute "a_b.c"', 'type "a_b_c_enum"', 'type "a_b_c_enum_comparison_exp"'],
    ],
    ['an entity named like a gateway type', [shop([entity(1, 'order_by')])], ['entity "order_by"', 'the gateway', 'type "order_by"']],
    ['an entity named like an admin query', [shop([entity(1, 'jobs')])], ['the admin API', 'Query.jobs']],
    [
      'a reverse relation named like an attribute of its target',
      [shop([entity(1, 'customers', [{ name: 'orders', type: 'int' }]), entity(2, 'orders', [{ name: 'customer', type: 'ref', entity: 'customers' }])])],
      ['the reverse relation of ref "orders.customer"', 'attribute "customers.orders"', 'customers.orders'],
    ],
    [
      "an attribute customer__tier beside the group key of the customer's tier",
      [
        shop([
          entity(1, 'customers', [{ name: 'tier', type: 'string' }]),
          entity(2, 'orders', [{ name: 'customer', type: 'ref', entity: 'customers' }, { name: 'customer__tier', type: 'string' }]),
        ]),
      ],
      ['attribute "customers.tier" through ref "orders.customer"', 'attribute "orders.customer__tier"', 'orders_group_by: customer__tier', 'orders_group_key.customer__tier'],
    ],
    [
      'a quarter bucket beside a field named like it',
      [shop([entity(1, 'items', [{ name: 'due', type: 'date' }, { name: 'due_quarter', type: 'int' }])])],
      ['the quarter bucket of attribute "items.due"', 'items_group_by: due_quarter'],
    ],
    [
      'an attribute of a target named like a nested aggregate',
      [shop([entity(1, 'customers', [{ name: 'orders_aggregate', type: 'int' }]), entity(2, 'orders', [{ name: 'customer', type: 'ref', entity: 'customers' }])])],
      ['the reverse relation of ref "orders.customer"', 'attribute "customers.orders_aggregate"', 'customers.orders_aggregate'],
    ],
    ['an attribute named null (a group_by value GraphQL forbids)', [shop([entity(1, 'items', [{ name: 'null', type: 'string' }])])], ['items_group_by: null', 'GraphQL forbids']],
  ])('refuses %s', (_what, projects, expected) => {
    const problems = graphqlNameProblems(projects);
    expect(problems).toHaveLength(1);
    for (const part of expected) expect(problems[0]).toContain(part);
    expect(() => new Catalog(projects)).toThrow(ConfigError);
  });

  it('accepts distinct names: the demo-like shop, two refs from one entity, buckets beside unrelated names', () => {
    const projects = [
      shop([
        entity(1, 'customers', [{ name: 'name', type: 'string' }, { name: 'tier', type: 'enum', values: ['FREE', 'PRO'] }]),
        entity(2, 'orders', [
          { name: 'customer', type: 'ref', entity: 'customers' },
          { name: 'payer', type: 'ref', entity: 'customers' },
          { name: 'placed_at', type: 'timestamp' },
          { name: 'placed_on', type: 'date' },
          { name: 'placed_at_utc', type: 'string' },
        ]),
      ]),
    ];
    expect(graphqlNameProblems(projects)).toEqual([]);
    expect(() => new Catalog(projects)).not.toThrow();
  });

  it('checks names per project: each project has a schema of its own', () => {
    // x beside x_group would clash in one schema (type x_group); in two projects they do not meet.
    const projects = [shop([entity(1, 'x')]), shop([entity(1, 'x_group')], 'crm')];
    expect(graphqlNameProblems(projects)).toEqual([]);
    expect(() => new Catalog(projects)).not.toThrow();
  });

  it('still refuses a clash inside one of several projects, naming its file', () => {
    const problems = graphqlNameProblems([shop([entity(1, 'x')]), shop([entity(1, 'y'), entity(2, 'y_group')], 'crm')]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('entity "y_group" in schema/crm.json');
  });

  it('lists every clash of one definition at once', () => {
    const problems = graphqlNameProblems([shop([entity(1, 'x'), entity(2, 'x_aggregate'), entity(3, 'x_group')])]);
    expect(problems).toHaveLength(2);
  });
});

describe('enum values GraphQL forbids', () => {
  it.each(['true', 'false', 'null', '__X'])('refuses the enum value %s, naming the file and the path', (value) => {
    expect(() => shop([entity(1, 'items', [{ name: 'state', type: 'enum', values: ['A', value] }])])).toThrow(
      `schema/shop.json: entities[0].attributes[0].values[1]: enum value "${value}" is not allowed by GraphQL`,
    );
  });
});
