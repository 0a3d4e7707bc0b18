// The validated set of projects and entities the gateway serves, with lookups by name and id.
// Projects are tenants: entity names and schema ids are unique within a project only, so every
// lookup by name is scoped to a project (`project(name)` gives the catalog of one).
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, NotFoundError, ValidationError } from '../errors/index.js';
import { parseProjectDefinition, type Attribute, type EntitySchema, type ProjectDefinition } from './definitions.js';
import { graphqlNameProblems, reverseRelationFieldName } from './graphql-names.js';

/** A ref of `from` that names the target entity: seen from the target, a reverse relation. */
export interface ReverseRelation {
  from: EntitySchema;
  attribute: Attribute;
}

export class Catalog {
  readonly entities: readonly EntitySchema[];
  /** Entities by name; one name may be defined by several projects. */
  private readonly byName = new Map<string, EntitySchema[]>();
  private readonly byProjectAndId = new Map<string, EntitySchema>();
  private readonly sources = new Map<EntitySchema, string>();
  /** The target of each ref attribute, resolved within its own project once. */
  private readonly refTargets = new Map<Attribute, EntitySchema>();
  private readonly projectCatalogs = new Map<string, Catalog>();
  private readonly reverse = new Map<EntitySchema, ReadonlyMap<string, ReverseRelation>>();

  constructor(readonly projects: readonly ProjectDefinition[]) {
    const problems: string[] = [];
    const projectSources = new Map<string, string>();
    for (const project of projects) {
      const other = projectSources.get(project.name);
      if (other) problems.push(`${project.source}: project "${project.name}" is also defined in ${other}`);
      projectSources.set(project.name, project.source);
      for (const entity of project.entities) {
        this.byName.set(entity.name, [...(this.byName.get(entity.name) ?? []), entity]);
        this.byProjectAndId.set(`${project.name}/${entity.id}`, entity);
        this.sources.set(entity, project.source);
      }
      for (const entity of project.entities) {
        for (const attribute of entity.attributes) {
          const target = attribute.refEntity === undefined ? undefined : project.entities.find((e) => e.name === attribute.refEntity);
          if (target) this.refTargets.set(attribute, target);
        }
      }
    }
    // Every generated GraphQL name must be unique within a project (each has its own schema), or
    // the schema builder would crash or merge them.
    if (problems.length === 0) problems.push(...graphqlNameProblems(projects));
    if (problems.length > 0) throw new ConfigError(`invalid schema definition\n  ${problems.join('\n  ')}`);
    this.entities = projects.flatMap((p) => p.entities);
  }

  /** Names of the projects, in definition order. */
  get projectNames(): string[] {
    return this.projects.map((p) => p.name);
  }

  /** The catalog of one project alone: what a project's endpoint, schema and admin calls see. */
  project(name: string): Catalog {
    let scoped = this.projectCatalogs.get(name);
    if (!scoped) {
      const definition = this.projects.find((p) => p.name === name);
      if (!definition) throw new NotFoundError(`unknown project "${name}" (known: ${this.projectNames.join(', ')})`);
      scoped = this.projects.length === 1 ? this : new Catalog([definition]);
      this.projectCatalogs.set(name, scoped);
    }
    return scoped;
  }

  /**
   * The entity named `name` in `project`; without a project, the only entity of that name.
   * NotFoundError naming the known ones when there is none; ValidationError when several projects
   * define the name and none was named.
   */
  entity(name: string, project?: string): EntitySchema {
    const scope = project === undefined ? this : this.project(project);
    const found = scope.byName.get(name) ?? [];
    if (found.length === 1) return found[0]!;
    if (found.length > 1) {
      throw new ValidationError(
        `entity "${name}" is defined in several projects (${found.map((e) => e.project).join(', ')}); name the project`,
      );
    }
    const where = project === undefined ? '' : ` in project "${project}"`;
    throw new NotFoundError(`unknown entity "${name}"${where} (known: ${[...scope.byName.keys()].join(', ')})`);
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
    const target = this.refTargets.get(attribute);
    if (attribute.type !== 'ref' || !target) throw new Error(`${attribute.name} is not a ref of this catalog`);
    return target;
  }

  /** Ref attributes of other entities that point at `target`: the reverse relations. */
  referencesTo(target: EntitySchema): ReverseRelation[] {
    return this.entities.flatMap((from) =>
      from.project !== target.project
        ? []
        : from.attributes.filter((a) => a.type === 'ref' && a.refEntity === target.name).map((attribute) => ({ from, attribute })),
    );
  }

  /**
   * The reverse relations of `target` by the field name they have on its output type and inputs
   * (`orders`, or `orders_by_<ref>` when several refs of one entity point at it); computed once,
   * since filters and sorts look them up per request.
   */
  reverseRelations(target: EntitySchema): ReadonlyMap<string, ReverseRelation> {
    let relations = this.reverse.get(target);
    if (!relations) {
      const refs = this.referencesTo(target);
      relations = new Map(refs.map((r) => [reverseRelationFieldName(r.from, r.attribute, refs.filter((s) => s.from === r.from).length), r]));
      this.reverse.set(target, relations);
    }
    return relations;
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
