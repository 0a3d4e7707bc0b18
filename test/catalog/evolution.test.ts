// The rules for changing a definition, checked against the attribute registry: add and drop
// attributes, add enum values and deprecate freely; never change a type or remove an enum value.
import { describe, expect, it } from 'vitest';
import { Catalog, definitionChangeProblems, parseProjectDefinition, retiredAttributes, type RegisteredAttribute } from '../../src/catalog/index.js';

function catalogWith(attributes: unknown[]): Catalog {
  return new Catalog([parseProjectDefinition({ project: 'shop', entities: [{ id: 1, name: 'items', attributes }] }, 'schema/shop.json')]);
}

let nextId = 1;
function registered(name: string, type: string, enumValues: string[] = [], schemaId = 1): RegisteredAttribute {
  return { attributeId: nextId++, project: 'shop', schemaId, name, type, enumValues };
}

const STATUS = { name: 'status', type: 'enum', values: ['NEW', 'DONE'] };

describe('definition changes', () => {
  it('allows adding an attribute', () => {
    expect(definitionChangeProblems(catalogWith([STATUS, { name: 'color', type: 'string' }]), [registered('status', 'enum', ['DONE', 'NEW'])])).toEqual([]);
  });

  it('allows dropping an attribute, which is then retired for this definition', () => {
    const catalog = catalogWith([STATUS]);
    const registry = [registered('status', 'enum', ['DONE', 'NEW']), registered('color', 'string')];
    expect(definitionChangeProblems(catalog, registry)).toEqual([]);
    expect(retiredAttributes(catalog.entity('items'), registry).map((r) => r.name)).toEqual(['color']);
  });

  it('allows adding an enum value and deprecating an attribute', () => {
    const catalog = catalogWith([{ ...STATUS, values: ['NEW', 'DONE', 'LATER'], deprecated: true }]);
    expect(catalog.entity('items').attributes[0]!.deprecated).toBe(true);
    expect(definitionChangeProblems(catalog, [registered('status', 'enum', ['DONE', 'NEW'])])).toEqual([]);
  });

  it('refuses removing an enum value the registry holds, naming file, entity, attribute and value', () => {
    expect(definitionChangeProblems(catalogWith([STATUS]), [registered('status', 'enum', ['ARCHIVED', 'DONE', 'NEW'])])).toEqual([
      'schema/shop.json: items.status: enum value "ARCHIVED" is missing; the database registered it and rows may hold it, so an enum value can be added but never removed',
    ]);
  });

  it('refuses changing a type, naming file, entity, attribute and both types', () => {
    const [problem] = definitionChangeProblems(catalogWith([{ name: 'size', type: 'string' }]), [registered('size', 'int')]);
    expect(problem).toContain('schema/shop.json: items.size: defined as string but stored as int');
  });

  it('refuses an enum turned into a string even though both are text in the store', () => {
    expect(definitionChangeProblems(catalogWith([{ name: 'status', type: 'string' }]), [registered('status', 'enum', ['NEW'])])).toHaveLength(1);
  });

  it('refuses a new required attribute of an entity the database has, and allows one on a new entity', () => {
    const catalog = catalogWith([STATUS, { name: 'color', type: 'string', required: true }]);
    expect(definitionChangeProblems(catalog, [registered('status', 'enum', ['DONE', 'NEW'])])).toEqual([
      expect.stringContaining('schema/shop.json: items.color: a new attribute of an entity the database already has cannot be required'),
    ]);
    expect(definitionChangeProblems(catalog, [])).toEqual([]);
  });

  it('ignores registry rows of entities this catalog does not define', () => {
    expect(definitionChangeProblems(catalogWith([STATUS]), [registered('status', 'int', [], 9)])).toEqual([]);
  });
});
