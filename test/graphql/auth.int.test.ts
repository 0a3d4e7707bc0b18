// Authentication through yoga.fetch: the admin credential, HS256 and JWKS JWTs (a loopback JWKS server, real jose), hostile tokens, roles, the anonymous role.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema, type AuthSettings, type GatewayYoga } from '../../src/graphql/index.js';
import type { GatewayContext } from '../../src/graphql/index.js';
import { startTestGateway, TEST_ADMIN_TOKEN, type GraphQLResponse, type TestGateway } from '../support/gateway.js';

const SECRET = 'a-test-secret-of-at-least-32-characters!';
const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'ltbase-gateway';
const NS = 'https://hasura.io/jwt/claims';

let gw: TestGateway;
let jwks: { server: Server; url: string; keys: JWK[]; fetches: number };

/** A schema with one field that shows the request's session, to see what authentication resolved. */
const whoamiSchema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: { whoami: { type: GraphQLString, resolve: (_root, _args, ctx: GatewayContext) => JSON.stringify(ctx.session) } },
  }),
});

function yogaWith(auth: AuthSettings, schema: GraphQLSchema = whoamiSchema): GatewayYoga {
  return gw.yogaWith({ auth, schema });
}

interface Answer extends GraphQLResponse {
  status: number;
  headers: Headers;
}

async function call(yoga: GatewayYoga, headers: Record<string, string>, query = '{ whoami }', variables?: unknown): Promise<Answer> {
  const response = await yoga.fetch('http://test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, ...((await response.json()) as GraphQLResponse) };
}

const session = (answer: Answer) => JSON.parse(answer.data.whoami);
const now = () => Math.floor(Date.now() / 1000);

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    [NS]: {
      'x-hasura-allowed-roles': ['user', 'viewer'],
      'x-hasura-default-role': 'user',
      'x-hasura-user-id': '42',
      'x-hasura-project': 'demo',
      'X-Hasura-Region': 'eu',
      ...extra,
    },
  };
}

async function hs256(payload: Record<string, unknown> = claims(), options: { secret?: string; exp?: number | null; nbf?: number; iss?: string; aud?: string } = {}) {
  let jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer(options.iss ?? ISSUER).setAudience(options.aud ?? AUDIENCE);
  if (options.exp !== null) jwt = jwt.setExpirationTime(options.exp ?? now() + 600);
  if (options.nbf !== undefined) jwt = jwt.setNotBefore(options.nbf);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  gw = await startTestGateway();
  jwks = { server: createServer(), url: '', keys: [], fetches: 0 };
  jwks.server.on('request', (req, res) => {
    jwks.fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: jwks.keys }));
  });
  await new Promise<void>((resolve) => jwks.server.listen(0, '127.0.0.1', resolve));
  jwks.url = `http://127.0.0.1:${(jwks.server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => (jwks?.server ? jwks.server.close(() => resolve()) : resolve()));
  await gw?.close();
});

describe('HS256 JWTs (JWT_SECRET) with issuer and audience', () => {
  let yoga: GatewayYoga;
  beforeAll(() => {
    yoga = yogaWith({ adminToken: TEST_ADMIN_TOKEN, jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, clockToleranceS: 5 } });
  });

  it('refuses a request without a credential with 401 UNAUTHENTICATED before looking at its document', async () => {
    const answer = await call(yoga, {}, '{ no_such_field }');
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    expect(answer.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(answer.errors?.[0]?.message).toContain('needs a credential');
    expect(answer.data).toBeUndefined();
  });

  it('puts the Hasura claims of a valid token on the session, variables lower-cased', async () => {
    const answer = await call(yoga, { authorization: `Bearer ${await hs256()}` });
    expect(answer.errors).toBeUndefined();
    expect(session(answer)).toEqual({
      admin: false,
      role: 'user',
      project: 'demo',
      variables: { 'x-hasura-user-id': '42', 'x-hasura-project': 'demo', 'x-hasura-region': 'eu', 'x-hasura-role': 'user' },
    });
  });

  it('takes X-Hasura-Role when the token allows it, and refuses one it does not allow with 403', async () => {
    const token = await hs256();
    expect(session(await call(yoga, { authorization: `Bearer ${token}`, 'x-hasura-role': 'viewer' })).role).toBe('viewer');
    const refused = await call(yoga, { authorization: `Bearer ${token}`, 'x-hasura-role': 'admin' });
    expect(refused.status).toBe(403);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.message).toContain('role "admin"');
    expect(refused.errors?.[0]?.message).toContain('x-hasura-allowed-roles');
  });

  it('reads claims in stringified JSON (Hasura claims_format: stringified_json)', async () => {
    const token = await hs256({ [NS]: JSON.stringify(claims()[NS]) });
    expect(session(await call(yoga, { authorization: `Bearer ${token}` })).role).toBe('user');
  });

  it('accepts a token expired within the clock tolerance', async () => {
    const token = await hs256(claims(), { exp: now() - 2 });
    expect((await call(yoga, { authorization: `Bearer ${token}` })).errors).toBeUndefined();
  });

  const hostile: [string, () => Promise<string>, string][] = [
    ['unsigned (alg none)', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims(), iss: ISSUER, aud: AUDIENCE, exp: now() + 600 })}.`, 'invalid JWT'],
    ['alg none with a signature part', async () => `${b64({ alg: 'none' })}.${b64({ ...claims(), exp: now() + 600 })}.c2ln`, 'invalid JWT'],
    ['expired', () => hs256(claims(), { exp: now() - 60 }), 'expired'],
    ['not yet valid', () => hs256(claims(), { nbf: now() + 120 }), 'not valid yet'],
    ['signed with another key', () => hs256(claims(), { secret: 'another-secret-of-at-least-32-characters' }), 'signature'],
    ['of another issuer', () => hs256(claims(), { iss: 'https://evil.test/' }), '"iss"'],
    ['for another audience', () => hs256(claims(), { aud: 'other-api' }), '"aud"'],
    ['without an expiry', () => hs256(claims(), { exp: null }), 'exp'],
    ['without Hasura claims', () => hs256({ sub: '42' }), NS],
    ['with a default role outside its allowed roles', () => hs256(claims({ 'x-hasura-default-role': 'admin' })), 'x-hasura-default-role'],
    ['with no allowed roles', () => hs256(claims({ 'x-hasura-allowed-roles': [] })), 'x-hasura-allowed-roles'],
    ['with claims that are not JSON', () => hs256({ [NS]: '{not json' }), 'not JSON'],
    ['garbage', async () => 'not-a-jwt', 'invalid JWT'],
    ['three garbage parts', async () => 'a.b.c', 'invalid JWT'],
    ['a header that is not JSON', async () => `${Buffer.from('{"alg":').toString('base64url')}.${b64(claims())}.sig`, 'invalid JWT'],
    ['RS256-looking with an HS256 config', async () => `${b64({ alg: 'RS256' })}.${b64({ ...claims(), exp: now() + 600 })}.c2ln`, 'algorithm'],
    ['oversized', async () => `${await hs256(claims({ 'x-hasura-padding': 'x'.repeat(10_000) }))}`, 'JWT_MAX_BYTES'],
  ];
  it.each(hostile)('refuses a token %s with 401 and says why', async (_name, make, says) => {
    const answer = await call(yoga, { authorization: `Bearer ${await make()}` });
    expect(answer.status).toBe(401);
    expect(answer.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(answer.errors?.[0]?.message).toContain(says);
    expect(answer.data).toBeUndefined();
  });

  it('refuses an Authorization header that is not Bearer', async () => {
    const answer = await call(yoga, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
    expect(answer.status).toBe(401);
    expect(answer.errors?.[0]?.message).toContain('Bearer');
  });
});

describe('the admin credential', () => {
  let yoga: GatewayYoga;
  beforeAll(() => {
    yoga = yogaWith({ adminToken: TEST_ADMIN_TOKEN, jwt: { secret: SECRET } });
  });

  it('is admin as Authorization: Bearer or as x-hasura-admin-secret', async () => {
    expect(session(await call(yoga, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }))).toMatchObject({ admin: true, role: 'admin', project: null });
    expect(session(await call(yoga, { 'x-hasura-admin-secret': TEST_ADMIN_TOKEN }))).toMatchObject({ admin: true, role: 'admin' });
  });

  it('refuses a wrong admin secret, and a token one character off', async () => {
    const wrong = await call(yoga, { 'x-hasura-admin-secret': `${TEST_ADMIN_TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.errors?.[0]?.message).toContain('ADMIN_TOKEN');
    expect((await call(yoga, { authorization: `Bearer ${TEST_ADMIN_TOKEN.slice(0, -1)}!` })).status).toBe(401);
  });

  it('acts as another role with the x-hasura-* headers as session variables (Hasura\'s way of trying a role)', async () => {
    const answer = await call(yoga, { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'x-hasura-role': 'user', 'X-Hasura-User-Id': '7', 'x-hasura-project': 'demo' });
    expect(session(answer)).toEqual({
      admin: false,
      role: 'user',
      project: 'demo',
      variables: { 'x-hasura-role': 'user', 'x-hasura-user-id': '7', 'x-hasura-project': 'demo' },
    });
  });
});

describe('the anonymous role (ANONYMOUS_ROLE)', () => {
  it('is the session of a request without a credential; another role needs one', async () => {
    const yoga = yogaWith({ adminToken: TEST_ADMIN_TOKEN, anonymousRole: 'public', jwt: { secret: SECRET } });
    expect(session(await call(yoga, {}))).toEqual({ admin: false, role: 'public', project: null, variables: { 'x-hasura-role': 'public' } });
    const other = await call(yoga, { 'x-hasura-role': 'user' });
    expect(other.status).toBe(403);
    expect(other.errors?.[0]?.message).toContain('needs a credential');
    // a bad credential is refused, not taken as anonymous
    expect((await call(yoga, { authorization: 'Bearer nope' })).status).toBe(401);
  });
});

describe('JWKS (JWT_JWKS_URL): RS256, ES256 and EdDSA keys from a loopback server', () => {
  const signers: Record<string, { privateKey: CryptoKey; jwk: JWK }> = {};
  let yoga: GatewayYoga;

  async function keyPair(kid: string, alg: 'RS256' | 'ES256' | 'EdDSA') {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    signers[kid] = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
    return signers[kid]!.jwk;
  }
  const sign = (kid: string, alg: string, payload = claims()) =>
    new SignJWT(payload).setProtectedHeader({ alg, kid }).setIssuedAt().setExpirationTime('10m').sign(signers[kid]!.privateKey);

  beforeAll(async () => {
    jwks.keys = [await keyPair('rsa-1', 'RS256'), await keyPair('ec-1', 'ES256'), await keyPair('ed-1', 'EdDSA')];
    await keyPair('rsa-2', 'RS256');
    yoga = yogaWith({ adminToken: TEST_ADMIN_TOKEN, jwt: { jwksUrl: jwks.url, jwksCooldownMs: 0 } });
  });

  it('accepts tokens of each key type, and fetches the keys once for many requests', async () => {
    const before = jwks.fetches;
    for (const [kid, alg] of [['rsa-1', 'RS256'], ['ec-1', 'ES256'], ['ed-1', 'EdDSA']] as const) {
      const answer = await call(yoga, { authorization: `Bearer ${await sign(kid, alg)}` });
      expect(answer.errors, kid).toBeUndefined();
      expect(session(answer).role).toBe('user');
    }
    const token = await sign('rsa-1', 'RS256');
    for (let i = 0; i < 5; i++) expect((await call(yoga, { authorization: `Bearer ${token}` })).errors).toBeUndefined();
    expect(jwks.fetches - before).toBe(1);
  });

  it('follows a key rotation: a new kid fetches the keys again; a retired key is refused', async () => {
    jwks.keys = [signers['rsa-2']!.jwk];
    const fresh = await call(yoga, { authorization: `Bearer ${await sign('rsa-2', 'RS256')}` });
    expect(fresh.errors).toBeUndefined();
    const retired = await call(yoga, { authorization: `Bearer ${await sign('ec-1', 'ES256')}` });
    expect(retired.status).toBe(401);
    expect(retired.errors?.[0]?.message).toContain('no key of the JWKS');
  });

  it('refuses an HS256 token whose secret is the public key (algorithm confusion) and an unsigned one', async () => {
    const publicJwk = signers['rsa-2']!.jwk;
    for (const secret of [JSON.stringify(publicJwk), publicJwk.n!]) {
      const forged = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'rsa-2' }).setExpirationTime('10m').sign(new TextEncoder().encode(secret));
      const answer = await call(yoga, { authorization: `Bearer ${forged}` });
      expect(answer.status).toBe(401);
      expect(answer.errors?.[0]?.message).toContain('algorithm is not accepted');
    }
    const unsigned = `${b64({ alg: 'none', kid: 'rsa-2' })}.${b64({ ...claims(), exp: now() + 600 })}.`;
    expect((await call(yoga, { authorization: `Bearer ${unsigned}` })).status).toBe(401);
  });

  it('answers 503 UNAVAILABLE when the JWKS cannot be fetched', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = yogaWith({ jwt: { jwksUrl: `http://127.0.0.1:${port}/jwks.json` } });
    const answer = await call(down, { authorization: `Bearer ${await sign('rsa-2', 'RS256')}` });
    expect(answer.status).toBe(503);
    expect(answer.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
  });
});

describe('the real API under authentication', () => {
  let yoga: GatewayYoga;
  const count = async () => Number((await gw.oltp.pool.query('SELECT count(*) AS n FROM change_log')).rows[0].n);
  beforeAll(() => {
    yoga = yogaWith({ adminToken: TEST_ADMIN_TOKEN, jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE } }, buildSchema(gw.catalog));
  });

  it('refuses a write without a credential and writes nothing; introspection needs a credential too', async () => {
    const before = await count();
    const answer = await call(yoga, {}, 'mutation { insert_orders_one(object: {total: 1}) { row_id } }');
    expect(answer.status).toBe(401);
    expect(await count()).toBe(before);
    expect((await call(yoga, {}, '{ __schema { types { name } } }')).status).toBe(401);
  });

  it("lets a JWT role do what its permissions allow (the demo's analyst), but not see the admin fields; a role with none sees nothing", async () => {
    const customer = await call(yoga, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, 'mutation { insert_customers_one(object: {name: "Nils", country: "NL"}) { row_id } }');
    const c = customer.data.insert_customers_one.row_id;
    const analyst = { authorization: `Bearer ${await hs256(claims({ 'x-hasura-allowed-roles': ['analyst'], 'x-hasura-default-role': 'analyst', 'x-hasura-country': 'NL' }))}` };
    const inserted = await call(yoga, analyst, `mutation { insert_orders_one(object: {customer: "${c}", total: 12.5}) { total paid } }`);
    expect(inserted.errors).toBeUndefined();
    // paid is preset by the insert permission, whatever the object says
    expect(inserted.data.insert_orders_one).toEqual({ total: 12.5, paid: false });
    const read = await call(yoga, analyst, '{ orders(where: {total: {_eq: 12.5}}) { total } }');
    expect(read.data.orders).toEqual([{ total: 12.5 }]);
    const admin = await call(yoga, analyst, '{ lake_status { entity } }');
    expect(admin.errors?.[0]?.message).toContain('Cannot query field "lake_status"');
    const asAdmin = await call(yoga, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, '{ lake_status { entity } }');
    expect(asAdmin.errors).toBeUndefined();
    const nobody = { authorization: `Bearer ${await hs256()}` }; // role "user": no permission names it
    expect((await call(yoga, nobody, '{ no_queries_available }')).data.no_queries_available).toContain('no queries available');
    expect((await call(yoga, nobody, '{ orders { total } }')).errors?.[0]?.message).toContain('Cannot query field "orders"');
  });
});
