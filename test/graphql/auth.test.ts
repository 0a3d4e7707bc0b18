// The pure parts of authentication: Hasura claims to a session, the admin acting as a role, a minted development token.
import { describe, expect, it } from 'vitest';
import { mintDevelopmentToken, sessionVariables } from '../../src/cli/token.js';
import { loadConfig } from '../../src/config/index.js';
import { adminSession, createAuthenticator, sessionFromClaims } from '../../src/graphql/auth.js';
import { AuthError } from '../../src/errors/index.js';

const NS = 'https://hasura.io/jwt/claims';

describe('sessionFromClaims', () => {
  const payload = { [NS]: { 'X-Hasura-Allowed-Roles': ['user', 'editor'], 'x-hasura-default-role': 'user', 'x-hasura-user-id': 42, 'x-hasura-teams': ['a', 'b'], other: 'ignored' } };

  it('lower-cases names, keeps only x-hasura-* variables, stringifies numbers and lists, and adds the role', () => {
    expect(sessionFromClaims(payload, NS, null)).toEqual({
      admin: false,
      role: 'user',
      project: null,
      variables: { 'x-hasura-user-id': '42', 'x-hasura-teams': '["a","b"]', 'x-hasura-role': 'user' },
    });
  });

  it('takes a requested role only from the allowed roles', () => {
    expect(sessionFromClaims(payload, NS, 'editor').role).toBe('editor');
    expect(() => sessionFromClaims(payload, NS, 'admin')).toThrow(AuthError);
  });

  it('reads another namespace (JWT_CLAIMS_NAMESPACE)', () => {
    expect(() => sessionFromClaims(payload, 'https://example.com/claims', null)).toThrow(/https:\/\/example.com\/claims/);
    expect(sessionFromClaims({ claims: payload[NS] }, 'claims', null).role).toBe('user');
  });
});

describe('adminSession', () => {
  it('is admin without X-Hasura-Role, and that role with header variables (never the admin secret) with it', () => {
    expect(adminSession(new Headers()).admin).toBe(true);
    const acting = adminSession(new Headers({ 'x-hasura-role': 'user', 'x-hasura-admin-secret': 's3cret', 'x-hasura-user-id': '1' }));
    expect(acting).toEqual({ admin: false, role: 'user', project: null, variables: { 'x-hasura-role': 'user', 'x-hasura-user-id': '1' } });
  });
});

describe('the token command', () => {
  it('mints a token the gateway accepts, with the given role, user, project and variables', async () => {
    const config = loadConfig({ JWT_SECRET: 'x'.repeat(32), JWT_ISSUER: 'dev', JWT_AUDIENCE: 'gw' });
    const token = await mintDevelopmentToken(config, {
      role: 'user',
      roles: ['viewer'],
      userId: '42',
      project: 'demo',
      variables: sessionVariables(['region=eu', 'X-Hasura-Team=7']),
      expiresIn: '5m',
    });
    const auth = createAuthenticator({ jwt: { secret: 'x'.repeat(32), issuer: 'dev', audience: 'gw' } });
    const session = await auth.authenticate(new Headers({ authorization: `Bearer ${token}`, 'x-hasura-role': 'viewer' }));
    expect(session).toEqual({
      admin: false,
      role: 'viewer',
      project: 'demo',
      variables: { 'x-hasura-region': 'eu', 'x-hasura-team': '7', 'x-hasura-user-id': '42', 'x-hasura-project': 'demo', 'x-hasura-role': 'viewer' },
    });
  });

  it('refuses a --claim without a value', () => {
    expect(() => sessionVariables(['region'])).toThrow(/name=value/);
  });
});
