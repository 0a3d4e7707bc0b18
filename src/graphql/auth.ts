// Who is calling: the admin credential, a Hasura-style JWT or the anonymous role, resolved to one Session per request.
import { timingSafeEqual } from 'node:crypto';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ADMIN_ROLE } from '../catalog/index.js';
import { AuthError, GatewayError, UnavailableError } from '../errors/index.js';

/**
 * What a request may do, as the next layers (permissions, tenant isolation) read it. `variables` holds
 * Hasura's session variables with lower-cased names (`x-hasura-user-id`, …), always `x-hasura-role`.
 */
export interface Session {
  admin: boolean;
  role: string;
  variables: Record<string, string>;
  /** The project the credential is for (`x-hasura-project`); null: any (admin) or not said. */
  project: string | null;
}

export interface JwtSettings {
  /** HS256 key (at least 32 characters); exclusive with jwksUrl. */
  secret?: string;
  /** The issuer's keys (RS256/ES256/EdDSA), cached; an unknown kid fetches them again. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
  /** Claim holding the Hasura claims (default `https://hasura.io/jwt/claims`). */
  claimsNamespace?: string;
  /** Seconds of clock skew allowed on exp and nbf (default 5). */
  clockToleranceS?: number;
  /** The JWKS is fetched at most this often for an unknown kid (default 30 s). */
  jwksCooldownMs?: number;
}

export interface AuthSettings {
  /** `Authorization: Bearer <token>` or `x-hasura-admin-secret: <token>` is admin; absent: nobody is. */
  adminToken?: string;
  jwt?: JwtSettings;
  /** Role of a request that sends no credential; absent: such a request is refused. */
  anonymousRole?: string;
  /** A longer Authorization (or admin secret) header is refused before it is parsed (default 8 KiB). */
  maxTokenBytes?: number;
}

export const DEFAULT_CLAIMS_NAMESPACE = 'https://hasura.io/jwt/claims';
/** Asymmetric algorithms only for a JWKS: an HS256 token signed with a public key as its secret is refused. */
export const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
export const SECRET_ALGORITHMS = ['HS256'];
const DEFAULT_MAX_TOKEN_BYTES = 8_192;

/** No usable credential: HTTP 401, code UNAUTHENTICATED (Hasura says `invalid-jwt` / `invalid-headers`). */
export class AuthenticationError extends GatewayError {
  readonly code = 'UNAUTHENTICATED';
}

export interface Authenticator {
  /** The request's session; throws AuthenticationError (401), AuthError (403) or UnavailableError (JWKS down). */
  authenticate(headers: Headers): Promise<Session>;
  /** Whether the request carries the admin credential (no JWT is looked at). */
  isAdmin(headers: Headers): boolean;
}

function constantTimeEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The Hasura claims of a verified payload as a session for `requestedRole` (or the default role). Pure. */
export function sessionFromClaims(payload: JWTPayload, namespace: string, requestedRole: string | null): Session {
  let claims: unknown = payload[namespace];
  // Hasura's `claims_format: stringified_json`: the claims as a JSON string.
  if (typeof claims === 'string') {
    try {
      claims = JSON.parse(claims);
    } catch {
      throw new AuthenticationError(`invalid JWT: claim "${namespace}" is a string but not JSON`);
    }
  }
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) {
    throw new AuthenticationError(`invalid JWT: claim "${namespace}" (the Hasura claims) is missing or not an object`);
  }
  const entries = Object.entries(claims).map(([name, value]) => [name.toLowerCase(), value] as const);
  const claim = (name: string) => entries.find(([n]) => n === name)?.[1];
  const allowed = claim('x-hasura-allowed-roles');
  if (!Array.isArray(allowed) || allowed.length === 0 || !allowed.every((r) => typeof r === 'string' && r !== '')) {
    throw new AuthenticationError(`invalid JWT: "${namespace}".x-hasura-allowed-roles must be a non-empty list of role names`);
  }
  const defaultRole = claim('x-hasura-default-role');
  if (typeof defaultRole !== 'string' || !allowed.includes(defaultRole)) {
    throw new AuthenticationError(`invalid JWT: "${namespace}".x-hasura-default-role must be one of x-hasura-allowed-roles`);
  }
  const role = requestedRole ?? defaultRole;
  if (!allowed.includes(role)) {
    throw new AuthError(`role "${role}" (the X-Hasura-Role header) is not in the token's x-hasura-allowed-roles: ${allowed.join(', ')}`);
  }
  const variables: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!name.startsWith('x-hasura-') || name === 'x-hasura-allowed-roles' || name === 'x-hasura-default-role') continue;
    if (value === null || value === undefined) continue;
    variables[name] = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  variables['x-hasura-role'] = role;
  return { admin: false, role, variables, project: variables['x-hasura-project'] ?? null };
}

/**
 * The admin, acting as itself or (Hasura's way of trying a role) as the role of `X-Hasura-Role`
 * with session variables from the request's `x-hasura-*` headers. Pure.
 */
export function adminSession(headers: Headers): Session {
  const role = headers.get('x-hasura-role');
  if (!role || role === ADMIN_ROLE) return { admin: true, role: ADMIN_ROLE, variables: { 'x-hasura-role': ADMIN_ROLE }, project: null };
  const variables: Record<string, string> = {};
  headers.forEach((value, name) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('x-hasura-') && lower !== 'x-hasura-admin-secret') variables[lower] = value;
  });
  variables['x-hasura-role'] = role;
  return { admin: false, role, variables, project: variables['x-hasura-project'] ?? null };
}

/** A jose failure as the user's error: what is wrong with the token, never the key. */
function jwtFailure(error: unknown, settings: JwtSettings): GatewayError {
  const code = (error as { code?: unknown } | null)?.code;
  const claim = (error as { claim?: unknown }).claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new AuthenticationError('invalid JWT: it has expired ("exp" is past)');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf') return new AuthenticationError('invalid JWT: it is not valid yet ("nbf" is in the future)');
      if (claim === 'iss') return new AuthenticationError(`invalid JWT: "iss" is not the expected issuer (JWT_ISSUER)`);
      if (claim === 'aud') return new AuthenticationError(`invalid JWT: "aud" does not name this API (JWT_AUDIENCE)`);
      return new AuthenticationError(`invalid JWT: claim "${String(claim)}" ${(error as Error).message.replace(/^"[^"]*" claim /, '')}`);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new AuthenticationError(
        `invalid JWT: its algorithm is not accepted (accepted: ${(settings.jwksUrl ? JWKS_ALGORITHMS : SECRET_ALGORITHMS).join(', ')})`,
      );
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new AuthenticationError('invalid JWT: the signature does not verify');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new AuthenticationError('invalid JWT: no key of the JWKS (JWT_JWKS_URL) matches its "kid" and algorithm');
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new AuthenticationError('invalid JWT: several keys of the JWKS match; the token must name one by "kid"');
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return new UnavailableError('the issuer\'s keys (JWT_JWKS_URL) could not be fetched; retry shortly');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWT_CLAIM_INVALID':
      return new AuthenticationError(`invalid JWT: ${(error as Error).message}`);
    default:
      // A fetch failure of the JWKS (connection refused, DNS): the issuer's side, not the token.
      if (settings.jwksUrl && error instanceof TypeError) return new UnavailableError('the issuer\'s keys (JWT_JWKS_URL) could not be fetched; retry shortly');
      return new AuthenticationError('invalid JWT: it could not be read');
  }
}

export function createAuthenticator(settings: AuthSettings): Authenticator {
  const maxTokenBytes = settings.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES;
  const jwt = settings.jwt && (settings.jwt.secret || settings.jwt.jwksUrl) ? settings.jwt : undefined;
  if (jwt?.secret && jwt.jwksUrl) throw new Error('JWT settings: a secret or a JWKS URL, not both');
  const namespace = jwt?.claimsNamespace ?? DEFAULT_CLAIMS_NAMESPACE;
  let key: CryptoKey | Promise<CryptoKey> | JWTVerifyGetKey | undefined;
  // Imported once: jose would import raw secret bytes again for every token (a third of its cost).
  if (jwt?.secret) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(jwt.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  } else if (jwt?.jwksUrl) {
    key = createRemoteJWKSet(new URL(jwt.jwksUrl), { cooldownDuration: jwt.jwksCooldownMs ?? 30_000, timeoutDuration: 5_000 });
  }

  const isAdmin = (headers: Headers): boolean => {
    if (!settings.adminToken) return false;
    const authorization = headers.get('authorization');
    if (authorization !== null && authorization.length <= maxTokenBytes + 7 && /^Bearer /i.test(authorization)) {
      if (constantTimeEqual(authorization.slice(7).trim(), settings.adminToken)) return true;
    }
    const secret = headers.get('x-hasura-admin-secret');
    return secret !== null && secret.length <= maxTokenBytes && constantTimeEqual(secret, settings.adminToken);
  };

  const verify = async (token: string, requestedRole: string | null): Promise<Session> => {
    if (!jwt || !key) {
      throw new AuthenticationError(
        settings.adminToken
          ? 'the bearer token is not the admin token, and no JWT verification is configured (JWT_SECRET or JWT_JWKS_URL)'
          : 'no JWT verification is configured (JWT_SECRET or JWT_JWKS_URL), so a bearer token cannot be checked',
      );
    }
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: jwt.jwksUrl ? JWKS_ALGORITHMS : SECRET_ALGORITHMS,
        issuer: jwt.issuer,
        audience: jwt.audience,
        clockTolerance: jwt.clockToleranceS ?? 5,
        // A token without an expiry would be valid forever: refused.
        requiredClaims: ['exp'],
      };
      payload = (typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, await key, options)).payload;
    } catch (error) {
      throw jwtFailure(error, jwt);
    }
    return sessionFromClaims(payload, namespace, requestedRole);
  };

  return {
    isAdmin,
    async authenticate(headers) {
      const authorization = headers.get('authorization');
      const adminSecret = headers.get('x-hasura-admin-secret');
      // Sizes first: nothing longer than the cap is compared, decoded or parsed.
      for (const [name, value] of [['Authorization', authorization], ['x-hasura-admin-secret', adminSecret]] as const) {
        if (value !== null && Buffer.byteLength(value) > maxTokenBytes + 7) {
          throw new AuthenticationError(`the ${name} header is ${Buffer.byteLength(value)} bytes, over the limit of ${maxTokenBytes} (JWT_MAX_BYTES)`);
        }
      }
      if (isAdmin(headers)) return adminSession(headers);
      if (adminSecret !== null) throw new AuthenticationError('x-hasura-admin-secret is not the admin token (ADMIN_TOKEN)');
      const requestedRole = headers.get('x-hasura-role');
      if (authorization === null) {
        if (!settings.anonymousRole) {
          throw new AuthenticationError(
            jwt
              ? 'this API needs a credential: send "Authorization: Bearer <JWT>" (or the admin token)'
              : 'this API needs a credential: send "Authorization: Bearer <ADMIN_TOKEN>" (no JWT verification is configured)',
          );
        }
        if (requestedRole !== null && requestedRole !== settings.anonymousRole) {
          throw new AuthError(`role "${requestedRole}" (the X-Hasura-Role header) needs a credential; without one the role is "${settings.anonymousRole}"`);
        }
        return { admin: false, role: settings.anonymousRole, variables: { 'x-hasura-role': settings.anonymousRole }, project: null };
      }
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!bearer) throw new AuthenticationError('the Authorization header must be "Bearer <token>"');
      return verify(bearer[1]!, requestedRole);
    },
  };
}

/** Authentication failures as GraphQL errors with their HTTP status (401 or 403, 503 when the JWKS is down). */
function asHttpError(error: GatewayError) {
  const status = error instanceof AuthenticationError ? 401 : error instanceof AuthError ? 403 : 503;
  return createGraphQLError(error.message, {
    extensions: {
      code: error.code,
      http: { status, ...(status === 401 ? { headers: { 'WWW-Authenticate': 'Bearer' } } : {}) },
    },
  });
}

/**
 * Resolves the session once the request's parameters are read and before the document is parsed,
 * so a caller without a credential learns nothing of the schema (not even from validation errors).
 */
export function useAuthentication(
  authenticator: Authenticator,
  sessions: WeakMap<Request, Session>,
  /** The endpoint's project, and whether the process serves others (then a JWT must name its project). */
  endpoint: { project: string; shared: boolean },
): Plugin {
  return {
    async onParams({ request }) {
      try {
        const session = await authenticator.authenticate(request.headers);
        checkProject(session, endpoint, request.headers.has('authorization'));
        sessions.set(request, session);
      } catch (error) {
        if (error instanceof GatewayError) throw asHttpError(error);
        throw error;
      }
    },
  };
}

/**
 * A credential works only at the endpoint of its project (x-hasura-project): a JWT of project A
 * is refused at B's endpoint before anything of B is parsed or read. Where the process serves
 * several projects, a JWT must name one; the admin credential may use every endpoint.
 */
export function checkProject(session: Session, endpoint: { project: string; shared: boolean }, hasCredential: boolean): void {
  if (session.admin) return;
  if (session.project !== null && session.project !== endpoint.project) {
    throw new AuthError(`this credential is for project "${session.project}", not "${endpoint.project}": use the endpoint /graphql/${session.project}`);
  }
  if (session.project === null && hasCredential && endpoint.shared) {
    throw new AuthError(`this gateway serves several projects: the token must name its project in the x-hasura-project claim`);
  }
}
