// Definitions the tests share: an `owners` entity, one attribute of every type on an entity that
// refers to it, and a one-entity project for tests of lake files.
import { parseProjectDefinition, type EntitySchema } from '../../src/catalog/index.js';

export const OWNERS_ENTITY = { id: 1, name: 'owners', attributes: [{ name: 'label', type: 'string' }] };

/** One attribute of every type, named s i f b t d e r (and j, the json one, unless left out). */
export function attributesOfEveryType(options: { enumValues?: string[]; json?: boolean } = {}): Record<string, unknown>[] {
  return [
    { name: 's', type: 'string' },
    { name: 'i', type: 'int' },
    { name: 'f', type: 'float' },
    { name: 'b', type: 'boolean' },
    { name: 't', type: 'timestamp' },
    { name: 'd', type: 'date' },
    { name: 'e', type: 'enum', values: options.enumValues ?? ['A', 'B'] },
    { name: 'r', type: 'ref', entity: 'owners' },
    ...(options.json === false ? [] : [{ name: 'j', type: 'json' }]),
  ];
}

/** The entity `items` (id 1) of a project `shop` with just `attributes`, as a definition file gives it. */
export function shopItems(attributes: Record<string, unknown>[]): EntitySchema {
  return parseProjectDefinition({ project: 'shop', entities: [{ id: 1, name: 'items', attributes }] }, 'schema/shop.json').entities[0]!;
}
