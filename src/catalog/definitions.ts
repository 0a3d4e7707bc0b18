// Parses and validates EAV schema definitions (one JSON file per project) into typed entity schemas.
import { z } from 'zod';
import { ConfigError } from '../errors/index.js';
import { NO_PERMISSIONS, PermissionInputs, parseEntityPermissions, type EntityPermissions } from './permissions.js';
import { ATTRIBUTE_TYPES, type AttributeType } from './types.js';

export const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
const ENUM_VALUE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names GraphQL does not allow as enum values (GraphQL spec 3.9), nor `__` prefixes (introspection). */
const GRAPHQL_FORBIDDEN_ENUM_VALUES = ['true', 'false', 'null'];
/** Columns every lake row carries; an attribute may not shadow them. */
export const RESERVED_NAMES = ['row_id', 'time_slot', 'schema_id', 'deleted_at', 'project_id'] as const;
const SMALLINT_MAX = 32767;
const MAX_NAME_LENGTH = 63; // Postgres identifier limit

export interface Attribute {
  readonly name: string;
  readonly type: AttributeType;
  readonly required: boolean;
  /** Allowed values of an enum attribute. */
  readonly values?: readonly string[];
  /** Name of the entity a ref attribute points to (same project). */
  readonly refEntity?: string;
  /** Marked `"deprecated": true`: still served, flagged deprecated in GraphQL (a step before dropping it). */
  readonly deprecated?: boolean;
}

/** An attribute as the lake stores it: a typed column, whatever a process's definition says of it. */
export type LakeAttribute = Pick<Attribute, 'name' | 'type'>;

export interface EntitySchema {
  readonly project: string;
  /** SPEC's schema_id (SMALLINT). */
  readonly id: number;
  readonly name: string;
  readonly attributes: readonly Attribute[];
  /** Per-role permissions (Hasura's select/insert/update/delete_permissions); none: only the admin. */
  readonly permissions?: EntityPermissions;
}

export interface ProjectDefinition {
  readonly name: string;
  /** The file the project was read from, for error messages. */
  readonly source: string;
  readonly entities: readonly EntitySchema[];
}

const AttributeInput = z.strictObject({
  name: z.string(),
  type: z.string(),
  required: z.boolean().optional(),
  values: z.array(z.string()).optional(),
  entity: z.string().optional(),
  deprecated: z.boolean().optional(),
});

const EntityInput = z.strictObject({
  id: z.number(),
  name: z.string(),
  attributes: z.array(AttributeInput),
  select_permissions: PermissionInputs.select_permissions.optional(),
  insert_permissions: PermissionInputs.insert_permissions.optional(),
  update_permissions: PermissionInputs.update_permissions.optional(),
  delete_permissions: PermissionInputs.delete_permissions.optional(),
});

const ProjectInput = z.strictObject({
  project: z.string(),
  entities: z.array(EntityInput).min(1, 'a project needs at least one entity'),
});

type Path = readonly (string | number)[];

function formatPath(path: Path): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part),
    '',
  );
}

class DefinitionProblems {
  private readonly problems: string[] = [];
  constructor(private readonly source: string) {}
  add(path: Path, message: string): void {
    this.problems.push(`${this.source}: ${formatPath(path) || '(root)'}: ${message}`);
  }
  throwIfAny(): void {
    if (this.problems.length > 0) throw new ConfigError(`invalid schema definition\n  ${this.problems.join('\n  ')}`);
  }
}

function checkName(problems: DefinitionProblems, path: Path, name: string, what: string): void {
  if (!NAME_PATTERN.test(name)) {
    problems.add(path, `${what} ${JSON.stringify(name)} must match ${NAME_PATTERN.source}`);
  } else if (name.length > MAX_NAME_LENGTH) {
    problems.add(path, `${what} ${JSON.stringify(name)} is longer than ${MAX_NAME_LENGTH} characters`);
  }
}

function isAttributeType(type: string): type is AttributeType {
  return (ATTRIBUTE_TYPES as readonly string[]).includes(type);
}

/** Validates one project's definition; `source` names the file in every error. */
export function parseProjectDefinition(json: unknown, source: string): ProjectDefinition {
  const problems = new DefinitionProblems(source);
  const shape = ProjectInput.safeParse(json);
  if (!shape.success) {
    for (const issue of shape.error.issues) problems.add(issue.path as Path, issue.message);
    problems.throwIfAny();
  }
  const input = shape.data!;
  checkName(problems, ['project'], input.project, 'project name');

  const entityNames = new Set(input.entities.map((e) => e.name));
  const seenIds = new Map<number, number>();
  const seenNames = new Map<string, number>();
  const entities: EntitySchema[] = input.entities.map((entity, e) => {
    const at: Path = ['entities', e];
    if (!Number.isInteger(entity.id) || entity.id < 1 || entity.id > SMALLINT_MAX) {
      problems.add([...at, 'id'], `id ${entity.id} must be an integer from 1 to ${SMALLINT_MAX} (SMALLINT)`);
    }
    if (seenIds.has(entity.id)) {
      problems.add([...at, 'id'], `duplicate entity id ${entity.id} (also entities[${seenIds.get(entity.id)}])`);
    }
    seenIds.set(entity.id, e);
    checkName(problems, [...at, 'name'], entity.name, 'entity name');
    if (seenNames.has(entity.name)) {
      problems.add([...at, 'name'], `duplicate entity name "${entity.name}" (also entities[${seenNames.get(entity.name)}])`);
    }
    seenNames.set(entity.name, e);

    const seenAttributes = new Map<string, number>();
    const attributes = entity.attributes.map((attribute, a): Attribute => {
      const attrAt: Path = [...at, 'attributes', a];
      checkName(problems, [...attrAt, 'name'], attribute.name, 'attribute name');
      if ((RESERVED_NAMES as readonly string[]).includes(attribute.name)) {
        problems.add([...attrAt, 'name'], `"${attribute.name}" is reserved (${RESERVED_NAMES.join(', ')})`);
      }
      if (seenAttributes.has(attribute.name)) {
        problems.add(
          [...attrAt, 'name'],
          `duplicate attribute name "${attribute.name}" (also attributes[${seenAttributes.get(attribute.name)}])`,
        );
      }
      seenAttributes.set(attribute.name, a);
      if (!isAttributeType(attribute.type)) {
        problems.add([...attrAt, 'type'], `unknown type "${attribute.type}" (expected one of ${ATTRIBUTE_TYPES.join(', ')})`);
        return { name: attribute.name, type: 'string', required: false };
      }
      if (attribute.type === 'enum') {
        const values = attribute.values ?? [];
        if (values.length === 0) problems.add([...attrAt, 'values'], 'an enum needs a non-empty "values" list');
        values.forEach((value, v) => {
          if (!ENUM_VALUE_PATTERN.test(value)) {
            problems.add([...attrAt, 'values', v], `enum value ${JSON.stringify(value)} must match ${ENUM_VALUE_PATTERN.source}`);
          } else if (GRAPHQL_FORBIDDEN_ENUM_VALUES.includes(value) || value.startsWith('__')) {
            problems.add([...attrAt, 'values', v], `enum value ${JSON.stringify(value)} is not allowed by GraphQL (true, false, null, or a leading __)`);
          }
          if (values.indexOf(value) !== v) problems.add([...attrAt, 'values', v], `duplicate enum value "${value}"`);
        });
      } else if (attribute.values !== undefined) {
        problems.add([...attrAt, 'values'], `"values" is only allowed on enum attributes`);
      }
      if (attribute.type === 'ref') {
        if (attribute.entity === undefined) {
          problems.add([...attrAt, 'entity'], 'a ref needs "entity": the name of the entity it points to');
        } else if (!entityNames.has(attribute.entity)) {
          problems.add([...attrAt, 'entity'], `ref to unknown entity "${attribute.entity}"`);
        }
      } else if (attribute.entity !== undefined) {
        problems.add([...attrAt, 'entity'], `"entity" is only allowed on ref attributes`);
      }
      return {
        name: attribute.name,
        type: attribute.type,
        required: attribute.required ?? false,
        ...(attribute.type === 'enum' ? { values: attribute.values ?? [] } : {}),
        ...(attribute.type === 'ref' ? { refEntity: attribute.entity } : {}),
        ...(attribute.deprecated ? { deprecated: true } : {}),
      };
    });
    const permissions = parseEntityPermissions(
      entity,
      attributes.map((a) => a.name),
      (path, message) => problems.add([...at, ...path], message),
    );
    return { project: input.project, id: entity.id, name: entity.name, attributes, ...(permissions === NO_PERMISSIONS ? {} : { permissions }) };
  });
  problems.throwIfAny();
  return { name: input.project, source, entities };
}
