// One GraphQL request, one snapshot (issue 13, item 6): every search of a query operation, root
// fields and nested ones alike, reads the same snapshot of lake and buffer, and the answer says
// which: `extensions: { snapshot: { time_slot } }`, the snapshot's high-water slot.
//
// Why: a page and its total (`orders(limit: 50)` beside `orders_aggregate`), or a parent list and
// its nested reverse relations, were separate searches with snapshots of their own, so a write,
// flush or compaction committing between them made them disagree.
//
// Which entities: those the operation can search, found in its document before it runs (the type
// of every list or aggregate field it selects, and the input types of its arguments' values,
// variables' values included: a filter or sort through a ref or a reverse relation names the other
// entity's input type). They are listed together at the first search (engine.ts: one Postgres
// snapshot); an entity's files are made readable only when a search reads it. Not the whole
// catalog: listing more entities is nearly free, but every listed entity with buffered changes the
// hot mirror lacks is copied in the snapshot. bench/snapshot.ts (2 cores under a load of ~20):
// one search in a snapshot covering 1 / 8 / 32 entities took 10 / 46 / 17 ms with the mirror up to
// date, and 100 / 364 / 1,968 ms when each covered entity had 5 new changes.
// A search of an entity the document did not predict still answers, from a snapshot of its own,
// and is logged as a warning.
//
// Time bound: the request's snapshot lives from its first search to the end of the operation,
// and at most QUERY_TIMEOUT_MS (engine.ts), which GC's grace relies on.
//
// Left as before: mutations (a later field must see an earlier field's write, so each search
// takes its own snapshot), and point lookups (`_by_pk`, refs), which read the OLTP store's
// latest committed row, as DESIGN 7 chose for their speed.
import {
  getNamedType,
  getNullableType,
  getOperationAST,
  isInputObjectType,
  isListType,
  isObjectType,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLInputType,
  type GraphQLSchema,
  type GraphQLType,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Catalog, EntitySchema } from '../catalog/index.js';
import { referencedEntities, type Filter, type SearchService, type SnapshotHandle } from '../query/index.js';
import type { RequestAccess } from './access.js';
import type { GatewayContext } from './builder.js';
import { BigIntScalar } from './scalars.js';

/** The entity a generated type belongs to: its own name, or the longest entity name it starts with and `_`. */
function entityOfTypeName(catalog: Catalog, name: string): EntitySchema | null {
  let best: EntitySchema | null = null;
  for (const entity of catalog.entities) {
    if (name !== entity.name && !name.startsWith(`${entity.name}_`)) continue;
    if (!best || entity.name.length > best.name.length) best = entity;
  }
  return best;
}

/**
 * The entities a query operation can search, or null for a mutation or subscription (or a document
 * without the named operation): those of its list and aggregate fields and of its arguments' input
 * types. A field of one entity row (a ref, `_by_pk`) reads the OLTP store and adds none; its own
 * nested lists and aggregates are fields of their own.
 */
export function entitiesOfOperation(
  catalog: Catalog,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
  /** Of the role: an entity it does not see whole is searched for single rows too (refs, `_by_pk`), and its row filter's entities are read. */
  access?: Pick<RequestAccess, 'seesAll' | 'rowFilters'>,
): EntitySchema[] | null {
  const walked = walkOperation(catalog, schema, document, operationName, access);
  if (!walked) return null;
  const found = new Map<string, EntitySchema>();
  const seenTypes = new Set<string>();
  const note = (name: string) => {
    if (seenTypes.has(name)) return;
    seenTypes.add(name);
    const entity = entityOfTypeName(catalog, name);
    if (entity) found.set(entity.name, entity);
  };
  for (const name of walked.types) note(name);
  /** A variable's value, walked along its input type: `{customer: {name: …}}` names customers_bool_exp. */
  const noteValue = (value: unknown, type: GraphQLInputType): void => {
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      if (Array.isArray(value)) for (const item of value) noteValue(item, nullable.ofType);
      else noteValue(value, nullable.ofType);
    } else if (isInputObjectType(nullable)) {
      note(nullable.name);
      if (typeof value !== 'object' || value === null) return;
      const fields = nullable.getFields();
      for (const [key, item] of Object.entries(value)) {
        const field = fields[key];
        if (field) noteValue(item, field.type);
      }
    } else {
      note(getNamedType(nullable).name);
    }
  };
  for (const [name, type] of walked.variables) noteValue(variables?.[name], type);
  for (const name of [...found.keys()]) {
    let filter: Filter | undefined;
    try {
      filter = access?.rowFilters.get(name);
    } catch {
      continue; // it cannot be bound (a session variable is missing): the search that reads it says so
    }
    for (const entity of referencedEntities(filter ?? null)) found.set(entity.name, entity);
  }
  return [...found.values()];
}

/** What a walk of an operation's document found: the named types it searches, and its variables with their input types. */
interface WalkedOperation {
  types: ReadonlySet<string>;
  variables: readonly (readonly [string, GraphQLInputType])[];
}

/**
 * Per parsed document (Yoga hands the same one for the same text), per operation and role's view
 * of the entities: the walk, which took ~0.3 ms of a request here; only the variables' values are
 * walked per request.
 */
const walks = new WeakMap<DocumentNode, Map<string, WalkedOperation | null>>();

function walkOperation(
  catalog: Catalog,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  access?: Pick<RequestAccess, 'seesAll'>,
): WalkedOperation | null {
  // A field of an entity row is searched only for a role that does not see that entity whole.
  const seesAll = (entity: EntitySchema) => !access || access.seesAll(entity);
  const key = `${operationName ?? ''}\u0000${catalog.entities.map((e) => (seesAll(e) ? '1' : '0')).join('')}`;
  let byKey = walks.get(document);
  if (!byKey) walks.set(document, (byKey = new Map()));
  if (byKey.has(key)) return byKey.get(key)!;
  const operation = getOperationAST(document, operationName);
  let walked: WalkedOperation | null = null;
  if (operation && operation.operation === 'query') {
    const types = new Set<string>();
    const variables: [string, GraphQLInputType][] = [];
    const note = (type: GraphQLType | null | undefined) => {
      if (type) types.add(getNamedType(type).name);
    };
    const typeInfo = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        // Fragments are visited whole (one used by another operation only adds an entity, no error).
        OperationDefinition: (node) => (node === operation ? undefined : false),
        Field: () => {
          const type = getNullableType(typeInfo.getType());
          // One row of an entity (a ref, `_by_pk`) comes from the OLTP store; lists and aggregates are searched.
          if (isObjectType(type) && catalog.entities.some((e) => e.name === type.name) && seesAll(catalog.entity(type.name))) return;
          note(type);
        },
        Argument: () => note(typeInfo.getInputType()),
        ObjectField: () => note(typeInfo.getInputType()),
        Variable: (node) => {
          const type = typeInfo.getInputType();
          if (type) variables.push([node.name.value, type]);
        },
      }),
    );
    walked = { types, variables };
  }
  byKey.set(key, walked);
  return walked;
}

/** A request's snapshot, opened for a query operation and closed when it ends. */
export class RequestSnapshot {
  /** The request's searches: through the snapshot while one is open, else each in its own. */
  readonly search: SearchService;
  private handle: SnapshotHandle | null = null;

  constructor(private readonly searches: SearchService) {
    this.search = searches.scoped(() => this.handle);
  }

  /** Starts the snapshot of `entities`; it is taken at the first search. */
  open(entities: readonly EntitySchema[]): void {
    this.handle?.release();
    this.handle = this.searches.engine.snapshot(entities);
  }

  /** Releases the snapshot once its running searches stop (idempotent); searches after it fail. */
  close(): void {
    this.handle?.release();
  }

  /** The high-water slot of the snapshot, once a search read it. */
  get timeSlot(): bigint | null | undefined {
    return this.handle?.timeSlot;
  }

  /** Entities searched outside the snapshot (the document did not predict them). */
  get uncovered(): readonly string[] {
    return this.handle?.uncovered ?? [];
  }
}

/**
 * Opens the request's snapshot before a query operation executes and releases it when execution
 * ends, also when it throws; the answer gets the snapshot's high-water slot. Put it last among the
 * plugins, so its extension is added to the final result.
 */
export function useRequestSnapshot(): Plugin<GatewayContext> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const context = args.contextValue;
      const entities = entitiesOfOperation(context.services.catalog, args.schema, args.document, args.operationName, args.variableValues, context.access);
      if (!entities) return;
      const snapshot = context.snapshot;
      snapshot.open(entities);
      setExecuteFn(async (executeArgs) => {
        try {
          return await executeFn(executeArgs);
        } finally {
          snapshot.close();
        }
      });
      return {
        onExecuteDone({ result, setResult }) {
          if (snapshot.uncovered.length > 0) {
            context.log.warn({ entities: snapshot.uncovered }, 'searched outside the request snapshot (not predicted from the document)');
          }
          const slot = snapshot.timeSlot;
          if (slot === undefined || Symbol.asyncIterator in Object(result)) return;
          const done = result as ExecutionResult;
          setResult({ ...done, extensions: { ...done.extensions, snapshot: { time_slot: slot === null ? null : BigIntScalar.serialize(slot) } } });
        },
      };
    },
  };
}
