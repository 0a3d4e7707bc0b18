// Generated sort input types (Hasura's names): the order_by enum, <entity>_order_by (own columns,
// object relationships through refs, <relation>_aggregate of reverse relations) and the
// <entity>_aggregate_order_by family; parseOrderBy binds them to the query room's order terms.
import { TYPE_MAPPING, type Attribute, type Catalog, type EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import type { ChildAggregate, OrderTerm } from '../query/index.js';
import { dynamicInput, type GatewayBuilder } from './builder.js';
import type { InputRef } from './bool-exp.js';

const ORDER_VALUES = ['asc', 'asc_nulls_first', 'asc_nulls_last', 'desc', 'desc_nulls_first', 'desc_nulls_last'] as const;
type OrderValue = (typeof ORDER_VALUES)[number];

/** Postgres' defaults, as Hasura users expect: ascending puts NULLs last, descending first. */
export function orderDirection(value: OrderValue): Pick<Extract<OrderTerm, { column: string }>, 'direction' | 'nulls'> {
  const direction = value.startsWith('asc') ? 'asc' : 'desc';
  const nulls = value.endsWith('nulls_first') ? 'first' : value.endsWith('nulls_last') ? 'last' : direction === 'asc' ? 'last' : 'first';
  return { direction, nulls };
}

export function orderTerm(column: string, value: OrderValue): OrderTerm {
  return { column, ...orderDirection(value) };
}

/** Attributes an aggregate of the `<entity>_<fn>_order_by` types applies to (as in the aggregate output types). */
function aggregateColumns(entity: EntitySchema, fn: Exclude<ChildAggregate, 'count'>): Attribute[] {
  return fn === 'max' || fn === 'min'
    ? entity.attributes.filter((a) => TYPE_MAPPING[a.type].ordered && a.type !== 'enum')
    : entity.attributes.filter((a) => TYPE_MAPPING[a.type].numeric);
}

/** The fields of Hasura's `<entity>_aggregate_order_by`, in its (alphabetical) order; count takes order_by itself. */
const AGGREGATE_ORDER_FIELDS = ['avg', 'count', 'max', 'min', 'stddev', 'stddev_pop', 'stddev_samp', 'sum', 'var_pop', 'var_samp', 'variance'] as const;
const COLUMN_AGGREGATES = AGGREGATE_ORDER_FIELDS.filter((fn): fn is Exclude<ChildAggregate, 'count'> => fn !== 'count');


/** Defines the order_by enum and every entity's `<name>_order_by`, by entity name. */
export function defineOrderByInputs(builder: GatewayBuilder, catalog: Catalog): ReadonlyMap<string, InputRef> {
  builder.enumType('order_by', {
    description: 'Sort direction; without nulls_*, NULLs come last ascending and first descending',
    values: ORDER_VALUES,
  });

  const orderBy = new Map<string, InputRef>(catalog.entities.map((e) => [e.name, builder.inputRef(`${e.name}_order_by`)]));
  // Input object refs, as Pothos returns them once implemented.
  const aggregateOrderBy = new Map<string, unknown>();
  // Only entities that are the source of a reverse relation get Hasura's aggregate order types.
  const aggregateOrderByOf = (entity: EntitySchema): unknown => {
    let ref = aggregateOrderBy.get(entity.name);
    if (!ref) {
      const perColumn = Object.fromEntries(
        COLUMN_AGGREGATES.map((fn) => {
          const columns = aggregateColumns(entity, fn);
          if (columns.length === 0) return [fn, null];
          const input = builder.inputRef(`${entity.name}_${fn}_order_by`).implement({
            description: `order by ${fn}() on columns of table "${entity.name}"`,
            fields: (t) => Object.fromEntries(columns.map((a) => [a.name, dynamicInput(t)({ type: 'order_by' })])) as never,
          });
          return [fn, input];
        }),
      );
      ref = builder.inputRef(`${entity.name}_aggregate_order_by`).implement({
        description: `order by aggregate values of table "${entity.name}"`,
        fields: (t) => {
          const input = dynamicInput(t);
          const fields: Record<string, unknown> = {};
          for (const fn of AGGREGATE_ORDER_FIELDS) {
            if (fn === 'count') fields.count = input({ type: 'order_by' });
            else if (perColumn[fn]) fields[fn] = input({ type: perColumn[fn] });
          }
          return fields as never;
        },
      });
      aggregateOrderBy.set(entity.name, ref);
    }
    return ref;
  };

  for (const entity of catalog.entities) {
    const relations = [...catalog.reverseRelations(entity)].map(([name, r]) => ({ name, ...r, input: aggregateOrderByOf(r.from) }));
    orderBy.get(entity.name)!.implement({
      description: `Ordering options when selecting data from "${entity.name}": one field per object; row_id breaks ties`,
      fields: (t) => {
        const input = dynamicInput(t);
        const fields: Record<string, unknown> = {
          row_id: input({ type: 'order_by' }),
          time_slot: input({ type: 'order_by' }),
        };
        for (const attribute of entity.attributes) {
          if (attribute.type === 'ref') {
            fields[attribute.name] = input({ type: orderBy.get(catalog.refTarget(attribute).name)!, description: `Sort by fields of the referenced ${attribute.refEntity} row (NULL when there is none)` });
          } else if (attribute.type !== 'json') fields[attribute.name] = input({ type: 'order_by' });
        }
        for (const { name, input: aggregate } of relations) fields[`${name}_aggregate`] = input({ type: aggregate });
        return fields as never;
      },
    });
  }
  return orderBy;
}

type OrderInput = Record<string, unknown>;

/** One `<entity>_order_by` object -> its terms, in field order; `path` names it in errors. */
function objectTerms(catalog: Catalog, entity: EntitySchema, item: OrderInput, path: string): OrderTerm[] {
  const terms: OrderTerm[] = [];
  for (const [key, value] of Object.entries(item)) {
    if (value == null) continue;
    const attribute = entity.attributes.find((a) => a.name === key);
    if (attribute?.type === 'ref') {
      const target = catalog.refTarget(attribute);
      for (const term of objectTerms(catalog, target, value as OrderInput, `${path}.${key}`)) terms.push({ kind: 'related', ref: attribute, target, term });
      continue;
    }
    const relation = key.endsWith('_aggregate') ? catalog.reverseRelations(entity).get(key.slice(0, -'_aggregate'.length)) : undefined;
    if (relation) {
      terms.push(...aggregateTerms(relation.from, relation.attribute, value as OrderInput));
      continue;
    }
    if (typeof value !== 'string') throw new ValidationError(`${path}.${key}: expected an order_by value`);
    terms.push(orderTerm(key, value as OrderValue));
  }
  return terms;
}

function aggregateTerms(child: EntitySchema, via: Attribute, input: OrderInput): OrderTerm[] {
  const terms: OrderTerm[] = [];
  for (const [fn, value] of Object.entries(input)) {
    if (value == null) continue;
    if (fn === 'count') {
      terms.push({ kind: 'child_aggregate', child, via, aggregate: 'count', column: null, ...orderDirection(value as OrderValue) });
      continue;
    }
    for (const [column, order] of Object.entries(value as Record<string, OrderValue | null>)) {
      if (order != null) terms.push({ kind: 'child_aggregate', child, via, aggregate: fn as ChildAggregate, column, ...orderDirection(order) });
    }
  }
  return terms;
}

/** `order_by: [{total: desc}, {customer: {name: asc}}]` (or one object) -> sort terms, in order. */
export function parseOrderBy(catalog: Catalog, entity: EntitySchema, orderBy: unknown, path = 'order_by'): OrderTerm[] {
  const items = Array.isArray(orderBy) ? orderBy : orderBy ? [orderBy] : [];
  const terms = items.flatMap((item: OrderInput, i) => objectTerms(catalog, entity, item, `${path}[${i}]`));
  // Each term is a sort key DuckDB holds per row: 60,000 of them took all of its memory.
  if (terms.length > MAX_ORDER_TERMS) throw new ValidationError(`${path}: ${terms.length} sort terms; at most ${MAX_ORDER_TERMS} are allowed`);
  return terms;
}

/** More sort terms than any screen needs; the bound keeps a request from exhausting DuckDB's memory. */
export const MAX_ORDER_TERMS = 64;

/** `distinct_on: [name]` (or one value) -> column names. */
export function parseDistinctOn(distinctOn: unknown): string[] {
  return Array.isArray(distinctOn) ? (distinctOn as string[]) : distinctOn ? [distinctOn as string] : [];
}
