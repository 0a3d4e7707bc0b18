// Generated sort input types (Hasura's names): the order_by enum and <entity>_order_by.
import type { Catalog } from '../catalog/index.js';
import type { OrderTerm } from '../query/index.js';
import { dynamicInput, type GatewayBuilder } from './builder.js';
import type { InputRef } from './bool-exp.js';

const ORDER_VALUES = ['asc', 'asc_nulls_first', 'asc_nulls_last', 'desc', 'desc_nulls_first', 'desc_nulls_last'] as const;

/** Postgres' defaults, as Hasura users expect: ascending puts NULLs last, descending first. */
export function orderTerm(column: string, value: (typeof ORDER_VALUES)[number]): OrderTerm {
  const direction = value.startsWith('asc') ? 'asc' : 'desc';
  const nulls = value.endsWith('nulls_first') ? 'first' : value.endsWith('nulls_last') ? 'last' : direction === 'asc' ? 'last' : 'first';
  return { column, direction, nulls };
}

/** Defines the order_by enum and every entity's `<name>_order_by`, by entity name. */
export function defineOrderByInputs(builder: GatewayBuilder, catalog: Catalog): ReadonlyMap<string, InputRef> {
  builder.enumType('order_by', {
    description: 'Sort direction; without nulls_*, NULLs come last ascending and first descending',
    values: ORDER_VALUES,
  });

  const orderBy = new Map<string, InputRef>(catalog.entities.map((e) => [e.name, builder.inputRef(`${e.name}_order_by`)]));
  for (const entity of catalog.entities) {
    orderBy.get(entity.name)!.implement({
      description: `Sort of ${entity.name} rows: one field per object; row_id breaks ties`,
      fields: (t) => {
        const input = dynamicInput(t);
        const fields: Record<string, unknown> = {
          row_id: input({ type: 'order_by' }),
          time_slot: input({ type: 'order_by' }),
        };
        for (const attribute of entity.attributes) {
          if (attribute.type !== 'json') fields[attribute.name] = input({ type: 'order_by' });
        }
        return fields as never;
      },
    });
  }
  return orderBy;
}

/** `order_by: [{total: desc}, {placed_at: asc}]` (or one object) -> sort terms, in order. */
export function parseOrderBy(orderBy: unknown): OrderTerm[] {
  const items = Array.isArray(orderBy) ? orderBy : orderBy ? [orderBy] : [];
  return items.flatMap((item: Record<string, (typeof ORDER_VALUES)[number] | null | undefined>) =>
    Object.entries(item)
      .filter((entry): entry is [string, (typeof ORDER_VALUES)[number]] => entry[1] != null)
      .map(([column, value]) => orderTerm(column, value)),
  );
}
