// The attribute registry: stable ids for every attribute any definition registered, their enum
// values, the start-time check of a definition against them, and the stored attributes of an entity.
import type { Logger } from 'pino';
import { ConfigError } from '../errors/index.js';
import {
  definitionChangeProblems,
  retiredAttributes,
  type Attribute,
  type Catalog,
  type EntitySchema,
  type LakeAttribute,
  type RegisteredAttribute,
} from '../catalog/index.js';
import type { PgClient, PgPool } from './pool.js';

type Queryable = Pick<PgPool | PgClient, 'query'>;

export interface AttributeIds {
  /** Attribute id by entity and attribute name. */
  idOf(entity: EntitySchema, attribute: Attribute): number;
  /** The attribute an id stands for, or undefined for attributes this definition does not have. */
  attributeOf(entity: EntitySchema, attributeId: number): Attribute | undefined;
}

/** Serializes registrations, so two processes starting at once check against each other's values. */
const REGISTRY_LOCK = 0x4c544202; // "LTB" + 2

async function readRegistry(db: Queryable): Promise<RegisteredAttribute[]> {
  const { rows } = await db.query<{ attribute_id: number; project: string; schema_id: number; name: string; type: string; values: string[] }>(
    `SELECT a.attribute_id, a.project, a.schema_id, a.name, a.type,
            coalesce(array_agg(e.value ORDER BY e.value) FILTER (WHERE e.value IS NOT NULL), '{}') AS values
       FROM eav_attribute a LEFT JOIN eav_enum_value e ON e.attribute_id = a.attribute_id
      GROUP BY a.attribute_id ORDER BY a.attribute_id`,
  );
  return rows.map((r) => ({ attributeId: r.attribute_id, project: r.project, schemaId: r.schema_id, name: r.name, type: r.type, enumValues: r.values }));
}

/**
 * Checks the catalog against the registry (evolution rules, src/catalog/evolution.ts), then adds its
 * new attributes, enum values and clock rows, in one transaction: a refused definition registers
 * nothing, so it cannot narrow what later definitions may do.
 */
export async function registerCatalog(pool: PgPool, catalog: Catalog, log?: Logger): Promise<AttributeIds> {
  const client = await pool.connect();
  let registered: RegisteredAttribute[];
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [REGISTRY_LOCK]);
      const problems = definitionChangeProblems(catalog, await readRegistry(client));
      if (problems.length > 0) throw new ConfigError(`schema definitions do not match the database:\n  ${problems.join('\n  ')}`);
      const rows = catalog.entities.flatMap((entity) =>
        entity.attributes.map((a) => ({ project: entity.project, schemaId: entity.id, name: a.name, type: a.type })),
      );
      await client.query(
        `INSERT INTO eav_attribute (project, schema_id, name, type)
         SELECT * FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[])
         ON CONFLICT (project, schema_id, name) DO NOTHING`,
        [rows.map((r) => r.project), rows.map((r) => r.schemaId), rows.map((r) => r.name), rows.map((r) => r.type)],
      );
      const values = catalog.entities.flatMap((entity) =>
        entity.attributes.flatMap((a) => (a.values ?? []).map((value) => ({ project: entity.project, schemaId: entity.id, name: a.name, value }))),
      );
      await client.query(
        `INSERT INTO eav_enum_value (attribute_id, value)
         SELECT a.attribute_id, v.value
           FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[]) AS v (project, schema_id, name, value)
           JOIN eav_attribute a USING (project, schema_id, name)
         ON CONFLICT DO NOTHING`,
        [values.map((v) => v.project), values.map((v) => v.schemaId), values.map((v) => v.name), values.map((v) => v.value)],
      );
      await client.query(
        `INSERT INTO time_slot_clock (project, schema_id, last)
         SELECT project, schema_id, 0 FROM unnest($1::text[], $2::smallint[]) AS t (project, schema_id)
         ON CONFLICT DO NOTHING`,
        [catalog.entities.map((e) => e.project), catalog.entities.map((e) => e.id)],
      );
      registered = await readRegistry(client);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    client.release();
  }

  const byName = new Map<string, number>();
  const byId = new Map<string, Attribute>();
  for (const row of registered) {
    const entity = catalog.entityById(row.project, row.schemaId);
    const attribute = entity?.attributes.find((a) => a.name === row.name);
    if (!entity || !attribute) continue;
    byName.set(`${row.project}/${row.schemaId}/${row.name}`, row.attributeId);
    byId.set(`${row.project}/${row.schemaId}/${row.attributeId}`, attribute);
  }
  for (const entity of catalog.entities) {
    const retired = retiredAttributes(entity, registered);
    if (retired.length > 0) {
      log?.info(
        { entity: entity.name, attributes: retired.map((r) => r.name) },
        'stored attributes this definition does not list: hidden from its API, kept and carried through flushes and compactions',
      );
    }
  }

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

/**
 * Every attribute stored for `entity`, in attribute_id order (the lake's column order): its own,
 * those a newer process registered since this one started, and those its definition dropped. Read
 * fresh, so a flush or compaction writes every column some process may have values for.
 */
export async function storedAttributes(db: Queryable, entity: EntitySchema): Promise<LakeAttribute[]> {
  const { rows } = await db.query<{ name: string; type: LakeAttribute['type'] }>(
    'SELECT name, type FROM eav_attribute WHERE project = $1 AND schema_id = $2 ORDER BY attribute_id',
    [entity.project, entity.id],
  );
  return rows.map((r) => ({ name: r.name, type: r.type }));
}
