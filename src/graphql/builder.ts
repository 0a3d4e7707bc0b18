// The Pothos builder's types: scalars, the request context and the services resolvers use.
import SchemaBuilder from '@pothos/core';
import type { GraphQLResolveInfo } from 'graphql';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { Logger } from 'pino';
import type { Attribute, Catalog, EntitySchema, JsonValue } from '../catalog/index.js';
import type { AggregatePlan, AggregateRequest, AggregateValues, PageArgs, SearchService } from '../query/index.js';
import type { EntityRow, OltpStore } from '../oltp/index.js';
import { AuthError } from '../errors/index.js';
import type { RequestAccess } from './access.js';
import type { Session } from './auth.js';
import type { RowBudget } from './bounds.js';
import type { RequestSearch } from './request-search.js';
import type { RequestSnapshot } from './request-snapshot.js';
import { SCALARS } from './scalars.js';

export interface FlushReport {
  entity: string;
  flushed: boolean;
  reason: string;
  rows: number;
  path: string | null;
  bytes: number;
  duration_ms: number;
}

export interface CompactReport {
  entity: string;
  compacted: boolean;
  reason: string;
  /** Lake paths of the files replaced (deleted from the store after the GC grace period). */
  removed: string[];
  added: { path: string; kind: string; role: string; rows: number; bytes: number }[];
  rewritten: number;
  rolled_over: boolean;
  duration_ms: number;
}

export interface VerifyResult {
  entity: string;
  ok: boolean;
  truth_rows: number;
  lake_rows: number | null;
  missing: number;
  extra: number;
  different: number;
  duplicated: number;
  concurrent: number;
  missing_examples: string[];
  extra_examples: string[];
  different_examples: string[];
  duplicated_examples: string[];
  truth_hash: string;
  lake_hash: string | null;
  truth_slot: bigint;
  error: string | null;
  duration_ms: number;
}

export interface RebuildResult {
  entity: string;
  rebuilt: boolean;
  reason: string;
  rows: number;
  up_to_slot: bigint | null;
  buffered_absorbed: number;
  removed: string[];
  added: CompactReport['added'];
  duration_ms: number;
}

export interface EntityLakeStatus {
  entity: string;
  project: string;
  schema_id: number;
  buffered_rows: number;
  oldest_buffered_age_ms: number | null;
  delta_files: number;
  delta_bytes: number;
  base_files: number;
  base_bytes: number;
  last_flush_at: Date | null;
  last_compaction_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
  consecutive_failures: number;
  retry_at: Date | null;
}

export interface JobReport {
  job_id: bigint;
  kind: string;
  entity: string | null;
  trigger: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  details: unknown;
  error: string | null;
}

/** Maintenance the admin API triggers; wired at start from the ingest and compaction rooms. */
export interface AdminOperations {
  flush(entity: EntitySchema, force: boolean): Promise<FlushReport>;
  compact(entity: EntitySchema, force: boolean): Promise<CompactReport>;
  /** The entities of `project`. */
  lakeStatus(project: string): Promise<EntityLakeStatus[]>;
  /** Recent jobs of `project`'s entities. */
  jobs(limit: number, project: string): Promise<JobReport[]>;
  verify(entity: EntitySchema): Promise<VerifyResult>;
  rebuild(entity: EntitySchema): Promise<RebuildResult>;
}

/** Long-lived resources the API works with, created once at start. */
export interface GatewayServices {
  catalog: Catalog;
  oltp: OltpStore;
  search: SearchService;
  admin: AdminOperations;
  log: Logger;
  limits: { defaultLimit: number; maxLimit: number; maxInsertObjects: number };
}

/** A batched loader whose rows are charged to the request's row budget as fields resolve them. */
export interface RowLoader<T> {
  load(key: string): Promise<T>;
}

export interface RequestLoaders {
  /** Current live row by row_id from the OLTP store, batched per entity and request. */
  rowByPk(entity: EntitySchema): RowLoader<EntityRow | null>;
  /** Rows of `entity` whose ref `via` names a parent, batched per request and `argsKey`; `args` are bound when its batch is first made. */
  children(entity: EntitySchema, via: Attribute, args: () => PageArgs, argsKey: string): RowLoader<EntityRow[]>;
  /** Figures of `plan`'s rows per parent their ref `via` names (nested `<rel>_aggregate`), one statement per batch and `argsKey`. */
  childAggregates(plan: AggregatePlan, via: Attribute, request: AggregateRequest, argsKey: string): RowLoader<AggregateValues>;
}

export interface GatewayContext {
  services: GatewayServices;
  /** The project of the endpoint the request came to: services.catalog holds its entities only. */
  project: string;
  requestId: string;
  /** session.admin: the admin credential (the `admin` auth scope). */
  isAdmin: boolean;
  /** Who is calling, as role and Hasura session variables (permissions read it). */
  session: Session;
  /** What the session's role may do, bound for this request (filters, checks, presets, limits). */
  access: RequestAccess;
  log: Logger;
  loaders: RequestLoaders;
  /** Rows this request may still materialize (MAX_ROWS_PER_REQUEST); lists charge it. */
  budget: RowBudget;
  /** Searches of this request, one at a time (services.search is the process's, unqueued). */
  search: RequestSearch;
  /** The one snapshot a query operation's searches read, and its time_slot (request-snapshot.ts). */
  snapshot: RequestSnapshot;
}

export interface GatewaySchemaTypes {
  Context: GatewayContext;
  AuthScopes: { admin: boolean };
  Scalars: {
    UUID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    Date: { Input: Date; Output: string | Date };
    BigInt: { Input: bigint; Output: bigint };
    JSON: { Input: JsonValue; Output: unknown };
  };
}

export type GatewayBuilder = PothosSchemaTypes.SchemaBuilder<PothosSchemaTypes.ExtendDefaultTypes<GatewaySchemaTypes>>;

export function createBuilder(): GatewayBuilder {
  const builder = new SchemaBuilder<GatewaySchemaTypes>({
    plugins: [ScopeAuthPlugin],
    scopeAuth: {
      authScopes: (context) => ({ admin: context.isAdmin }),
      unauthorizedError: (_parent, _context, info) =>
        new AuthError(`${info.fieldName} needs the admin credential: send "Authorization: Bearer <ADMIN_TOKEN>"`),
    },
  });
  for (const [name, scalar] of Object.entries(SCALARS)) {
    builder.addScalarType(name as keyof GatewaySchemaTypes['Scalars'], scalar);
  }
  builder.queryType({});
  builder.mutationType({});
  return builder;
}

/** A field whose GraphQL type is chosen at run time from the catalog. */
export interface DynamicField<Parent> {
  type: unknown;
  nullable?: boolean | { list: boolean; items: boolean };
  description?: string;
  deprecationReason?: string;
  args?: Record<string, unknown>;
  resolve: (parent: Parent, args: any, ctx: GatewayContext, info: GraphQLResolveInfo) => unknown;
}

/** A dynamic input field (argument or input object field). */
export interface DynamicInputField {
  type: unknown;
  required?: boolean | { list: boolean; items: boolean };
  description?: string;
  defaultValue?: unknown;
}

/**
 * Pothos' generics follow types known at compile time; ours come from the catalog at run time, so
 * generated fields go through these two narrow casts instead of casts at every call site.
 */
export function dynamicField<Parent>(t: { field: unknown }): (options: DynamicField<Parent>) => never {
  return (t.field as (options: DynamicField<Parent>) => never).bind(t);
}

export function dynamicInput(t: { field: unknown } | { arg: unknown }): (options: DynamicInputField) => never {
  const make = ('arg' in t ? t.arg : t.field) as (options: DynamicInputField) => never;
  return make.bind(t);
}
