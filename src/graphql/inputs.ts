// The read side's generated input types: filters (bool-exp.ts) and sorts (order-by.ts).
import type { Catalog } from '../catalog/index.js';
import type { GatewayBuilder } from './builder.js';
import { defineBoolExpInputs, type InputRef } from './bool-exp.js';
import type { EntityTypes } from './entities.js';
import { defineOrderByInputs } from './order-by.js';

export interface ReadInputs {
  boolExp: ReadonlyMap<string, InputRef>;
  orderBy: ReadonlyMap<string, InputRef>;
}

export function defineReadInputs(builder: GatewayBuilder, catalog: Catalog, entityTypes: ReadonlyMap<string, EntityTypes>): ReadInputs {
  const orderBy = defineOrderByInputs(builder, catalog);
  return { boolExp: defineBoolExpInputs(builder, catalog, entityTypes), orderBy };
}
