/**
 * The admin token check against a JWKS of the test's own (a local HTTP server), so every way a
 * token can be wrong can be built: expired, foreign issuer, forged signature, wrong algorithm, an
 * ID token, another client's, and a valid token of someone who is not an admin.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { adminTokenVerifier, cognitoIssuer, jwksUrlOf } from '../../shared/http/admin-auth.js';
import { ForbiddenError, UnauthorizedError } from '../../shared/http/errors.js';

const POOL = 'us-east-1_TestPool1';
const CLIENT = 'admin-client-1';
let server: Server;
let jwksUrl: URL;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let signingKey: PrivateKey;
let otherKey: PrivateKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/${POOL}/.well-known/jwks.json`);
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const verify = () => adminTokenVerifier({ userPoolId: POOL, region: 'us-east-1', clientIds: new Set([CLIENT]), adminGroup: 'sso-sync-admins', jwksUrl });

async function token(claims: JWTPayload = {}, options: { key?: PrivateKey; expiresIn?: string | number; issuer?: string } = {}): Promise<string> {
  return new SignJWT({ token_use: 'access', client_id: CLIENT, username: 'alex', 'cognito:groups': ['sso-sync-admins'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
    .setIssuer(options.issuer ?? cognitoIssuer('us-east-1', POOL))
    .setSubject('admin-sub-1')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.key ?? signingKey);
}

describe('adminTokenVerifier', () => {
  it('accepts an admin access token of an allowed client, naming the admin', async () => {
    await expect(verify()(`Bearer ${await token()}`)).resolves.toEqual({ sub: 'admin-sub-1', username: 'alex' });
  });

  it.each([
    ['no header', async () => undefined],
    ['no Bearer scheme', async () => await token()],
    ['a token that is not a JWT', async () => 'Bearer not-a-token'],
    ['an expired token', async () => `Bearer ${await token({}, { expiresIn: Math.floor(Date.now() / 1000) - 60 })}`],
    ['a forged signature', async () => `Bearer ${await token({}, { key: otherKey })}`],
    ['another pool (issuer)', async () => `Bearer ${await token({}, { issuer: cognitoIssuer('us-east-1', 'us-east-1_Other') })}`],
    ['an ID token', async () => `Bearer ${await token({ token_use: 'id', aud: CLIENT, client_id: undefined })}`],
    ["another client's token", async () => `Bearer ${await token({ client_id: 'someone-else' })}`],
  ])('refuses %s with 401', async (_case, header) => {
    await expect(verify()(await header())).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('refuses an HS256 token signed with the public key as a secret (algorithm confusion)', async () => {
    const forged = await new SignJWT({ token_use: 'access', client_id: CLIENT, 'cognito:groups': ['sso-sync-admins'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'test-key' })
      .setIssuer(cognitoIssuer('us-east-1', POOL))
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('public-key-as-secret'));
    await expect(verify()(`Bearer ${forged}`)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('refuses a valid token of someone who is not an admin with 403', async () => {
    await expect(verify()(`Bearer ${await token({ 'cognito:groups': ['readers'] })}`)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(verify()(`Bearer ${await token({ 'cognito:groups': undefined })}`)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('reads the keys from Cognito, or from moto_server when COGNITO_ENDPOINT points there', () => {
    expect(jwksUrlOf({ region: 'eu-west-1', userPoolId: 'eu-west-1_Abc', cognitoEndpoint: undefined }).href).toBe(
      'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc/.well-known/jwks.json',
    );
    expect(jwksUrlOf({ region: 'us-east-1', userPoolId: 'us-east-1_Abc', cognitoEndpoint: 'http://127.0.0.1:5000/' }).href).toBe(
      'http://127.0.0.1:5000/us-east-1_Abc/.well-known/jwks.json',
    );
  });
});
