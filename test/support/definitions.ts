// Definitions the value and operator tests share: an `owners` entity, and one attribute of every
// type on an entity that refers to it.

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
