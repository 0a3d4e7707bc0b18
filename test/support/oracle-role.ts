// The truth as a role sees it, for differential tests of permissions: each entity's current rows cut
// to those its select permission's filter admits, with the session's variables in place of
// `X-Hasura-*`. A filter is judged over the whole truth (a ref inside a permission reads the
// referenced row unfiltered, as in Hasura); every question is then answered over the cut truth, so
// the role's filter of an entity holds wherever that entity is read: the list, refs and reverse
// relations in `where`, related sorts, group keys through refs, nested aggregates.
import { isSessionVariable, type Catalog } from '../../src/catalog/index.js';
import { evaluate, type Truth } from './oracle.js';

/** `json` with each session variable name replaced by the session's value (names any case). */
export function bindSession(json: unknown, session: Readonly<Record<string, string>>): unknown {
  if (isSessionVariable(json)) {
    const value = session[json.toLowerCase()];
    if (value === undefined) throw new Error(`oracle: session variable ${json} is not set`);
    return value;
  }
  if (Array.isArray(json)) return json.map((item) => bindSession(item, session));
  if (typeof json === 'object' && json !== null) return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, bindSession(v, session)]));
  return json;
}

/** The rows `role` may select, per entity; an entity it may not select has none. `session` keys are lower case. */
export function truthAs(catalog: Catalog, truth: Truth, role: string, session: Readonly<Record<string, string>>): Truth {
  const seen: Truth = new Map();
  for (const entity of catalog.entities) {
    const permission = entity.permissions?.select.get(role);
    const rows = truth.get(entity.name)!;
    const filter = permission ? (bindSession(permission.filter, session) as Record<string, unknown>) : null;
    seen.set(entity.name, new Map([...rows].filter(([, row]) => filter !== null && evaluate(catalog, truth, entity, row, filter) === true)));
  }
  return seen;
}
