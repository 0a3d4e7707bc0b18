// The demo data set: seeded, reproducible customers and orders for the demo schema (schema/demo.json).
import type { Catalog, EntitySchema } from '../catalog/index.js';
import type { AttributeInput } from '../oltp/index.js';

const COUNTRIES = ['DE', 'FR', 'US', 'GB', 'JP', 'BR', 'IN', 'NL', 'ES', 'IT', 'SE', 'CA'];
const TIERS = ['FREE', 'PRO', 'ENTERPRISE'];
const FIRST = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Linus', 'Frances', 'Ken'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Torvalds', 'Allen', 'Thompson'];
const NOTES = ['gift wrap', 'leave at the door', 'express', "customer's second order", null, null, null];

/** mulberry32: a small seeded PRNG, so every run of the demo or a benchmark sees the same data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;
const BASE_TIME = Date.UTC(2025, 0, 1);

export function demoCustomer(random: () => number): AttributeInput {
  return {
    name: `${pick(random, FIRST)} ${pick(random, LAST)}`,
    country: pick(random, COUNTRIES),
    tier: pick(random, TIERS),
    signup_at: new Date(BASE_TIME + Math.floor(random() * YEAR_MS)),
    lifetime_value: Math.round(random() * 500_000) / 100,
  };
}

export function demoOrder(random: () => number, customerIds: readonly string[]): AttributeInput {
  return {
    customer: customerIds.length > 0 ? pick(random, customerIds) : null,
    total: Math.round(random() * 100_000) / 100,
    quantity: BigInt(1 + Math.floor(random() * 20)),
    paid: random() < 0.8,
    placed_at: new Date(BASE_TIME + Math.floor(random() * 2 * YEAR_MS)),
    note: pick(random, NOTES),
  };
}

/** The demo entities, when a project of the catalog defines them as schema/demo.json does; else null. */
export function demoEntities(catalog: Catalog): { customers: EntitySchema; orders: EntitySchema } | null {
  const has = (entity: EntitySchema | undefined, names: string[]) =>
    entity !== undefined && names.every((n) => entity.attributes.some((a) => a.name === n));
  // Both from one project: an order's customer ref points within its own project.
  for (const project of catalog.projects) {
    const customers = project.entities.find((e) => e.name === 'customers');
    const orders = project.entities.find((e) => e.name === 'orders');
    if (has(customers, ['name', 'country', 'tier', 'signup_at', 'lifetime_value']) && has(orders, ['customer', 'total', 'quantity', 'paid', 'placed_at', 'note'])) {
      return { customers: customers!, orders: orders! };
    }
  }
  return null;
}
