// The inputs of `groups(having, order_by, limit, offset)` (this gateway's own form, shaped like
// Hasura's aggregate fields): their types per entity, and their binding into the aggregate plan.
import { TYPE_MAPPING, type Attribute, type EntitySchema } from '../catalog/index.js';
import { ValidationError } from '../errors/index.js';
import {
  AGGREGATE_FUNCTIONS,
  attributesFor,
  havingValue,
  measureType,
  type AggregateFunction,
  type GroupKey,
  type GroupOrder,
  type Having,
  type HavingOp,
  type Measure,
} from '../query/index.js';
import { dynamicInput, type GatewayBuilder } from './builder.js';
import type { InputRef } from './bool-exp.js';

const HAVING_OPS: Record<string, HavingOp> = { _eq: 'eq', _neq: 'neq', _gt: 'gt', _gte: 'gte', _lt: 'lt', _lte: 'lte' };
const ORDER_VALUES = ['asc', 'asc_nulls_first', 'asc_nulls_last', 'desc', 'desc_nulls_first', 'desc_nulls_last'];

/** The input type (per function) listing the attributes a HAVING or an order may name, by its suffix. */
function functionGroup(fn: AggregateFunction): 'sum' | 'float' | 'min_max' | 'count_distinct' {
  if (fn === 'sum') return 'sum';
  if (fn === 'min' || fn === 'max') return 'min_max';
  if (fn === 'count_distinct') return 'count_distinct';
  return 'float';
}

/** The GraphQL scalar of a figure's value (`Int` for counts, as the output has it). */
function figureScalar(measure: Measure): string {
  if (measure.fn === 'count' || measure.fn === 'count_distinct') return 'Int';
  return TYPE_MAPPING[measureType(measure)].graphqlScalar;
}

export interface GroupInputs {
  having: unknown;
  orderBy: unknown;
}

/** Shared `<Scalar>_having_exp` types (comparisons of one figure), created on first use. */
export function havingComparisons(builder: GatewayBuilder): (scalar: string) => InputRef {
  const made = new Map<string, InputRef>();
  return (scalar) => {
    let ref = made.get(scalar);
    if (ref) return ref;
    ref = builder.inputRef(`${scalar}_having_exp`);
    made.set(scalar, ref);
    ref.implement({
      description: `Conditions on a group's ${scalar} figure; several are combined with AND (a NULL figure matches only _is_null)`,
      fields: (t) => {
        const input = dynamicInput(t);
        const fields: Record<string, unknown> = Object.fromEntries(Object.keys(HAVING_OPS).map((op) => [op, input({ type: scalar })]));
        fields._is_null = input({ type: 'Boolean' });
        return fields as never;
      },
    });
    return ref;
  };
}

/** `<name>_group_having` and `<name>_group_order_by` with their per-function parts. */
export function defineGroupInputs(builder: GatewayBuilder, entity: EntitySchema, keys: readonly GroupKey[], comparison: (scalar: string) => InputRef): GroupInputs {
  const name = entity.name;
  const byAttributes = (typeName: string, attributes: Attribute[], type: (a: Attribute) => unknown, description: string) =>
    attributes.length === 0
      ? null
      : builder.inputRef(typeName).implement({
          description,
          fields: (t) => Object.fromEntries(attributes.map((a) => [a.name, dynamicInput(t)({ type: type(a) })])) as never,
        });
  const numeric = attributesFor(entity, 'sum');
  const havingParts = {
    sum: byAttributes(`${name}_group_sum_having`, numeric, (a) => comparison(TYPE_MAPPING[a.type].graphqlScalar), 'Conditions on sums'),
    float: byAttributes(`${name}_group_float_having`, numeric, () => comparison('Float'), 'Conditions on averages, standard deviations or variances'),
    min_max: byAttributes(`${name}_group_min_max_having`, attributesFor(entity, 'min'), (a) => comparison(TYPE_MAPPING[a.type].graphqlScalar), 'Conditions on smallest or largest values'),
    count_distinct: byAttributes(`${name}_group_count_distinct_having`, attributesFor(entity, 'count_distinct'), () => comparison('Int'), 'Conditions on numbers of distinct values'),
  };
  const orderParts = {
    sum: byAttributes(`${name}_group_numeric_order_by`, numeric, () => 'order_by', 'Order by a figure of a numeric field'),
    min_max: byAttributes(`${name}_group_min_max_order_by`, attributesFor(entity, 'min'), () => 'order_by', 'Order by a smallest or largest value'),
    count_distinct: byAttributes(`${name}_group_count_distinct_order_by`, attributesFor(entity, 'count_distinct'), () => 'order_by', 'Order by a number of distinct values'),
  };

  const having = builder.inputRef(`${name}_group_having`);
  having.implement({
    description: `Conditions on a group's figures (SQL HAVING), shaped like ${name}_aggregate_fields`,
    fields: (t) => {
      const input = dynamicInput(t);
      const fields: Record<string, unknown> = {
        _and: input({ type: [having], required: { list: false, items: true } }),
        _or: input({ type: [having], required: { list: false, items: true } }),
        _not: input({ type: having }),
        count: input({ type: comparison('Int') }),
      };
      for (const fn of AGGREGATE_FUNCTIONS) {
        const part = havingParts[functionGroup(fn)];
        if (part) fields[fn] = input({ type: part });
      }
      return fields as never;
    },
  });
  const keyOrder = builder.inputRef(`${name}_group_key_order_by`).implement({
    description: 'Order by a group key (one of group_by)',
    fields: (t) => Object.fromEntries(keys.map((k) => [k.name, dynamicInput(t)({ type: 'order_by' })])) as never,
  });
  const orderBy = builder.inputRef(`${name}_group_order_by`).implement({
    description: 'Order of groups: by a key or a figure; the group keys, ascending, break ties',
    fields: (t) => {
      const input = dynamicInput(t);
      const fields: Record<string, unknown> = { key: input({ type: keyOrder }), count: input({ type: 'order_by' }) };
      for (const fn of AGGREGATE_FUNCTIONS) {
        const group = functionGroup(fn);
        const part = orderParts[group === 'float' ? 'sum' : group];
        if (part) fields[fn] = input({ type: part });
      }
      return fields as never;
    },
  });
  return { having, orderBy };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function measureOf(entity: EntitySchema, fn: string, attributeName: string | null, at: string): Measure {
  if (fn === 'count' && attributeName === null) return { fn: 'count' };
  const attribute = (AGGREGATE_FUNCTIONS as readonly string[]).includes(fn) && attributeName !== null
    ? attributesFor(entity, fn as AggregateFunction).find((a) => a.name === attributeName)
    : undefined;
  if (!attribute) throw new ValidationError(`${at}: not a figure of ${entity.name}`);
  return { fn: fn as AggregateFunction, attribute };
}

function comparisonOf(measure: Measure, spec: unknown, at: string): Having[] {
  if (!isObject(spec)) throw new ValidationError(`${at}: expected an object of operators such as {_gt: …}`);
  const items: Having[] = [];
  for (const [op, value] of Object.entries(spec)) {
    if (value === undefined) continue;
    const path = `${at}.${op}`;
    if (op === '_is_null') {
      if (typeof value !== 'boolean') throw new ValidationError(`${path}: expected true or false`);
      items.push({ kind: 'is_null', measure, isNull: value });
    } else if (op in HAVING_OPS) {
      if (value === null) throw new ValidationError(`${path}: null is not a value to compare with; use _is_null`);
      items.push({ kind: 'compare', measure, op: HAVING_OPS[op]!, value: havingValue(measureType(measure), value, path) });
    } else {
      throw new ValidationError(`${path}: unknown operator for a ${figureScalar(measure)} figure; expected one of ${[...Object.keys(HAVING_OPS), '_is_null'].join(', ')}`);
    }
  }
  return items;
}

/** A `having` argument -> the plan's HAVING (null when it says nothing; `{}` holds for every group). */
export function parseHaving(entity: EntitySchema, raw: unknown, at = 'having'): Having | null {
  if (raw === null || raw === undefined) return null;
  if (!isObject(raw)) throw new ValidationError(`${at}: expected an object`);
  const items: Having[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const path = `${at}.${key}`;
    if (key === '_and' || key === '_or') {
      if (!Array.isArray(value)) throw new ValidationError(`${path}: expected a list of conditions`);
      const parts = value.map((v, i) => parseHaving(entity, v, `${path}[${i}]`) ?? ({ kind: 'and', items: [] } as Having));
      items.push({ kind: key === '_and' ? 'and' : 'or', items: parts });
    } else if (key === '_not') {
      const inner = parseHaving(entity, value, path);
      // As Hasura's `_not: {}` in filters: the negation of "always" holds for no group.
      items.push({ kind: 'not', item: inner ?? { kind: 'and', items: [] } });
    } else if (key === 'count') {
      items.push(...comparisonOf({ fn: 'count' }, value, path));
    } else {
      if (!isObject(value)) throw new ValidationError(`${path}: expected an object of fields`);
      for (const [attribute, spec] of Object.entries(value)) {
        if (spec !== undefined) items.push(...comparisonOf(measureOf(entity, key, attribute, `${path}.${attribute}`), spec, `${path}.${attribute}`));
      }
    }
  }
  if (items.length === 0) return null;
  return items.length === 1 ? items[0]! : { kind: 'and', items };
}

function direction(value: unknown, at: string): Pick<GroupOrder, 'direction' | 'nulls'> {
  if (typeof value !== 'string' || !ORDER_VALUES.includes(value)) throw new ValidationError(`${at}: expected one of ${ORDER_VALUES.join(', ')}`);
  const dir = value.startsWith('asc') ? 'asc' : 'desc';
  // Postgres' defaults, as in order_by of rows: ascending puts NULLs last, descending first.
  const nulls = value.endsWith('nulls_first') ? 'first' : value.endsWith('nulls_last') ? 'last' : dir === 'asc' ? 'last' : 'first';
  return { direction: dir, nulls };
}

/** An `order_by` of groups -> terms in order (fields of one object in their order); keys must be grouped by. */
export function parseGroupOrder(entity: EntitySchema, groupBy: readonly GroupKey[], raw: unknown, at = 'order_by'): GroupOrder[] {
  const items = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const terms: GroupOrder[] = [];
  items.forEach((item: unknown, i) => {
    if (!isObject(item)) throw new ValidationError(`${at}[${i}]: expected an object`);
    for (const [field, value] of Object.entries(item)) {
      if (value === undefined || value === null) continue;
      const path = `${at}[${i}].${field}`;
      if (field === 'count') {
        terms.push({ by: { measure: { fn: 'count' } }, ...direction(value, path) });
      } else if (field === 'key') {
        if (!isObject(value)) throw new ValidationError(`${path}: expected an object of group keys`);
        for (const [name, order] of Object.entries(value)) {
          if (order === undefined || order === null) continue;
          const key = groupBy.find((k) => k.name === name);
          if (!key) throw new ValidationError(`${path}.${name}: not a key of group_by (${groupBy.map((k) => k.name).join(', ')})`);
          terms.push({ by: { key }, ...direction(order, `${path}.${name}`) });
        }
      } else {
        if (!isObject(value)) throw new ValidationError(`${path}: expected an object of fields`);
        for (const [attribute, order] of Object.entries(value)) {
          if (order === undefined || order === null) continue;
          terms.push({ by: { measure: measureOf(entity, field, attribute, `${path}.${attribute}`) }, ...direction(order, `${path}.${attribute}`) });
        }
      }
    }
  });
  return terms;
}
