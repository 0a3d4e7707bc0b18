import { describe, expect, it } from 'vitest';
import { Catalog, parseProjectDefinition } from '../../src/catalog/index.js';
import { ConfigError, NotFoundError, ValidationError } from '../../src/errors/index.js';

const SOURCE = 'schema/shop.json';

function project(entities: unknown[], name = 'shop') {
  return { project: name, entities };
}

function customers(attributes: unknown[] = [{ name: 'name', type: 'string', required: true }]) {
  return { id: 1, name: 'customers', attributes };
}

/** The error message parseProjectDefinition throws for `json`; fails the test if it does not throw. */
function problemOf(json: unknown): string {
  try {
    parseProjectDefinition(json, SOURCE);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the definition to be rejected');
}

describe('schema definitions', () => {
  it('accepts every attribute type and keeps enum values and ref targets', () => {
    const parsed = parseProjectDefinition(
      project([
        customers([
          { name: 'name', type: 'string', required: true },
          { name: 'visits', type: 'int' },
          { name: 'score', type: 'float' },
          { name: 'active', type: 'boolean' },
          { name: 'seen_at', type: 'timestamp' },
          { name: 'born_on', type: 'date' },
          { name: 'tier', type: 'enum', values: ['FREE', 'PRO'] },
          { name: 'extra', type: 'json' },
        ]),
        { id: 2, name: 'orders', attributes: [{ name: 'customer', type: 'ref', entity: 'customers' }] },
      ]),
      SOURCE,
    );
    expect(parsed.entities.map((e) => e.name)).toEqual(['customers', 'orders']);
    const attrs = parsed.entities[0]!.attributes;
    expect(attrs.map((a) => a.type)).toEqual(['string', 'int', 'float', 'boolean', 'timestamp', 'date', 'enum', 'json']);
    expect(attrs[0]!.required).toBe(true);
    expect(attrs[1]!.required).toBe(false);
    expect(attrs[6]!.values).toEqual(['FREE', 'PRO']);
    expect(parsed.entities[1]!.attributes[0]!.refEntity).toBe('customers');
  });

  it.each<[string, unknown, string]>([
    ['a duplicate entity id', project([customers(), { id: 1, name: 'orders', attributes: [] }]), 'entities[1].id: duplicate entity id 1'],
    ['a duplicate entity name', project([customers(), { ...customers(), id: 2 }]), 'entities[1].name: duplicate entity name "customers"'],
    [
      'a duplicate attribute name',
      project([customers([{ name: 'a', type: 'int' }, { name: 'a', type: 'float' }])]),
      'entities[0].attributes[1].name: duplicate attribute name "a"',
    ],
    ['an unknown type', project([customers([{ name: 'a', type: 'strng' }])]), 'entities[0].attributes[0].type: unknown type "strng"'],
    ['an entity name with capitals', project([{ ...customers(), name: 'Customers' }]), 'entities[0].name: entity name "Customers" must match'],
    ['an attribute name with a dash', project([customers([{ name: 'first-name', type: 'string' }])]), 'attribute name "first-name" must match'],
    ['a project name starting with a digit', project([customers()], '1shop'), 'project: project name "1shop" must match'],
    ...['row_id', 'time_slot', 'schema_id', 'deleted_at', 'project_id'].map(
      (reserved) =>
        [`the reserved name ${reserved}`, project([customers([{ name: reserved, type: 'string' }])]), `"${reserved}" is reserved`] as [
          string,
          unknown,
          string,
        ],
    ),
    [
      'a ref to an unknown entity',
      project([customers([{ name: 'owner', type: 'ref', entity: 'people' }])]),
      'entities[0].attributes[0].entity: ref to unknown entity "people"',
    ],
    ['a ref without a target', project([customers([{ name: 'owner', type: 'ref' }])]), 'a ref needs "entity"'],
    ['an id above SMALLINT', project([{ ...customers(), id: 40000 }]), 'entities[0].id: id 40000 must be an integer from 1 to 32767'],
    ['an id of zero', project([{ ...customers(), id: 0 }]), 'id 0 must be an integer from 1 to 32767'],
    ['a fractional id', project([{ ...customers(), id: 1.5 }]), 'id 1.5 must be an integer'],
    ['an enum without values', project([customers([{ name: 'tier', type: 'enum' }])]), 'an enum needs a non-empty "values" list'],
    ['values on a non-enum', project([customers([{ name: 'n', type: 'int', values: ['A'] }])]), '"values" is only allowed on enum attributes'],
    ['a misspelt key', project([customers([{ name: 'n', type: 'int', requird: true }])]), 'Unrecognized key: "requird"'],
  ])('rejects %s, naming the file and the path', (_what, json, expected) => {
    const message = problemOf(json);
    expect(message).toContain(SOURCE);
    expect(message).toContain(expected);
  });

  it('reports every problem of a file at once', () => {
    const message = problemOf(project([customers([{ name: 'row_id', type: 'x' }]), { id: 1, name: 'orders', attributes: [] }]));
    expect(message).toContain('"row_id" is reserved');
    expect(message).toContain('unknown type "x"');
    expect(message).toContain('duplicate entity id 1');
  });
});

describe('catalog', () => {
  const shop = parseProjectDefinition(
    project([customers(), { id: 2, name: 'orders', attributes: [{ name: 'customer', type: 'ref', entity: 'customers' }] }]),
    SOURCE,
  );

  it('finds entities by name and id and lists reverse relations', () => {
    const catalog = new Catalog([shop]);
    expect(catalog.entity('orders').id).toBe(2);
    expect(catalog.entityById('shop', 1)?.name).toBe('customers');
    expect(catalog.referencesTo(catalog.entity('customers')).map((r) => `${r.from.name}.${r.attribute.name}`)).toEqual([
      'orders.customer',
    ]);
  });

  it('names the known entities when asked for an unknown one', () => {
    expect(() => new Catalog([shop]).entity('invoices')).toThrow('unknown entity "invoices" (known: customers, orders)');
  });

  describe('two projects (tenants) defining the same names', () => {
    // Same entity names, same schema ids, different attributes and refs.
    const crm = parseProjectDefinition(
      project(
        [
          customers([{ name: 'segment', type: 'enum', values: ['A', 'B'] }]),
          { id: 2, name: 'orders', attributes: [{ name: 'buyer', type: 'ref', entity: 'customers' }] },
        ],
        'crm',
      ),
      'schema/crm.json',
    );

    it('allows the same entity name and schema id in two projects', () => {
      const catalog = new Catalog([shop, crm]);
      expect(catalog.entities.map((e) => `${e.project}.${e.name}#${e.id}`)).toEqual(['shop.customers#1', 'shop.orders#2', 'crm.customers#1', 'crm.orders#2']);
      expect(catalog.entity('customers', 'crm').attributes.map((a) => a.name)).toEqual(['segment']);
      expect(catalog.entity('customers', 'shop').attributes.map((a) => a.name)).toEqual(['name']);
      expect(catalog.entityById('crm', 1)).toBe(catalog.entity('customers', 'crm'));
    });

    it('resolves refs and reverse relations within the ref’s own project', () => {
      const catalog = new Catalog([shop, crm]);
      const buyer = catalog.entity('orders', 'crm').attributes[0]!;
      expect(catalog.refTarget(buyer)).toBe(catalog.entity('customers', 'crm'));
      expect(catalog.referencesTo(catalog.entity('customers', 'crm')).map((r) => `${r.from.project}.${r.from.name}.${r.attribute.name}`)).toEqual([
        'crm.orders.buyer',
      ]);
    });

    it('asks for the project when a name without one is ambiguous', () => {
      expect(() => new Catalog([shop, crm]).entity('customers')).toThrow(ValidationError);
      expect(() => new Catalog([shop, crm]).entity('customers')).toThrow('entity "customers" is defined in several projects (shop, crm); name the project');
    });

    it('a project’s catalog holds its own entities only', () => {
      const scoped = new Catalog([shop, crm]).project('crm');
      expect(scoped.projectNames).toEqual(['crm']);
      expect(scoped.entities.map((e) => e.project)).toEqual(['crm', 'crm']);
      expect(scoped.entity('customers').attributes.map((a) => a.name)).toEqual(['segment']);
      expect(() => new Catalog([shop]).entity('customers', 'crm')).toThrow(NotFoundError);
      expect(() => new Catalog([shop, crm]).project('erp')).toThrow('unknown project "erp" (known: shop, crm)');
    });
  });

  it.each([
    ['name', { id: 2, name: 'customers', attributes: [] }, 'schema/shop.json: entities[1].name: duplicate entity name "customers" (also entities[0])'],
    ['schema id', { id: 1, name: 'clients', attributes: [] }, 'schema/shop.json: entities[1].id: duplicate entity id 1 (also entities[0])'],
  ])('refuses a duplicate entity %s within one project, naming file and path', (_what, second, expected) => {
    expect(problemOf(project([customers(), second]))).toContain(expected);
  });

  it('rejects a project defined in two files', () => {
    const again = parseProjectDefinition(project([customers()]), 'schema/shop2.json');
    expect(() => new Catalog([shop, again])).toThrow('project "shop" is also defined in schema/shop.json');
  });
});
