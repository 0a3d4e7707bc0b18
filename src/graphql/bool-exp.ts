// Generated filter input types (Hasura's names): <Scalar>_comparison_exp and <entity>_bool_exp.
import { TYPE_MAPPING, type Attribute, type AttributeType, type Catalog } from '../catalog/index.js';
import { operatorsOf } from '../query/index.js';
import { dynamicInput, type GatewayBuilder } from './builder.js';
import type { EntityTypes } from './entities.js';

export type InputRef = ReturnType<GatewayBuilder['inputRef']>;

const TEXT_OPS = new Set(['_like', '_ilike', '_contains', '_starts_with']);

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
    _contains: 'contains the text (no wildcards)',
    _starts_with: 'starts with the text (no wildcards)',
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
          const list = op === '_in' || op === '_nin';
          fields[op] = input({
            type: op === '_is_null' ? 'Boolean' : list ? [valueType] : TEXT_OPS.has(op) ? 'String' : valueType,
            required: list ? { list: false, items: true } : false,
            description: comparisonDescription(op),
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

  for (const entity of catalog.entities) {
    const types = entityTypes.get(entity.name)!;
    const self = boolExp.get(entity.name)!;
    const attributeComparison = (attribute: Attribute): InputRef =>
      attribute.type === 'enum'
        ? comparison(`${entity.name}_${attribute.name}_enum_comparison_exp`, 'enum', types.enums.get(attribute.name)!)
        : attribute.type === 'ref'
          ? boolExp.get(attribute.refEntity!)!
          : scalarComparison(attribute.type);
    self.implement({
      description: `Filter of ${entity.name} rows (Hasura's bool_exp); a ref field takes the referenced entity's filter`,
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
        return fields as never;
      },
    });
  }
  return boolExp;
}
