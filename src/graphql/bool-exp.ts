// Generated filter input types (Hasura's names): <Scalar>_comparison_exp and <entity>_bool_exp.
import { TYPE_MAPPING, type Attribute, type AttributeType, type Catalog, type EntitySchema } from '../catalog/index.js';
import { NUMERIC_AGGREGATES, STRING_OPS, operatorsOf } from './bind-filter.js';
import { dynamicInput, type GatewayBuilder } from './builder.js';
import type { EntityTypes } from './entities.js';
import { selectColumnEnum } from './select-column.js';

export type InputRef = ReturnType<GatewayBuilder['inputRef']>;

/** Operators whose operand is text whatever the column type. */
const TEXT_OPERAND = new Set(STRING_OPS);

function comparisonDescription(op: string): string {
  const texts: Record<string, string> = {
    _eq: 'equal to',
    _neq: 'not equal to (NULL values never match)',
    _gt: 'greater than',
    _gte: 'greater than or equal to',
    _lt: 'less than',
    _lte: 'less than or equal to',
    _in: 'one of the values (at most 10,000)',
    _nin: 'none of the values (NULL values never match)',
    _is_null: 'true: the value is NULL; false: it is not',
    _like: 'SQL LIKE pattern (% any text, _ one character, \\ escapes)',
    _ilike: 'case-insensitive LIKE',
    _nlike: 'does not match the LIKE pattern',
    _nilike: 'does not match the LIKE pattern, ignoring case',
    _similar: 'SQL SIMILAR TO pattern, matching the whole value (% _ | * + ? {m,n} ( ) [ ])',
    _nsimilar: 'does not match the SIMILAR TO pattern',
    _regex: 'regular expression found in the value (Postgres ~; RE2 syntax: no backreferences or lookaround)',
    _nregex: 'regular expression not found in the value',
    _iregex: 'regular expression found in the value, ignoring case (Postgres ~*)',
    _niregex: 'regular expression not found in the value, ignoring case',
    _contains: 'contains the text (no wildcards)',
    _starts_with: 'starts with the text (no wildcards)',
  };
  return texts[op] ?? op;
}

function jsonDescription(op: string): string {
  const texts: Record<string, string> = {
    _eq: 'equal to the JSON value (object keys in any order)',
    _neq: 'not equal to the JSON value (NULL values never match)',
    _is_null: 'true: the value is NULL; false: it is not',
    _contains: 'contains the JSON value (jsonb @>: every key and element of it is in the value, at its place)',
    _contained_in: 'is contained in the JSON value (jsonb <@)',
    _has_key: 'has the top-level key (jsonb ?), or a top-level array has the string',
    _has_keys_any: 'has any of the top-level keys (jsonb ?|)',
    _has_keys_all: 'has all of the top-level keys (jsonb ?&)',
  };
  return texts[op] ?? op;
}

/** Defines every entity's `<name>_bool_exp`, by entity name. */
export function defineBoolExpInputs(builder: GatewayBuilder, catalog: Catalog, entityTypes: ReadonlyMap<string, EntityTypes>): ReadonlyMap<string, InputRef> {
  const comparisons = new Map<string, InputRef>();
  const comparison = (name: string, type: AttributeType, valueType: unknown): InputRef => {
    let ref = comparisons.get(name);
    if (ref) return ref;
    ref = builder.inputRef(name);
    comparisons.set(name, ref);
    ref.implement({
      description: `Conditions on a ${name.replace(/_comparison_exp$/, '')} value; several are combined with AND`,
      fields: (t) => {
        const input = dynamicInput(t);
        const fields: Record<string, unknown> = {};
        for (const op of operatorsOf(type)) {
          const list = op === '_in' || op === '_nin' || op === '_has_keys_any' || op === '_has_keys_all';
          const text = type === 'json' ? op.startsWith('_has_key') : TEXT_OPERAND.has(op);
          const operand = op === '_is_null' ? 'Boolean' : text ? 'String' : valueType;
          fields[op] = input({
            type: list ? [operand] : operand,
            required: list ? { list: false, items: true } : false,
            description: type === 'json' ? jsonDescription(op) : comparisonDescription(op),
          });
        }
        return fields as never;
      },
    });
    return ref;
  };
  const scalarComparison = (type: AttributeType) => {
    const scalar = TYPE_MAPPING[type].graphqlScalar;
    return comparison(`${scalar}_comparison_exp`, type, scalar);
  };

  const boolExp = new Map<string, InputRef>(catalog.entities.map((e) => [e.name, builder.inputRef(`${e.name}_bool_exp`)]));
  const aggregateBoolExp = new Map<string, InputRef>();
  /** `<entity>_aggregate_bool_exp` (Hasura's name and count shape; sum/avg/min/max are this gateway's). */
  const aggregateBoolExpOf = (entity: EntitySchema): InputRef => {
    let ref = aggregateBoolExp.get(entity.name);
    if (ref) return ref;
    ref = builder.inputRef(`${entity.name}_aggregate_bool_exp`);
    aggregateBoolExp.set(entity.name, ref);
    const n = entity.name;
    const columns = selectColumnEnum(builder, entity);
    const numeric = entity.attributes.filter((a) => TYPE_MAPPING[a.type].numeric);
    const numericColumns = numeric.length
      ? builder.enumType(`${n}_numeric_column`, { description: `Numeric columns of ${n}`, values: numeric.map((a) => a.name) })
      : null;
    const self = boolExp.get(n)!;
    const count = builder.inputRef(`${n}_aggregate_bool_exp_count`).implement({
      description: `A condition on the number of related ${n} rows (Hasura's); a row without any has count 0`,
      fields: (t) => {
        const input = dynamicInput(t);
        return {
          arguments: input({ type: [columns], required: { list: false, items: true }, description: 'Count the rows where these columns are not NULL (one column), or distinct tuples' }),
          distinct: input({ type: 'Boolean', description: 'Count distinct values' }),
          filter: input({ type: self, description: `Count only the ${n} rows matching this` }),
          predicate: input({ type: comparison('Int_comparison_exp', 'int', 'Int'), required: true, description: 'The condition on the count' }),
        } as never;
      },
    });
    const numericInputs = new Map<string, unknown>();
    if (numericColumns) {
      for (const fn of NUMERIC_AGGREGATES) {
        numericInputs.set(
          fn,
          builder.inputRef(`${n}_aggregate_bool_exp_${fn}`).implement({
            description: `A condition on the ${fn} of a numeric column over related ${n} rows (beyond Hasura); over none it is NULL`,
            fields: (t) => {
              const input = dynamicInput(t);
              return {
                arguments: input({ type: numericColumns, required: true, description: `The column to take the ${fn} of` }),
                distinct: input({ type: 'Boolean', description: 'Of distinct values' }),
                filter: input({ type: self, description: `Only the ${n} rows matching this` }),
                predicate: input({ type: scalarComparison('float'), required: true, description: `The condition on the ${fn}` }),
              } as never;
            },
          }),
        );
      }
    }
    const booleans = entity.attributes.filter((a) => a.type === 'boolean');
    if (booleans.length) {
      for (const fn of ['bool_and', 'bool_or'] as const) {
        const argumentColumns = builder.enumType(`${n}_select_column_${n}_aggregate_bool_exp_${fn}_arguments_columns`, {
          description: `Boolean columns of ${n}`,
          values: booleans.map((a) => a.name),
        });
        numericInputs.set(
          fn,
          builder.inputRef(`${n}_aggregate_bool_exp_${fn}`).implement({
            description: `A condition on the ${fn === 'bool_and' ? 'AND' : 'OR'} of a boolean column over related ${n} rows (Hasura's); over none it is NULL`,
            fields: (t) => {
              const input = dynamicInput(t);
              return {
                arguments: input({ type: argumentColumns, required: true, description: 'The boolean column' }),
                distinct: input({ type: 'Boolean', description: 'Of distinct values (the same answer)' }),
                filter: input({ type: self, description: `Only the ${n} rows matching this` }),
                predicate: input({ type: scalarComparison('boolean'), required: true, description: `The condition on the ${fn}` }),
              } as never;
            },
          }),
        );
      }
    }
    ref.implement({
      description: `Conditions on aggregates of related ${n} rows; several are combined with AND`,
      fields: (t) => {
        const input = dynamicInput(t);
        const fields: Record<string, unknown> = { count: input({ type: count }) };
        for (const [fn, type] of numericInputs) fields[fn] = input({ type });
        return fields as never;
      },
    });
    return ref;
  };

  for (const entity of catalog.entities) {
    const types = entityTypes.get(entity.name)!;
    const self = boolExp.get(entity.name)!;
    const attributeComparison = (attribute: Attribute): InputRef =>
      attribute.type === 'enum'
        ? comparison(`${entity.name}_${attribute.name}_enum_comparison_exp`, 'enum', types.enums.get(attribute.name)!)
        : attribute.type === 'ref'
          ? boolExp.get(attribute.refEntity!)!
          : scalarComparison(attribute.type);
    const relations = [...catalog.reverseRelations(entity)].map(([name, r]) => ({ name, from: r.from, filter: boolExp.get(r.from.name)!, aggregate: aggregateBoolExpOf(r.from) }));
    self.implement({
      description: `Filter of ${entity.name} rows (Hasura's bool_exp); a ref field takes the referenced entity's filter, a reverse relation the referencing one's (some row matches)`,
      fields: (t) => {
        const input = dynamicInput(t);
        const fields: Record<string, unknown> = {
          _and: input({ type: [self], required: { list: false, items: true } }),
          _or: input({ type: [self], required: { list: false, items: true } }),
          _not: input({ type: self }),
          row_id: input({ type: scalarComparison('ref') }),
          time_slot: input({ type: scalarComparison('int') }),
        };
        for (const attribute of entity.attributes) fields[attribute.name] = input({ type: attributeComparison(attribute) });
        for (const r of relations) {
          fields[r.name] = input({ type: r.filter, description: `Some current ${r.from.name} row referring to this one matches` });
          fields[`${r.name}_aggregate`] = input({ type: r.aggregate, description: `Conditions on aggregates of the ${r.from.name} rows referring to this one` });
        }
        return fields as never;
      },
    });
  }
  return boolExp;
}
