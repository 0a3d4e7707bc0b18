// The validated set of projects and entities the gateway serves, with lookups by name and id.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, NotFoundError } from '../errors/index.js';
import { parseProjectDefinition, type Attribute, type EntitySchema, type ProjectDefinition } from './definitions.js';
import { graphqlNameProblems } from './graphql-names.js';

export class Catalog {
  readonly entities: readonly EntitySchema[];
  private readonly byName = new Map<string, EntitySchema>();
  private readonly byProjectAndId = new Map<string, EntitySchema>();
  private readonly sources = new Map<EntitySchema, string>();

  constructor(readonly projects: readonly ProjectDefinition[]) {
    const problems: string[] = [];
    const projectSources = new Map<string, string>();
    for (const project of projects) {
      const other = projectSources.get(project.name);
      if (other) problems.push(`${project.source}: project "${project.name}" is also defined in ${other}`);
      projectSources.set(project.name, project.source);
      for (const entity of project.entities) {
        // GraphQL root fields are named after entities, so names must be unique across projects.
        const clash = this.byName.get(entity.name);
        if (clash && clash.project !== project.name) {
          problems.push(
            `${project.source}: entity "${entity.name}" is also defined in project "${clash.project}"; entity names must be unique across projects`,
          );
        }
        this.byName.set(entity.name, entity);
        this.byProjectAndId.set(`${project.name}/${entity.id}`, entity);
        this.sources.set(entity, project.source);
      }
    }
    // Every generated GraphQL name must be unique, or the schema builder would crash or merge them.
    if (problems.length === 0) problems.push(...graphqlNameProblems(projects));
    if (problems.length > 0) throw new ConfigError(`invalid schema definition\n  ${problems.join('\n  ')}`);
    this.entities = projects.flatMap((p) => p.entities);
  }

  /** The entity named `name`; NotFoundError naming the known ones otherwise. */
  entity(name: string): EntitySchema {
    const entity = this.byName.get(name);
    if (!entity) {
      throw new NotFoundError(`unknown entity "${name}" (known: ${[...this.byName.keys()].join(', ')})`);
    }
    return entity;
  }

  /** The definition file an entity was read from, for error messages. */
  sourceOf(entity: EntitySchema): string {
    return this.sources.get(entity) ?? `project "${entity.project}"`;
  }

  entityById(project: string, schemaId: number): EntitySchema | undefined {
    return this.byProjectAndId.get(`${project}/${schemaId}`);
  }

  /** The entity a ref attribute points to (validated to exist in the same project). */
  refTarget(attribute: Attribute): EntitySchema {
    if (attribute.type !== 'ref' || !attribute.refEntity) throw new Error(`${attribute.name} is not a ref`);
    return this.entity(attribute.refEntity);
  }

  /** Ref attributes of other entities that point at `target`: the reverse relations. */
  referencesTo(target: EntitySchema): { from: EntitySchema; attribute: Attribute }[] {
    return this.entities.flatMap((from) =>
      from.project !== target.project
        ? []
        : from.attributes.filter((a) => a.type === 'ref' && a.refEntity === target.name).map((attribute) => ({ from, attribute })),
    );
  }
}

/** Reads every `*.json` in `dir` as one project's definition. */
export async function loadCatalog(dir: string): Promise<Catalog> {
  let files: string[];
  try {
    files = (await fs.readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch (error) {
    throw new ConfigError(`SCHEMA_DIR=${dir}: cannot read the schema directory (${(error as Error).message})`);
  }
  if (files.length === 0) throw new ConfigError(`SCHEMA_DIR=${dir}: no *.json schema definitions found`);
  const projects = await Promise.all(
    files.map(async (file) => {
      const source = path.join(dir, file);
      const text = await fs.readFile(source, 'utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new ConfigError(`${source}: not valid JSON (${(error as Error).message})`);
      }
      return parseProjectDefinition(json, source);
    }),
  );
  return new Catalog(projects);
}
