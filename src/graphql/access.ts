// What a request's role may do, bound for this request: its permissions' filters and checks as
// filter IR with the session's variables as bound values, its presets as attribute inputs, its
// row limits. The role's schema (role-schema.ts) already hides what the role may not name; this is
// what must hold per row, and the one place resolvers ask for it. The admin credential has no
// permissions to bind: every method answers "no restriction".
import type { Attribute, Catalog, EntitySchema } from '../catalog/index.js';
import type { BoolExpJson, ColumnPreset } from '../catalog/permissions.js';
import { AuthError, ValidationError } from '../errors/index.js';
import type { AttributeInput, EntityRow, WriteTransaction } from '../oltp/index.js';
import { FALSE, type Filter, type RowFilters } from '../query/index.js';
import type { Session } from './auth.js';
import { parseWhere, sessionValue } from './bind-filter.js';
import { judge, type RowLookup } from './row-filter.js';

/** A bound insert or update permission: what to AND, what must hold after, what to preset. */
export interface WriteRule {
  /** Rows the role may change (update, delete); null: any. */
  filter: Filter | null;
  /** What each written row must satisfy (insert/update `check`); null: nothing. */
  check: Filter | null;
  /** Values the permission sets whatever the input says (Hasura's `set`). */
  presets: AttributeInput;
}

const UNRESTRICTED: WriteRule = { filter: null, check: null, presets: {} };

export class RequestAccess {
  private readonly filters = new Map<string, Filter | null>();

  constructor(
    private readonly catalog: Catalog,
    readonly session: Session,
  ) {}

  get admin(): boolean {
    return this.session.admin;
  }

  get role(): string {
    return this.session.role;
  }

  private variable = (name: string): string | undefined => this.session.variables[name.toLowerCase()];

  /** A permission's bool_exp bound for this session (`what` names it in errors); {} binds to null. */
  private bind(entity: EntitySchema, json: BoolExpJson | null, what: string): Filter | null {
    if (!json) return null;
    const key = `${entity.name}\u0000${what}`;
    if (!this.filters.has(key)) {
      const at = `the ${what} of role "${this.role}" on ${entity.name}`;
      this.filters.set(key, parseWhere(this.catalog, entity, json, at, { session: this.variable }));
    }
    return this.filters.get(key)!;
  }

  /** The select filter of `entity` (null: every row), for a role that may select it. */
  selectFilter(entity: EntitySchema): Filter | null {
    if (this.admin) return null;
    const permission = entity.permissions?.select.get(this.role);
    // The role's schema has no field reaching an entity it may not select; a shared type (a ref's
    // target) may still name it: it reads nothing.
    if (!permission) return FALSE;
    return this.bind(entity, permission.filter, 'select permission filter');
  }

  /**
   * The select filters by entity name, for the compilers: ANDed wherever a statement reads that
   * entity (the page, joins, filters through refs, reverse relations). Each is bound when first
   * read, so a session variable missing from one entity's filter fails only what reads it.
   */
  readonly rowFilters: RowFilters = {
    get: (name) => {
      if (this.admin) return undefined;
      const entity = this.catalog.entities.find((e) => e.name === name);
      return entity ? (this.selectFilter(entity) ?? undefined) : undefined;
    },
  };

  /** The rows of `entity` this role may see are all its current rows (no filter to bind: decided from the definition). */
  seesAll(entity: EntitySchema): boolean {
    if (this.admin) return true;
    const permission = entity.permissions?.select.get(this.role);
    return permission !== undefined && Object.keys(permission.filter).length === 0;
  }

  /** At most this many rows per list of `entity` (Hasura's select `limit`); null: no permission bound. */
  limit(entity: EntitySchema): number | null {
    if (this.admin) return null;
    return entity.permissions?.select.get(this.role)?.limit ?? null;
  }

  private presets(entity: EntitySchema, presets: readonly ColumnPreset[], what: string): AttributeInput {
    const out: Record<string, unknown> = {};
    for (const preset of presets) {
      const attribute = entity.attributes.find((a) => a.name === preset.column) as Attribute;
      const at = `the ${what} preset ${entity.name}.${preset.column} of role "${this.role}"`;
      if (preset.kind === 'literal') out[preset.column] = preset.value;
      else {
        const text = this.variable(preset.variable);
        if (text === undefined) throw new ValidationError(`${at}: session variable "${preset.variable}" is not set`);
        out[preset.column] = sessionValue(attribute.type, text, at);
      }
    }
    return out as AttributeInput;
  }

  insert(entity: EntitySchema): WriteRule {
    if (this.admin) return UNRESTRICTED;
    const permission = entity.permissions?.insert.get(this.role);
    if (!permission) throw new AuthError(`role "${this.role}" may not insert ${entity.name} rows`);
    return { filter: null, check: this.bind(entity, permission.check, 'insert permission check'), presets: this.presets(entity, permission.set, 'insert') };
  }

  update(entity: EntitySchema): WriteRule {
    if (this.admin) return UNRESTRICTED;
    const permission = entity.permissions?.update.get(this.role);
    if (!permission) throw new AuthError(`role "${this.role}" may not update ${entity.name} rows`);
    return {
      filter: this.bind(entity, permission.filter, 'update permission filter'),
      check: this.bind(entity, permission.check, 'update permission check'),
      presets: this.presets(entity, permission.set, 'update'),
    };
  }

  delete(entity: EntitySchema): WriteRule {
    if (this.admin) return UNRESTRICTED;
    const permission = entity.permissions?.delete.get(this.role);
    if (!permission) throw new AuthError(`role "${this.role}" may not delete ${entity.name} rows`);
    return { filter: this.bind(entity, permission.filter, 'delete permission filter'), check: null, presets: {} };
  }
}

/** `where` AND the permission's filter (either may be null: no condition). */
export function withFilter(where: Filter | null, filter: Filter | null): Filter | null {
  if (!filter) return where;
  if (!where) return filter;
  return { kind: 'and', items: [where, filter] };
}

/**
 * Judges a permission's check on rows a transaction wrote, before it commits: a row that fails it
 * fails the mutation, and the transaction rolls back. Refs in a check read the rows as the
 * transaction sees them, without the role's own filters (as a permission's relationships in Hasura).
 */
export async function enforceCheck(
  check: Filter | null,
  rows: readonly EntityRow[],
  lookup: RowLookup,
  what: { field: string; operation: 'insert' | 'update'; role: string; at?: (i: number) => string },
): Promise<void> {
  if (!check) return;
  for (const [i, row] of rows.entries()) {
    const holds = await judge(check, row, lookup, `the ${what.operation} permission check of role "${what.role}"`);
    if (holds !== true) {
      const which = what.at ? `${what.at(i)} (row_id ${row.row_id})` : `row ${row.row_id}`;
      throw new AuthError(`${what.field}: ${which} fails the check of the ${what.operation} permission of role "${what.role}"; nothing was written`);
    }
  }
}

/** Rows by row_id as `tx` sees them (its own writes included), each read once: a check's refs. */
export function transactionLookup(tx: WriteTransaction): RowLookup {
  const seen = new Map<string, EntityRow | null>();
  return async (entity, rowId) => {
    const key = `${entity.name}\u0000${rowId}`;
    if (!seen.has(key)) seen.set(key, (await tx.read(entity, [rowId])).get(rowId) ?? null);
    return seen.get(key)!;
  };
}

/** What an insert must also hold to (the role's checks), and what an upsert's updates preset. */
export interface InsertGuard {
  role: string;
  insertCheck: Filter | null;
  updateCheck: Filter | null;
  /** Values on_conflict updates set whatever the object says (the update permission's `set`). */
  updatePresets: AttributeInput;
}

export const NO_INSERT_GUARD: InsertGuard = { role: 'admin', insertCheck: null, updateCheck: null, updatePresets: {} };
