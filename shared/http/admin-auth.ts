/**
 * Who may call the admin API: a bearer access token of the stage's user pool, verified here even
 * though API Gateway's JWT authorizer checks it too (serverless-offline skips that authorizer).
 * Cognito access tokens: RS256, `iss` = the pool's URL, `token_use` = access, and `client_id`
 * instead of `aud` (so no audience check); the admin group in `cognito:groups`.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { ForbiddenError, UnauthorizedError } from './errors.js';
import { logger } from '../logger.js';

export type AdminPrincipal = { sub: string; username: string };

export type AdminAuthSettings = {
  userPoolId: string;
  region: string;
  clientIds: ReadonlySet<string>;
  adminGroup: string;
  /** Where the pool publishes its keys; moto_server serves them under its own endpoint. */
  jwksUrl: URL;
};

export function cognitoIssuer(region: string, userPoolId: string): string {
  return `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`;
}

/** The pool's JWKS: Cognito's, or moto_server's when COGNITO_ENDPOINT points at it. */
export function jwksUrlOf(settings: { region: string; userPoolId: string; cognitoEndpoint: string | undefined }): URL {
  const base = settings.cognitoEndpoint?.replace(/\/+$/, '') ?? cognitoIssuer(settings.region, settings.userPoolId).replace(`/${settings.userPoolId}`, '');
  return new URL(`${base}/${settings.userPoolId}/.well-known/jwks.json`);
}

const NOT_AUTHENTICATED = 'a valid admin access token is required (Authorization: Bearer <access token>)';

/** The caller, or a 401 (no or bad token) / 403 (a valid token of someone who is not an admin). */
export function adminTokenVerifier(settings: AdminAuthSettings): (authorization: string | undefined) => Promise<AdminPrincipal> {
  // Fetched once and cached by jose; a key it does not know (rotation) is fetched again, rate-limited.
  const keys = createRemoteJWKSet(settings.jwksUrl, { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
  const issuer = cognitoIssuer(settings.region, settings.userPoolId);
  return async (authorization) => {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
    if (!token) throw new UnauthorizedError(NOT_AUTHENTICATED);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer, algorithms: ['RS256'] }));
    } catch (error) {
      // The pool's keys could not be fetched: a 500, not the caller's fault.
      if (!(error instanceof errors.JOSEError) || error.code === 'ERR_JWKS_TIMEOUT') throw error;
      // The reason is logged (never the token); the caller learns only that it was refused.
      logger.warn('admin token refused', { reason: error.code });
      throw new UnauthorizedError(NOT_AUTHENTICATED);
    }
    if (payload.token_use !== 'access' || typeof payload.client_id !== 'string' || !settings.clientIds.has(payload.client_id) || typeof payload.sub !== 'string') {
      logger.warn('admin token refused', { reason: payload.token_use !== 'access' ? 'not an access token' : 'client not allowed' });
      throw new UnauthorizedError(NOT_AUTHENTICATED);
    }
    const groups = payload['cognito:groups'];
    if (!Array.isArray(groups) || !groups.includes(settings.adminGroup)) {
      throw new ForbiddenError(`only members of the ${settings.adminGroup} group may use the admin API`);
    }
    return { sub: payload.sub, username: typeof payload.username === 'string' ? payload.username : payload.sub };
  };
}
