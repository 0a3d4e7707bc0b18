// A JWT works only at the endpoint of its project (x-hasura-project): with two projects in one
// process, project A's token at B's endpoint is refused before anything of B is read or written,
// a token naming no project is refused everywhere, and the admin credential works at both.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkProject } from '../../src/graphql/auth.js';
import { AuthError } from '../../src/errors/index.js';
import { startProjectsGateway, type ProjectsGateway } from '../support/projects-gateway.js';
import { TEST_ADMIN_TOKEN } from '../support/gateway.js';

const SECRET = 'a-test-secret-of-at-least-32-characters!';
// The role of the tokens may read and insert customers (permissions are the tenants' own business here).
const customers = {
  id: 1,
  name: 'customers',
  attributes: [{ name: 'name', type: 'string', required: true }],
  select_permissions: [{ role: 'user', permission: { columns: '*', filter: {} } }],
  insert_permissions: [{ role: 'user', permission: { columns: '*' } }],
};
const DEFINITIONS = [
  { project: 'acme', entities: [customers] },
  { project: 'globex', entities: [customers] },
];

function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ 'https://hasura.io/jwt/claims': { 'x-hasura-allowed-roles': ['user'], 'x-hasura-default-role': 'user', ...claims } })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));
}

let gw: ProjectsGateway;
beforeAll(async () => {
  gw = await startProjectsGateway({ definitions: DEFINITIONS, auth: { adminToken: TEST_ADMIN_TOKEN, jwt: { secret: SECRET } } });
  for (const project of ['acme', 'globex']) {
    const inserted = await gw.gql(project, `mutation { insert_customers_one(object: {name: "${project}-1"}) { row_id } }`, {}, { admin: true });
    expect(inserted.errors).toBeUndefined();
  }
}, 120_000);
afterAll(() => gw?.close());

const bearer = async (claims: Record<string, unknown>) => ({ authorization: `Bearer ${await token(claims)}` });
const names = (body: { data?: { customers?: { name: string }[] } | null }) => body.data?.customers?.map((c) => c.name);

describe('a token works only at the endpoint of its project', () => {
  it("reads its own project's rows at its endpoint", async () => {
    const answer = await gw.gqlAt('/graphql/acme', '{ customers { name } }', {}, { headers: await bearer({ 'x-hasura-project': 'acme' }) });
    expect(answer.status).toBe(200);
    expect(names(answer.body)).toEqual(['acme-1']);
  });

  it("is refused at another project's endpoint, for reads and writes, and nothing is written", async () => {
    const headers = await bearer({ 'x-hasura-project': 'acme' });
    const read = await gw.gqlAt('/graphql/globex', '{ customers { name } }', {}, { headers });
    expect(read.status).toBe(403);
    expect(read.body.data ?? null).toBeNull();
    expect(read.body.errors?.[0]?.message).toContain('this credential is for project "acme", not "globex"');
    const write = await gw.gqlAt('/graphql/globex', 'mutation { insert_customers_one(object: {name: "intruder"}) { row_id } }', {}, { headers });
    expect(write.status).toBe(403);
    const after = await gw.gql('globex', '{ customers { name } }', {}, { admin: true });
    expect(names(after)).toEqual(['globex-1']);
  });

  it('is refused everywhere when it names no project, since the process serves several', async () => {
    const answer = await gw.gqlAt('/graphql/acme', '{ customers { name } }', {}, { headers: await bearer({}) });
    expect(answer.status).toBe(403);
    expect(answer.body.errors?.[0]?.message).toContain('x-hasura-project');
  });

  it('the admin credential works at every endpoint', async () => {
    expect(names(await gw.gql('acme', '{ customers { name } }', {}, { admin: true }))).toEqual(['acme-1']);
    expect(names(await gw.gql('globex', '{ customers { name } }', {}, { admin: true }))).toEqual(['globex-1']);
  });
});

describe('checkProject', () => {
  const session = (project: string | null, admin = false) => ({ admin, role: 'user', variables: {}, project });
  it('lets a single-project gateway take tokens without a project, and anonymous requests anywhere', () => {
    expect(() => checkProject(session(null), { project: 'demo', shared: false }, true)).not.toThrow();
    expect(() => checkProject(session(null), { project: 'demo', shared: true }, false)).not.toThrow();
  });
  it('refuses a mismatch even on a single-project gateway', () => {
    expect(() => checkProject(session('other'), { project: 'demo', shared: false }, true)).toThrow(AuthError);
  });
  it('lets the admin through whatever the project', () => {
    expect(() => checkProject(session('other', true), { project: 'demo', shared: true }, true)).not.toThrow();
  });
});
