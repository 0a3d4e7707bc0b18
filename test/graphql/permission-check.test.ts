// Permission filters and checks are checked at start like the rest of a definition: a mistake in
// one stops the start with its file and path, not the role's first request.
import { describe, expect, it } from 'vitest';
import { Catalog, parseProjectDefinition } from '../../src/catalog/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { parseWhere } from '../../src/graphql/bind-filter.js';
import { checkPermissions } from '../../src/graphql/permission-check.js';
import { buildSchema } from '../../src/graphql/schema.js';

function catalogWith(permissions: Record<string, unknown>): Catalog {
  const definition = parseProjectDefinition(
    {
      project: 'shop',
      entities: [
        { id: 1, name: 'owners', attributes: [{ name: 'team', type: 'int' }, { name: 'email', type: 'string' }] },
        {
          id: 2,
          name: 'customers',
          attributes: [
            { name: 'name', type: 'string', required: true },
            { name: 'score', type: 'float' },
            { name: 'owner', type: 'ref', entity: 'owners' },
            { name: 'tier', type: 'enum', values: ['FREE', 'PRO'] },
          ],
          ...permissions,
        },
      ],
    },
    'schema/shop.json',
  );
  return new Catalog([definition]);
}

function problemOf(permissions: Record<string, unknown>): string | null {
  try {
    checkPermissions(catalogWith(permissions));
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

const select = (filter: unknown) => ({ select_permissions: [{ role: 'user', permission: { columns: '*', filter } }] });

describe('permission filters and checks at start', () => {
  it('accepts session variables in columns of every type, through refs too', () => {
    expect(problemOf(select({ _and: [{ owner: { team: { _eq: 'X-Hasura-Team' } } }, { score: { _gt: 'X-Hasura-Min' } }, { tier: { _eq: 'X-Hasura-Tier' } }, { name: { _ilike: 'X-Hasura-Name' } }] }))).toBeNull();
  });

  it('stops the schema from being built, so the gateway does not start with a broken permission', () => {
    expect(() => buildSchema(catalogWith(select({ nmae: { _eq: 'x' } })))).toThrow(/select_permissions \(role "user"\) filter: filter\.nmae/);
  });

  it('names the file, entity, operation, role and path of an unknown field, operator or value', () => {
    expect(problemOf(select({ nmae: { _eq: 'x' } }))).toMatch(/schema\/shop\.json: entity "customers" select_permissions \(role "user"\) filter: filter\.nmae/);
    expect(problemOf(select({ name: { _gtx: 'x' } }))).toContain('filter.name._gtx');
    expect(problemOf(select({ owner: { team: { _eq: 'ten' } } }))).toContain('filter.owner.team._eq');
  });

  it('refuses a check in a form that cannot be judged on written rows, and accepts one that can', () => {
    const insert = (check: unknown) => ({ insert_permissions: [{ role: 'user', permission: { columns: '*', check } }] });
    expect(problemOf(insert({ name: { _regex: '^a' } }))).toMatch(/insert_permissions \(role "user"\) check: .*cannot use regex/);
    expect(problemOf(insert({ owner: { email: { _like: '%@x' } }, score: { _in: [1, 2] } }))).toBeNull();
    // the same form is fine in a filter: the search judges those
    expect(problemOf(select({ name: { _regex: '^a' } }))).toBeNull();
  });

  it('a session variable binds at request time whatever its column type, as it was checked at start', () => {
    const catalog = catalogWith({});
    const customers = catalog.entity('customers');
    const session = (values: Record<string, string>) => ({ session: (name: string) => values[name] });
    const where = { _and: [{ score: { _gt: 'X-Hasura-Min' } }, { owner: { team: { _eq: 'X-Hasura-Team' } } }] };
    expect(checkPermissions(catalogWith(select(where)))).toBeUndefined();
    expect(JSON.stringify(parseWhere(catalog, customers, where, 'filter', session({ 'x-hasura-min': '2.5', 'x-hasura-team': '7' })), (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toContain('2.5');
    expect(() => parseWhere(catalog, customers, where, 'filter', session({ 'x-hasura-min': 'high', 'x-hasura-team': '7' }))).toThrow(/filter\._and\[0\]\.score\._gt: .*"high"/);
  });
});
