// `token`: mints a development JWT with Hasura claims, signed with JWT_SECRET (HS256).
import { SignJWT } from 'jose';
import type { Config } from '../config/index.js';
import { ConfigError, ValidationError } from '../errors/index.js';

export interface TokenRequest {
  role: string;
  /** Allowed roles; default: just `role`. */
  roles?: string[];
  userId?: string;
  project?: string;
  /** Other session variables, `x-hasura-region=eu` or `region=eu`. */
  variables?: Record<string, string>;
  /** jose's time span, e.g. `1h`, `30m`, `7d`. */
  expiresIn: string;
}

/** `name=value` pairs as Hasura session variables (`x-hasura-` prefixed, lower-cased). Pure. */
export function sessionVariables(pairs: readonly string[]): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new ValidationError(`--claim ${JSON.stringify(pair)}: must be name=value, e.g. x-hasura-region=eu`);
    const name = pair.slice(0, at).toLowerCase();
    variables[name.startsWith('x-hasura-') ? name : `x-hasura-${name}`] = pair.slice(at + 1);
  }
  return variables;
}

export async function mintDevelopmentToken(config: Pick<Config, 'auth'>, request: TokenRequest): Promise<string> {
  const { jwtSecret, issuer, audience, claimsNamespace } = config.auth;
  if (!jwtSecret) {
    throw new ConfigError('JWT_SECRET is not set: the token command signs with it (a gateway with JWT_JWKS_URL takes tokens from its issuer)');
  }
  const roles = [...new Set([request.role, ...(request.roles ?? [])])];
  const claims: Record<string, unknown> = {
    ...request.variables,
    'x-hasura-allowed-roles': roles,
    'x-hasura-default-role': request.role,
    ...(request.userId !== undefined ? { 'x-hasura-user-id': request.userId } : {}),
    ...(request.project !== undefined ? { 'x-hasura-project': request.project } : {}),
  };
  let jwt = new SignJWT({ [claimsNamespace]: claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(request.expiresIn);
  if (request.userId !== undefined) jwt = jwt.setSubject(request.userId);
  if (issuer) jwt = jwt.setIssuer(issuer);
  if (audience) jwt = jwt.setAudience(audience);
  return jwt.sign(new TextEncoder().encode(jwtSecret));
}
