// What a change of the definitions may do to attributes the database already holds (README,
// "Changing a definition"): the rules, pure, checked at start against the attribute registry.
//  - allowed: add an attribute; add an enum value; drop an attribute (retired for that process:
//    its values stay stored and are carried through flushes and compactions; adding it back with
//    the same type restores it); mark one "deprecated".
//  - refused: change an attribute's type (stored values and lake columns keep the old one); remove
//    an enum value the database has registered (rows and lake files may hold it, and a process
//    without it could neither show nor group it); add a required attribute to an entity the
//    database already has (its rows, and rows older processes still write, have no value).
import type { Catalog } from './catalog.js';
import type { EntitySchema } from './definitions.js';

/** An attribute as the registry (eav_attribute) holds it: every attribute any definition registered. */
export interface RegisteredAttribute {
  attributeId: number;
  project: string;
  schemaId: number;
  name: string;
  type: string;
  /** Every value any definition listed, for enums; empty otherwise. */
  enumValues: readonly string[];
}

/** One line per change the rules refuse, naming file, entity and attribute; empty when all are allowed. */
export function definitionChangeProblems(catalog: Catalog, registered: readonly RegisteredAttribute[]): string[] {
  const problems: string[] = [];
  for (const stored of registered) {
    const entity = catalog.entityById(stored.project, stored.schemaId);
    const attribute = entity?.attributes.find((a) => a.name === stored.name);
    if (!entity || !attribute) continue;
    const at = `${catalog.sourceOf(entity)}: ${entity.name}.${attribute.name}`;
    if (attribute.type !== stored.type) {
      problems.push(
        `${at}: defined as ${attribute.type} but stored as ${stored.type}; changing an attribute's type is not supported (add an attribute with a new name instead)`,
      );
      continue;
    }
    const missing = stored.enumValues.filter((v) => !(attribute.values ?? []).includes(v));
    if (missing.length > 0) {
      problems.push(
        `${at}: enum value${missing.length > 1 ? 's' : ''} ${missing.map((v) => JSON.stringify(v)).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing; ` +
          `the database registered ${missing.length > 1 ? 'them' : 'it'} and rows may hold ${missing.length > 1 ? 'them' : 'it'}, so an enum value can be added but never removed`,
      );
    }
  }
  for (const entity of catalog.entities) {
    const known = registered.filter((r) => r.project === entity.project && r.schemaId === entity.id);
    if (known.length === 0) continue; // a new entity: any attribute may be required
    for (const attribute of entity.attributes) {
      if (attribute.required && !known.some((r) => r.name === attribute.name)) {
        problems.push(
          `${catalog.sourceOf(entity)}: ${entity.name}.${attribute.name}: a new attribute of an entity the database already has cannot be required (stored rows, and rows processes on the older definition write, have no value); add it without "required"`,
        );
      }
    }
  }
  return problems;
}

/** Registered attributes of `entity` that its definition no longer lists: retired for this process. */
export function retiredAttributes(entity: EntitySchema, registered: readonly RegisteredAttribute[]): RegisteredAttribute[] {
  return registered.filter(
    (r) => r.project === entity.project && r.schemaId === entity.id && !entity.attributes.some((a) => a.name === r.name),
  );
}
