// Per-role permissions (Hasura's select/insert/update/delete_permissions), through every root and
// nested field a row can be reached by: a role × entity × operation matrix of allowed, filtered and
// refused, with the rows in the buffer and in the lake. Roles are taken as Hasura's admin tries
// them (admin token + X-Hasura-Role + x-hasura-* session headers); JWT roles: auth.int.test.ts.
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactSchema } from '../../src/compaction/index.js';
import { TEST_ADMIN_TOKEN, startTestGateway, type GraphQLResponse, type TestGateway } from '../support/gateway.js';
import { scratchDir } from '../support/scratch.js';

const TEAM = 'X-Hasura-Team-Id';
const SAME_TEAM = { team: { row_id: { _eq: TEAM } } };
const ORG = {
  project: 'org',
  entities: [
    {
      id: 1,
      name: 'teams',
      attributes: [
        { name: 'name', type: 'string', required: true },
        { name: 'region', type: 'string' },
      ],
      select_permissions: [
        // every team, but only by list: no _by_pk, no aggregates
        { role: 'member', permission: { columns: ['row_id', 'name'], filter: {}, query_root_fields: ['select'] } },
        // the teams of the auditor's region; the value is a session variable, bound as a parameter
        { role: 'auditor', permission: { columns: '*', filter: { region: { _eq: 'X-Hasura-Region' } }, allow_aggregations: true } },
      ],
    },
    {
      id: 2,
      name: 'members',
      attributes: [
        { name: 'name', type: 'string', required: true },
        { name: 'team', type: 'ref', entity: 'teams' },
        { name: 'salary', type: 'int' },
        { name: 'email', type: 'string' },
      ],
      select_permissions: [
        { role: 'member', permission: { columns: ['row_id', 'name', 'team'], filter: SAME_TEAM, limit: 2, allow_aggregations: true } },
        { role: 'auditor', permission: { columns: '*', filter: {}, allow_aggregations: true } },
      ],
    },
    {
      id: 3,
      name: 'notes',
      attributes: [
        { name: 'member', type: 'ref', entity: 'members' },
        { name: 'text', type: 'string' },
        { name: 'secret', type: 'boolean' },
        { name: 'reviewed', type: 'boolean' },
      ],
      select_permissions: [
        { role: 'member', permission: { columns: '*', filter: { _and: [{ member: SAME_TEAM }, { secret: { _eq: false } }] }, allow_aggregations: true } },
      ],
      insert_permissions: [{ role: 'member', permission: { columns: ['member', 'text'], check: { member: SAME_TEAM }, set: { secret: false } } }],
      update_permissions: [
        { role: 'member', permission: { columns: ['text'], filter: { member: SAME_TEAM }, check: { text: { _nlike: '%forbidden%' } }, set: { reviewed: false } } },
      ],
      delete_permissions: [{ role: 'member', permission: { filter: { member: { row_id: { _eq: 'X-Hasura-User-Id' } } } } }],
    },
  ],
};

let gw: TestGateway;
const ids: Record<string, string> = {};

const as = (role: string, variables: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'x-hasura-role': role, ...variables },
});
const member = (who = 'a1') => as('member', { 'x-hasura-team-id': ids.A!, 'x-hasura-user-id': ids[who]! });
const auditor = (region = 'north') => as('auditor', { 'x-hasura-region': region });

async function ok(query: string, variables: Record<string, unknown> | undefined, options: { headers: Record<string, string> }): Promise<any> {
  const answer = await gw.gql(query, variables, options);
  expect(answer.errors, query).toBeUndefined();
  return answer.data;
}

/** A refusal by the role's schema: the field, argument or column is not there for it. */
async function absent(query: string, options: { headers: Record<string, string> }, what: RegExp): Promise<void> {
  const answer: GraphQLResponse = await gw.gql(query, undefined, options);
  expect(answer.errors?.[0]?.extensions?.code, query).toBe('GRAPHQL_VALIDATION_FAILED');
  expect(answer.errors?.[0]?.message, query).toMatch(what);
}

async function insert(entity: string, object: Record<string, unknown>): Promise<string> {
  const data = await ok(`mutation($o: ${entity}_insert_input!) { insert_${entity}_one(object: $o) { row_id } }`, { o: object }, { headers: {} });
  return data[`insert_${entity}_one`].row_id;
}

const names = (rows: { name?: string; text?: string }[]) => rows.map((r) => r.name ?? r.text).sort();

async function toLake(...entities: string[]): Promise<void> {
  for (const name of entities) {
    await gw.lakehouse.admin.flush(gw.catalog.entity(name), true);
    const outcome = await compactSchema(gw.lakehouse.compactDeps, gw.catalog.entity(name), { force: true, trigger: 'test' });
    expect(outcome.status).toBe('compacted');
  }
}

beforeAll(async () => {
  const dir = await scratchDir('permissions-');
  await fs.writeFile(path.join(dir, 'org.json'), JSON.stringify(ORG));
  gw = await startTestGateway({ schemaDir: dir });
  ids.A = await insert('teams', { name: 'A', region: 'north' });
  ids.B = await insert('teams', { name: 'B', region: 'south' });
  for (const [name, team, salary] of [['a1', 'A', 100], ['a2', 'A', 200], ['a3', 'A', 300], ['b1', 'B', 400]] as const) {
    ids[name] = await insert('members', { name, team: ids[team], salary, email: `${name}@example.com` });
  }
  ids.n1 = await insert('notes', { member: ids.a1, text: 'a1 public', secret: false, reviewed: true });
  ids.n2 = await insert('notes', { member: ids.a1, text: 'a1 secret', secret: true, reviewed: true });
  ids.n3 = await insert('notes', { member: ids.a2, text: 'a2 public', secret: false, reviewed: true });
  ids.n4 = await insert('notes', { member: ids.b1, text: 'b1 public', secret: false, reviewed: true });
  // teams and members in the lake (base files), notes buffered: the filters hold in every tier
  await toLake('teams', 'members');
}, 120_000);
afterAll(() => gw?.close());

describe('select: rows are filtered wherever they are read', () => {
  it('lists: the filter, then the permission limit (which wins over a larger limit)', async () => {
    const data = await ok('{ members(order_by: {name: asc}, limit: 10) { name } notes(order_by: {text: asc}) { text } teams { name } }', undefined, member());
    expect(names(data.members)).toEqual(['a1', 'a2']);
    expect(names(data.notes)).toEqual(['a1 public', 'a2 public']);
    expect(names(data.teams)).toEqual(['A', 'B']);
  });

  it('aggregates, group_by and nested aggregates count only visible rows (no limit on them)', async () => {
    const data = await ok(
      `{ members_aggregate { aggregate { count } }
         grouped: members_aggregate(group_by: [team]) { groups { key { team } aggregate { count } } }
         teams(order_by: {name: asc}) { name members_aggregate { aggregate { count } } } }`,
      undefined,
      member(),
    );
    expect(data.members_aggregate.aggregate.count).toBe(3);
    expect(data.grouped.groups).toEqual([{ key: { team: ids.A }, aggregate: { count: 3 } }]);
    expect(data.teams).toEqual([
      { name: 'A', members_aggregate: { aggregate: { count: 3 } } },
      { name: 'B', members_aggregate: { aggregate: { count: 0 } } },
    ]);
  });

  it('_by_pk, refs and reverse relations: a row the filter hides is null or absent', async () => {
    const data = await ok(
      `query($a: UUID!, $b: UUID!, $n: UUID!) {
         mine: members_by_pk(row_id: $a) { name team { name } }
         theirs: members_by_pk(row_id: $b) { name }
         secret: notes_by_pk(row_id: $n) { text }
         teams(order_by: {name: asc}) { name members(order_by: {name: asc}) { name } }
         notes(order_by: {text: asc}) { text member { name } } }`,
      { a: ids.a1, b: ids.b1, n: ids.n2 },
      member(),
    );
    expect(data.mine).toEqual({ name: 'a1', team: { name: 'A' } });
    expect(data.theirs).toBeNull();
    expect(data.secret).toBeNull();
    // the permission limit bounds each array relationship too
    expect(data.teams).toEqual([
      { name: 'A', members: [{ name: 'a1' }, { name: 'a2' }] },
      { name: 'B', members: [] },
    ]);
    expect(data.notes).toEqual([
      { text: 'a1 public', member: { name: 'a1' } },
      { text: 'a2 public', member: { name: 'a2' } },
    ]);
  });

  it('filters and sorts through relations read the related rows the role may see', async () => {
    const asMember = await ok(
      `{ byReverse: teams(where: {members: {name: {_eq: "b1"}}}) { name }
         byCount: teams(where: {members_aggregate: {count: {predicate: {_gt: 0}}}}) { name }
         sorted: members(order_by: {team: {name: desc}}, limit: 2) { name } }`,
      undefined,
      member(),
    );
    expect(asMember.byReverse).toEqual([]); // b1 is not the member's to see
    expect(asMember.byCount).toEqual([{ name: 'A' }]);
    const asAuditor = await ok('{ teams(where: {members: {name: {_eq: "b1"}}}) { name } }', undefined, auditor('south'));
    expect(asAuditor.teams).toEqual([{ name: 'B' }]);
  });

  it('session variables are values, never SQL: a hostile region matches nothing', async () => {
    const data = await ok('{ teams { name } members_aggregate { aggregate { count } } }', undefined, auditor("north' OR '1'='1"));
    expect(data.teams).toEqual([]);
    expect(data.members_aggregate.aggregate.count).toBe(4);
  });

  it('a missing session variable is a clear error', async () => {
    const answer = await gw.gql('{ members { name } }', undefined, as('member'));
    expect(answer.errors?.[0]?.message).toContain('session variable "X-Hasura-Team-Id" is not set');
  });
});

describe("each role's schema has only what it may use", () => {
  it('columns, arguments and root fields it may not use are absent, introspection too', async () => {
    await absent('{ members { salary } }', member(), /Cannot query field "salary"/);
    await absent('{ members(where: {email: {_eq: "x"}}) { name } }', member(), /"email" is not defined/);
    await absent('{ members(order_by: {salary: asc}) { name } }', member(), /"salary" is not defined/);
    await absent('{ members_aggregate { aggregate { sum { salary } } } }', member(), /Cannot query field "sum"/);
    await absent('query($t: UUID!) { teams_by_pk(row_id: $t) { name } }', member(), /Cannot query field "teams_by_pk"/);
    await absent('{ teams_aggregate { aggregate { count } } }', member(), /Cannot query field "teams_aggregate"/);
    await absent('{ notes { text } }', auditor(), /Cannot query field "notes"/);
    await absent('mutation { insert_members_one(object: {name: "x"}) { row_id } }', member(), /Cannot query field "insert_members_one"/);
    await absent('mutation { insert_notes_one(object: {text: "x", secret: true}) { row_id } }', member(), /"secret" is not defined/);
    await absent('{ lake_status { entity } }', member(), /Cannot query field "lake_status"/);

    const intro = await ok(
      `{ members: __type(name: "members") { fields { name } }
         insert: __type(name: "notes_insert_input") { inputFields { name } }
         set: __type(name: "notes_set_input") { inputFields { name } }
         __schema { queryType { fields { name } } mutationType { fields { name } } } }`,
      undefined,
      member(),
    );
    expect(intro.members.fields.map((f: { name: string }) => f.name).sort()).toEqual(['name', 'notes', 'notes_aggregate', 'row_id', 'team']);
    expect(intro.insert.inputFields.map((f: { name: string }) => f.name).sort()).toEqual(['member', 'row_id', 'text']);
    expect(intro.set.inputFields.map((f: { name: string }) => f.name).sort()).toEqual(['text']);
    expect(intro.__schema.queryType.fields.map((f: { name: string }) => f.name).sort()).toEqual([
      'members', 'members_aggregate', 'members_by_pk', 'notes', 'notes_aggregate', 'notes_by_pk', 'teams',
    ]);
    expect(intro.__schema.mutationType.fields.map((f: { name: string }) => f.name).sort()).toEqual([
      'delete_notes', 'delete_notes_by_pk', 'insert_notes', 'insert_notes_one', 'update_notes', 'update_notes_by_pk', 'update_notes_many',
    ]);
  });

  it('a role no permission names sees no entity; the admin sees everything', async () => {
    const guest = as('guest');
    expect((await ok('{ no_queries_available }', undefined, guest)).no_queries_available).toContain('no queries available');
    await absent('{ teams { name } }', guest, /Cannot query field "teams"/);
    const admin = await ok('{ members(order_by: {name: asc}) { name salary } }', undefined, { headers: {} });
    expect(admin.members.map((m: { salary: number }) => m.salary)).toEqual([100, 200, 300, 400]);
  });
});

describe('writes: filters, checks and presets', () => {
  const noteCount = async () => (await ok('{ notes_aggregate { aggregate { count } } }', undefined, { headers: {} })).notes_aggregate.aggregate.count;

  it('insert: presets win, the check must hold for every row, or nothing is written', async () => {
    const before = await noteCount();
    const one = await ok('mutation($m: UUID!) { insert_notes_one(object: {member: $m, text: "hello"}) { text secret } }', { m: ids.a2 }, member());
    expect(one.insert_notes_one).toEqual({ text: 'hello', secret: false });
    const refused = await gw.gql(
      'mutation($a: UUID!, $b: UUID!) { insert_notes(objects: [{member: $a, text: "mine"}, {member: $b, text: "theirs"}]) { affected_rows } }',
      { a: ids.a1, b: ids.b1 },
      member(),
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toContain('objects[1]');
    expect(refused.errors?.[0]?.message).toContain('check of the insert permission of role "member"');
    expect(await noteCount()).toBe(before + 1);
  });

  it('update: only rows the filter allows change; a row failing the check fails the whole update', async () => {
    const updated = await ok('mutation { update_notes(where: {}, _set: {text: "edited"}) { affected_rows returning { text } } }', undefined, member());
    // team A's notes (secret too: the update filter does not hide them), not b1's; returning shows the visible ones
    expect(updated.update_notes.affected_rows).toBe(4);
    expect(updated.update_notes.returning).toEqual([{ text: 'edited' }, { text: 'edited' }, { text: 'edited' }]);
    const theirs = await ok('mutation($n: UUID!) { update_notes_by_pk(row_id: $n, _set: {text: "hijacked"}) { text } }', { n: ids.n4 }, member());
    expect(theirs.update_notes_by_pk).toBeNull();
    const failing = await gw.gql('mutation { update_notes(where: {}, _set: {text: "forbidden words"}) { affected_rows } }', undefined, member());
    expect(failing.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(failing.errors?.[0]?.message).toContain('check of the update permission');
    const all = await ok('{ notes(order_by: [{text: asc}, {reviewed: asc}]) { text reviewed } }', undefined, { headers: {} });
    // the update permission's preset: what a member edits is no longer reviewed
    expect(all.notes).toEqual([
      { text: 'b1 public', reviewed: true },
      { text: 'edited', reviewed: false },
      { text: 'edited', reviewed: false },
      { text: 'edited', reviewed: false },
      { text: 'edited', reviewed: false },
    ]);
  });

  it('delete: only the rows the filter allows; returning only the rows the role may see', async () => {
    const deleted = await ok('mutation { delete_notes(where: {}) { affected_rows returning { text secret } } }', undefined, member('a1'));
    // a1's two notes go (one secret: deleted, but not returned)
    expect(deleted.delete_notes.affected_rows).toBe(2);
    expect(deleted.delete_notes.returning).toEqual([{ text: 'edited', secret: false }]);
    const theirs = await ok('mutation($n: UUID!) { delete_notes_by_pk(row_id: $n) { text } }', { n: ids.n4 }, member('a1'));
    expect(theirs.delete_notes_by_pk).toBeNull();
    expect(await noteCount()).toBe(3);
  });
});
