// Latency JWT verification adds per request: the same queries with no credential (anonymous role), the
// admin token, an HS256 JWT and RS256/ES256 JWTs from a loopback JWKS, timed round-robin in one run.
// Usage: npm run bench:auth   (BENCH_RUNS=2000; BENCH_DATABASE_URL to use a running Postgres)
import '../src/cli/production-mode.js'; // first, as src/main.ts: the gateway as `npm start` runs it
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { demoOrder, seededRandom } from '../src/cli/demo-data.js';
import { createAuthenticator, createGatewayYoga, type AuthSettings } from '../src/graphql/index.js';
import { median, openBenchGateway } from './support.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2_000);
const SECRET = 'bench-secret-of-at-least-32-characters!';
const ADMIN = 'bench-admin-token';
// The demo's public read role (schema/demo.json): every row, so the questions answer the same with any credential.
const claims = { 'https://hasura.io/jwt/claims': { 'x-hasura-allowed-roles': ['anonymous'], 'x-hasura-default-role': 'anonymous', 'x-hasura-user-id': '42', 'x-hasura-project': 'demo' } };

// The demo schema over a throwaway database and local lake; its own servers per credential below.
const g = await openBenchGateway('bench_auth');
const { catalog, oltp, lakehouse, log, schema } = g;

// A loopback JWKS with an RS256 and an ES256 key.
const rsa = await generateKeyPair('RS256');
const ec = await generateKeyPair('ES256');
const keys = [
  { ...(await exportJWK(rsa.publicKey)), kid: 'rsa', alg: 'RS256' },
  { ...(await exportJWK(ec.publicKey)), kid: 'ec', alg: 'ES256' },
];
const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys })));
await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;

const services = { catalog, oltp, admin: lakehouse.admin, search: lakehouse.search, log, limits: { defaultLimit: 100, maxLimit: 10_000, maxInsertObjects: 50_000 } };
const hsAuth: AuthSettings = { adminToken: ADMIN, anonymousRole: 'anonymous', jwt: { secret: SECRET } };
const jwksAuth: AuthSettings = { adminToken: ADMIN, jwt: { jwksUrl } };
const hsYoga = createGatewayYoga({ schema, services, auth: hsAuth });
const jwksYoga = createGatewayYoga({ schema, services, auth: jwksAuth });

const sign = (alg: string, key: Parameters<SignJWT['sign']>[0], kid?: string) =>
  new SignJWT(claims).setProtectedHeader({ alg, ...(kid ? { kid } : {}) }).setExpirationTime('1h').sign(key);
const hsToken = await sign('HS256', new TextEncoder().encode(SECRET));
const rsToken = await sign('RS256', rsa.privateKey, 'rsa');
const esToken = await sign('ES256', ec.privateKey, 'ec');

const random = seededRandom(7);
const [order] = await oltp.writer.insert(catalog.entity('orders'), Array.from({ length: 1_000 }, () => demoOrder(random, [])));

const variants: [string, typeof hsYoga, Record<string, string>][] = [
  ['none (anonymous role)', hsYoga, {}],
  ['admin token', hsYoga, { authorization: `Bearer ${ADMIN}` }],
  ['HS256 JWT', hsYoga, { authorization: `Bearer ${hsToken}` }],
  ['RS256 JWT (JWKS)', jwksYoga, { authorization: `Bearer ${rsToken}` }],
  ['ES256 JWT (JWKS)', jwksYoga, { authorization: `Bearer ${esToken}` }],
];

async function timeQueries(label: string, query: string, runs: number): Promise<void> {
  const call = async (yoga: typeof hsYoga, headers: Record<string, string>) => {
    const response = await yoga.fetch('http://bench/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
    const body = (await response.json()) as { errors?: unknown };
    if (body.errors) throw new Error(`${label}: ${JSON.stringify(body.errors)}`);
  };
  for (let i = 0; i < 50; i++) for (const [, yoga, headers] of variants) await call(yoga, headers);
  const times = variants.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, [, yoga, headers]] of variants.entries()) {
      const started = performance.now();
      await call(yoga, headers);
      times[k]!.push(performance.now() - started);
    }
  }
  const base = median(times[0]!);
  console.log(`\n${label} (${runs} runs each, round-robin): median ms, and added over no credential`);
  for (const [k, [name]] of variants.entries()) {
    const m = median(times[k]!);
    console.log(`  ${name.padEnd(24)} ${m.toFixed(3)}  ${k === 0 ? '' : `+${(m - base).toFixed(3)}`}`);
  }
}

// Authentication alone (no GraphQL), to see the verification itself.
async function timeAuthenticate(runs: number): Promise<void> {
  const hs = createAuthenticator(hsAuth);
  const remote = createAuthenticator(jwksAuth);
  const cases: [string, ReturnType<typeof createAuthenticator>, Headers][] = [
    ['admin token', hs, new Headers({ authorization: `Bearer ${ADMIN}` })],
    ['HS256 JWT', hs, new Headers({ authorization: `Bearer ${hsToken}` })],
    ['RS256 JWT (JWKS)', remote, new Headers({ authorization: `Bearer ${rsToken}` })],
    ['ES256 JWT (JWKS)', remote, new Headers({ authorization: `Bearer ${esToken}` })],
  ];
  console.log(`\nauthenticate() alone (${runs} calls each): median µs`);
  for (const [name, authenticator, headers] of cases) {
    for (let i = 0; i < 100; i++) await authenticator.authenticate(headers);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await authenticator.authenticate(headers);
      times.push((performance.now() - started) * 1_000);
    }
    console.log(`  ${name.padEnd(24)} ${median(times).toFixed(1)}`);
  }
}

try {
  await timeQueries('{ __typename }', '{ __typename }', RUNS);
  await timeQueries('orders_by_pk', `{ orders_by_pk(row_id: "${order!.row_id}") { total } }`, Math.round(RUNS / 4));
  await timeAuthenticate(RUNS);
} finally {
  await new Promise<void>((resolve) => jwks.close(() => resolve()));
  await g.close();
}
