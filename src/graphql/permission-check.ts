// Checks every permission of a project's definitions at start, as the rest of a definition is: its
// filters and checks bind as `<entity>_bool_exp`s (names, operators, value types, relations; a
// session variable stands for any value of its column), and a check uses only forms that can be
// judged on rows a transaction writes (row-filter.ts). A mistake stops the start with its file and
// path, instead of failing the role's first request.
import type { Catalog, EntitySchema } from '../catalog/index.js';
import type { BoolExpJson } from '../catalog/permissions.js';
import { ConfigError, GatewayError } from '../errors/index.js';
import { parseWhere } from './bind-filter.js';
import { unjudgeable } from './row-filter.js';

/** Throws a ConfigError listing every permission filter or check of `catalog` that does not bind. */
export function checkPermissions(catalog: Catalog): void {
  const problems: string[] = [];
  for (const entity of catalog.entities) {
    const p = entity.permissions;
    if (!p) continue;
    const at = (operation: string, role: string, part: string) => `entity "${entity.name}" ${operation}_permissions (role "${role}") ${part}`;
    const check = (json: BoolExpJson | null, where: string, judged: boolean) => {
      const problem = bindProblem(catalog, entity, json, judged);
      if (problem) problems.push(`${catalog.sourceOf(entity)}: ${where}: ${problem}`);
    };
    for (const [role, s] of p.select) check(s.filter, at('select', role, 'filter'), false);
    for (const [role, i] of p.insert) check(i.check, at('insert', role, 'check'), true);
    for (const [role, u] of p.update) {
      check(u.filter, at('update', role, 'filter'), false);
      check(u.check, at('update', role, 'check'), true);
    }
    for (const [role, d] of p.delete) check(d.filter, at('delete', role, 'filter'), false);
  }
  if (problems.length > 0) throw new ConfigError(`invalid permissions:\n  ${problems.join('\n  ')}`);
}

function bindProblem(catalog: Catalog, entity: EntitySchema, json: BoolExpJson | null, judged: boolean): string | null {
  if (!json) return null;
  try {
    const filter = parseWhere(catalog, entity, json, 'filter', { anySessionValue: true });
    const form = judged && filter ? unjudgeable(filter) : null;
    return form ? `a check is judged on the rows a transaction writes, and cannot use ${form} filters (comparisons, _in, _is_null, _like/_ilike and refs can)` : null;
  } catch (error) {
    if (error instanceof GatewayError) return error.message;
    throw error;
  }
}
