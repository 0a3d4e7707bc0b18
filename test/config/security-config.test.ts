// The security variables (issue 12): defaults, validation, and the listen host of a set-up-free start.
import { describe, expect, it } from 'vitest';
import { listenHost } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/index.js';

describe('security configuration', () => {
  it('has safe defaults: no JWT, no anonymous role, limits on, no CORS origins', () => {
    const config = loadConfig({});
    expect(config.auth).toMatchObject({ claimsNamespace: 'https://hasura.io/jwt/claims', anonymousRole: undefined, jwtSecret: undefined, maxTokenBytes: 8_192 });
    expect(config.webSafety).toMatchObject({ maxDepth: 12, maxAliases: 50, maxInputDepth: 64, statementTimeoutMs: 60_000, introspection: true, graphiql: true, corsOrigins: [] });
  });

  it('refuses JWT_SECRET with JWT_JWKS_URL, a short secret (without showing it), and a CORS origin with a path', () => {
    expect(() => loadConfig({ JWT_SECRET: 'x'.repeat(32), JWT_JWKS_URL: 'https://issuer.example/jwks.json' })).toThrow(/JWT_SECRET and JWT_JWKS_URL/);
    expect(() => loadConfig({ JWT_SECRET: 'short-secret' })).toThrow(/JWT_SECRET \(hidden, 12 characters\): must be at least 32/);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(/CORS_ORIGINS/);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.com, http://localhost:3000' }).webSafety.corsOrigins).toEqual(['https://a.example.com', 'http://localhost:3000']);
  });

  it('listens on loopback only when HOST is unset and no credential is configured', () => {
    expect(listenHost(loadConfig({}))).toBe('127.0.0.1');
    expect(listenHost(loadConfig({ ADMIN_TOKEN: 'an-admin-token' }))).toBe('0.0.0.0');
    expect(listenHost(loadConfig({ JWT_SECRET: 'x'.repeat(32) }))).toBe('0.0.0.0');
    expect(listenHost(loadConfig({ HOST: '0.0.0.0' }))).toBe('0.0.0.0');
  });
});
