// Per-role permissions of an entity, in Hasura's metadata shape (select/insert/update/delete
// _permissions on each entity of a definitions file), validated at start with file and path.
// Filters and checks stay JSON here: they are `<entity>_bool_exp`s that the GraphQL layer binds
// into the filter IR per request, with the request's session variables as bound values.
import { z } from 'zod';

/** A `<entity>_bool_exp` as written in the definitions file. */
export type BoolExpJson = Readonly<Record<string, unknown>>;

/** A column preset (`set`): a literal, or the value of a session variable. */
export type ColumnPreset =
  | { readonly column: string; readonly kind: 'literal'; readonly value: unknown }
  | { readonly column: string; readonly kind: 'session'; readonly variable: string };

export const QUERY_ROOT_FIELDS = ['select', 'select_by_pk', 'select_aggregate'] as const;
export type QueryRootField = (typeof QUERY_ROOT_FIELDS)[number];

export interface SelectPermission {
  /** Readable columns: attribute names and system columns (row_id, time_slot, deleted_at). */
  readonly columns: readonly string[];
  readonly filter: BoolExpJson;
  /** At most this many rows per list field (Hasura's `limit`); null: the gateway's own bounds. */
  readonly limit: number | null;
  readonly allowAggregations: boolean;
  /** The root fields the role gets for this entity (Hasura's `query_root_fields`; all by default). */
  readonly queryRootFields: readonly QueryRootField[];
}

export interface InsertPermission {
  readonly columns: readonly string[];
  readonly check: BoolExpJson;
  readonly set: readonly ColumnPreset[];
}

export interface UpdatePermission {
  readonly columns: readonly string[];
  readonly filter: BoolExpJson;
  /** Post-update check (Hasura's `check`); null: none. */
  readonly check: BoolExpJson | null;
  readonly set: readonly ColumnPreset[];
}

export interface DeletePermission {
  readonly filter: BoolExpJson;
}

/** Each operation's permissions by role name; a role absent from a map may not do that operation. */
export interface EntityPermissions {
  readonly select: ReadonlyMap<string, SelectPermission>;
  readonly insert: ReadonlyMap<string, InsertPermission>;
  readonly update: ReadonlyMap<string, UpdatePermission>;
  readonly delete: ReadonlyMap<string, DeletePermission>;
}

export const NO_PERMISSIONS: EntityPermissions = { select: new Map(), insert: new Map(), update: new Map(), delete: new Map() };

/** Hasura's rule: a string value naming `X-Hasura-…` (any case) is a session variable. */
export function isSessionVariable(value: unknown): value is string {
  return typeof value === 'string' && /^x-hasura-[A-Za-z0-9_-]+$/i.test(value);
}

/** Session variables are matched case-insensitively (HTTP headers); they are kept lower case. */
export function sessionVariableKey(name: string): string {
  return name.toLowerCase();
}

/** The role that stands for the admin credential in Hasura; a definition may not restrict it. */
export const ADMIN_ROLE = 'admin';
const ROLE_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

const BoolExpInput = z.record(z.string(), z.unknown());
const ColumnsInput = z.union([z.literal('*'), z.array(z.string())]);
const SetInput = z.record(z.string(), z.unknown());

const entry = <T extends z.ZodType>(permission: T) =>
  z.strictObject({ role: z.string(), permission, comment: z.string().optional() });

export const PermissionInputs = {
  select_permissions: z.array(
    entry(
      z.strictObject({
        columns: ColumnsInput,
        filter: BoolExpInput.optional(),
        limit: z.number().int().positive().optional(),
        allow_aggregations: z.boolean().optional(),
        query_root_fields: z.array(z.enum(QUERY_ROOT_FIELDS)).optional(),
      }),
    ),
  ),
  insert_permissions: z.array(
    entry(z.strictObject({ check: BoolExpInput.optional(), columns: ColumnsInput.optional(), set: SetInput.optional() })),
  ),
  update_permissions: z.array(
    entry(
      z.strictObject({
        columns: ColumnsInput,
        filter: BoolExpInput.optional(),
        check: BoolExpInput.nullable().optional(),
        set: SetInput.optional(),
      }),
    ),
  ),
  delete_permissions: z.array(entry(z.strictObject({ filter: BoolExpInput.optional() }))),
};

export type PermissionsInput = {
  [K in keyof typeof PermissionInputs]?: z.infer<(typeof PermissionInputs)[K]>;
};

type Path = readonly (string | number)[];

/** System columns a role may be given to read (besides the attributes). */
const SYSTEM_COLUMNS = ['row_id', 'time_slot', 'deleted_at'];

/**
 * Validates an entity's permissions against its attributes: role names, one entry per role and
 * operation, known columns, presets of writable attributes. `problem(path, message)` records an
 * error at a path under the entity. The bool_exps are checked when the GraphQL schema binds them.
 */
export function parseEntityPermissions(
  input: PermissionsInput,
  attributeNames: readonly string[],
  problem: (path: Path, message: string) => void,
): EntityPermissions {
  const given = Object.keys(PermissionInputs).some((key) => input[key as keyof PermissionsInput] !== undefined);
  if (!given) return NO_PERMISSIONS;
  const readable = [...SYSTEM_COLUMNS, ...attributeNames];

  const columnsOf = (columns: '*' | string[] | undefined, allowed: readonly string[], at: Path): string[] => {
    if (columns === undefined || columns === '*') return [...allowed];
    columns.forEach((column, i) => {
      if (!allowed.includes(column)) problem([...at, i], `unknown column "${column}" (expected one of ${allowed.join(', ')})`);
      if (columns.indexOf(column) !== i) problem([...at, i], `duplicate column "${column}"`);
    });
    return columns.filter((c) => allowed.includes(c));
  };

  const presetsOf = (set: Record<string, unknown> | undefined, at: Path): ColumnPreset[] =>
    Object.entries(set ?? {}).flatMap(([column, value]): ColumnPreset[] => {
      if (!attributeNames.includes(column)) {
        problem([...at, column], `unknown attribute "${column}"`);
        return [];
      }
      if (isSessionVariable(value)) return [{ column, kind: 'session', variable: sessionVariableKey(value) }];
      return [{ column, kind: 'literal', value }];
    });

  const byRole = <In extends { role: string }, Out>(entries: readonly In[] | undefined, key: string, parse: (entry: In, at: Path) => Out) => {
    const out = new Map<string, Out>();
    (entries ?? []).forEach((item, i) => {
      const at: Path = [key, i];
      if (!ROLE_PATTERN.test(item.role)) problem([...at, 'role'], `role ${JSON.stringify(item.role)} must match ${ROLE_PATTERN.source}`);
      else if (item.role === ADMIN_ROLE) problem([...at, 'role'], `"${ADMIN_ROLE}" may do everything; it takes no permissions`);
      else if (out.has(item.role)) problem([...at, 'role'], `role "${item.role}" has two ${key} entries`);
      else out.set(item.role, parse(item, [...at, 'permission']));
    });
    return out;
  };

  return {
    select: byRole(input.select_permissions, 'select_permissions', ({ permission: p }, at) => ({
      columns: columnsOf(p.columns, readable, [...at, 'columns']),
      filter: p.filter ?? {},
      limit: p.limit ?? null,
      allowAggregations: p.allow_aggregations ?? false,
      queryRootFields: p.query_root_fields ?? [...QUERY_ROOT_FIELDS],
    })),
    insert: byRole(input.insert_permissions, 'insert_permissions', ({ permission: p }, at) => ({
      columns: columnsOf(p.columns, attributeNames, [...at, 'columns']),
      check: p.check ?? {},
      set: presetsOf(p.set, [...at, 'set']),
    })),
    update: byRole(input.update_permissions, 'update_permissions', ({ permission: p }, at) => ({
      columns: columnsOf(p.columns, attributeNames, [...at, 'columns']),
      filter: p.filter ?? {},
      check: p.check ?? null,
      set: presetsOf(p.set, [...at, 'set']),
    })),
    delete: byRole(input.delete_permissions, 'delete_permissions', ({ permission: p }) => ({ filter: p.filter ?? {} })),
  };
}

/** Every role the permissions name, sorted (one GraphQL schema is built per role). */
export function rolesNamed(permissions: readonly EntityPermissions[]): string[] {
  const roles = new Set<string>();
  for (const p of permissions) for (const map of [p.select, p.insert, p.update, p.delete]) for (const role of map.keys()) roles.add(role);
  return [...roles].sort();
}
