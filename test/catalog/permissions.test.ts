import { describe, expect, it } from 'vitest';
import { isSessionVariable, parseProjectDefinition, rolesNamed } from '../../src/catalog/index.js';
import { ConfigError } from '../../src/errors/index.js';

const SOURCE = 'schema/shop.json';

function shop(permissions: Record<string, unknown>) {
  return {
    project: 'shop',
    entities: [
      {
        id: 1,
        name: 'customers',
        attributes: [
          { name: 'name', type: 'string', required: true },
          { name: 'region', type: 'string' },
          { name: 'owner', type: 'string' },
        ],
        ...permissions,
      },
    ],
  };
}

function problemOf(json: unknown): string {
  try {
    parseProjectDefinition(json, SOURCE);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the definition to be rejected');
}

describe('permissions in the definitions file (Hasura metadata shape)', () => {
  it('an entity without permissions carries none (only the admin may use it)', () => {
    const [entity] = parseProjectDefinition(shop({}), SOURCE).entities;
    expect(entity!.permissions).toBeUndefined();
  });

  it('reads select, insert, update and delete permissions per role, "*" as every column', () => {
    const [entity] = parseProjectDefinition(
      shop({
        select_permissions: [
          { role: 'user', permission: { columns: '*', filter: { owner: { _eq: 'X-Hasura-User-Id' } }, limit: 100, allow_aggregations: true } },
          { role: 'guest', permission: { columns: ['row_id', 'name'] } },
        ],
        insert_permissions: [{ role: 'user', permission: { check: { region: { _eq: 'X-Hasura-Region' } }, columns: ['name'], set: { owner: 'x-hasura-user-id', region: 'EU' } } }],
        update_permissions: [{ role: 'user', permission: { columns: ['name'], filter: { owner: { _eq: 'X-Hasura-User-Id' } }, check: null } }],
        delete_permissions: [{ role: 'user', permission: { filter: { owner: { _eq: 'X-Hasura-User-Id' } } } }],
      }),
      SOURCE,
    ).entities;
    const permissions = entity!.permissions!;
    expect(permissions.select.get('user')).toEqual({
      columns: ['row_id', 'time_slot', 'deleted_at', 'name', 'region', 'owner'],
      filter: { owner: { _eq: 'X-Hasura-User-Id' } },
      limit: 100,
      allowAggregations: true,
      queryRootFields: ['select', 'select_by_pk', 'select_aggregate'],
    });
    expect(permissions.select.get('guest')).toMatchObject({ columns: ['row_id', 'name'], filter: {}, limit: null, allowAggregations: false });
    expect(permissions.insert.get('user')!.set).toEqual([
      { column: 'owner', kind: 'session', variable: 'x-hasura-user-id' },
      { column: 'region', kind: 'literal', value: 'EU' },
    ]);
    expect(permissions.update.get('user')).toMatchObject({ columns: ['name'], check: null });
    expect(permissions.delete.has('user')).toBe(true);
    expect(permissions.delete.has('guest')).toBe(false);
    expect(rolesNamed([permissions])).toEqual(['guest', 'user']);
  });

  it('names file and path of an unknown column, a duplicate role, a bad role and an unknown preset', () => {
    const message = problemOf(
      shop({
        select_permissions: [
          { role: 'user', permission: { columns: ['name', 'secret'] } },
          { role: 'user', permission: { columns: '*' } },
          { role: 'admin', permission: { columns: '*' } },
        ],
        insert_permissions: [{ role: 'user', permission: { set: { nope: 1 } } }],
        update_permissions: [{ role: '1bad', permission: { columns: ['row_id'] } }],
      }),
    );
    expect(message).toContain('schema/shop.json: entities[0].select_permissions[0].permission.columns[1]: unknown column "secret"');
    expect(message).toContain('entities[0].select_permissions[1].role: role "user" has two select_permissions entries');
    expect(message).toContain('entities[0].select_permissions[2].role: "admin" may do everything');
    expect(message).toContain('entities[0].insert_permissions[0].permission.set.nope: unknown attribute "nope"');
    expect(message).toContain('entities[0].update_permissions[0].role: role "1bad" must match');
  });

  it('refuses keys Hasura does not have, with their path', () => {
    const message = problemOf(shop({ select_permissions: [{ role: 'user', permission: { columns: '*', filters: {} } }] }));
    expect(message).toContain('entities[0].select_permissions[0].permission');
    expect(message).toContain('filters');
  });

  it('refuses a row_id column in insert permissions (it is not writable there)', () => {
    const message = problemOf(shop({ insert_permissions: [{ role: 'user', permission: { columns: ['row_id'] } }] }));
    expect(message).toContain('insert_permissions[0].permission.columns[0]: unknown column "row_id"');
  });

  it('refuses a limit that is not a positive integer, naming its path', () => {
    const message = problemOf(shop({ select_permissions: [{ role: 'user', permission: { columns: '*', limit: 0 } }] }));
    expect(message).toContain('entities[0].select_permissions[0].permission.limit');
  });

  it('tells session variables from literals as Hasura does (X-Hasura- prefix, any case)', () => {
    expect(isSessionVariable('X-Hasura-User-Id')).toBe(true);
    expect(isSessionVariable('x-hasura-region')).toBe(true);
    expect(isSessionVariable('X-Hasura-')).toBe(false);
    expect(isSessionVariable('user-id')).toBe(false);
    expect(isSessionVariable(42)).toBe(false);
  });
});
