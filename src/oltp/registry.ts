// Registers the catalog's attributes in the EAV attribute table and gives each its stable id.
import { ConfigError } from '../errors/index.js';
import type { Attribute, Catalog, EntitySchema } from '../catalog/index.js';
import type { PgPool } from './pool.js';

export interface AttributeIds {
  /** Attribute id by entity and attribute name. */
  idOf(entity: EntitySchema, attribute: Attribute): number;
  /** The attribute an id stands for, or undefined for attributes no longer defined. */
  attributeOf(entity: EntitySchema, attributeId: number): Attribute | undefined;
}

/**
 * Inserts attributes new to the database and a clock row per entity; an attribute whose type
 * changed stops the start, since stored values would no longer match it.
 */
export async function registerCatalog(pool: PgPool, catalog: Catalog): Promise<AttributeIds> {
  const rows = catalog.entities.flatMap((entity) =>
    entity.attributes.map((a) => ({ project: entity.project, schemaId: entity.id, name: a.name, type: a.type })),
  );
  await pool.query(
    `INSERT INTO eav_attribute (project, schema_id, name, type)
     SELECT * FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[])
     ON CONFLICT (project, schema_id, name) DO NOTHING`,
    [rows.map((r) => r.project), rows.map((r) => r.schemaId), rows.map((r) => r.name), rows.map((r) => r.type)],
  );
  await pool.query(
    `INSERT INTO time_slot_clock (project, schema_id, last)
     SELECT project, schema_id, 0 FROM unnest($1::text[], $2::smallint[]) AS t (project, schema_id)
     ON CONFLICT DO NOTHING`,
    [catalog.entities.map((e) => e.project), catalog.entities.map((e) => e.id)],
  );
  const { rows: stored } = await pool.query<{
    attribute_id: number;
    project: string;
    schema_id: number;
    name: string;
    type: string;
  }>('SELECT attribute_id, project, schema_id, name, type FROM eav_attribute');

  const byName = new Map<string, number>();
  const byId = new Map<string, Attribute>();
  const problems: string[] = [];
  for (const row of stored) {
    const entity = catalog.entityById(row.project, row.schema_id);
    const attribute = entity?.attributes.find((a) => a.name === row.name);
    if (!entity || !attribute) continue;
    if (attribute.type !== row.type) {
      problems.push(
        `${entity.name}.${attribute.name}: defined as ${attribute.type} but stored as ${row.type}; changing an attribute's type is not supported (add a new attribute instead)`,
      );
    }
    byName.set(`${row.project}/${row.schema_id}/${row.name}`, row.attribute_id);
    byId.set(`${row.project}/${row.schema_id}/${row.attribute_id}`, attribute);
  }
  if (problems.length > 0) throw new ConfigError(`schema definitions do not match the database:\n  ${problems.join('\n  ')}`);

  return {
    idOf(entity, attribute) {
      const id = byName.get(`${entity.project}/${entity.id}/${attribute.name}`);
      if (id === undefined) throw new Error(`attribute ${entity.name}.${attribute.name} is not registered`);
      return id;
    },
    attributeOf(entity, attributeId) {
      return byId.get(`${entity.project}/${entity.id}/${attributeId}`);
    },
  };
}
