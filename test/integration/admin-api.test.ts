/**
 * The admin API through its real handler, with API Gateway's event shape, real access tokens that
 * moto_server signs (and serves the keys of), DynamoDB Local and the table's stream.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

// Configuration is read at the handler's import: the admin pool and client must exist before it.
const admin = await vi.hoisted(async () => {
  const { createLocalAdmin } = await import('../../scripts/lib/local-admin.js');
  const created = await createLocalAdmin(process.env.COGNITO_ENDPOINT ?? '', `admin-test-${crypto.randomUUID()}`);
  process.env.ADMIN_USER_POOL_ID = created.userPoolId;
  process.env.ADMIN_CLIENT_IDS = created.clientId;
  return created;
});

const { callAdminApi } = await import('../helpers/admin.js');
const { createLocalAdmin, localAdminToken } = await import('../../scripts/lib/local-admin.js');
const { addSeedUser, createSeededTable, itemsOf, processUntilSettled, SECRET_A1 } = await import('../helpers/stack.js');
const { oktaDelivery, oktaLogEvent, withUser } = await import('../helpers/fixtures.js');
const { postToOktaHook } = await import('../helpers/okta.js');
const { cognitoClient } = await import('../../shared/idp/cognito.js');
const { AdminCreateUserCommand, AdminInitiateAuthCommand, AdminSetUserPasswordCommand } = await import('@aws-sdk/client-cognito-identity-provider');
const { clearFaults, failWhenMentioning } = await import('../helpers/faults.js');

let stream: LocalStream;
let adminToken: string;

beforeAll(async () => {
  stream = await createSeededTable();
  adminToken = await localAdminToken(admin);
});

type Answer = { status: number; body: Record<string, unknown> };

async function call(method: string, path: string, options: { token?: string | null; query?: string; body?: unknown } = {}): Promise<Answer> {
  const { status, body } = await callAdminApi(method, path, { ...options, token: options.token === undefined ? adminToken : options.token });
  return { status, body };
}

/** A password user of that pool and client, signed in: its access and ID tokens. */
async function signedInUser(pool: { userPoolId: string; clientId: string }, username: string) {
  const password = `Pw-${crypto.randomUUID()}1!`;
  await cognitoClient.send(new AdminCreateUserCommand({ UserPoolId: pool.userPoolId, Username: username, MessageAction: 'SUPPRESS' }));
  await cognitoClient.send(new AdminSetUserPasswordCommand({ UserPoolId: pool.userPoolId, Username: username, Password: password, Permanent: true }));
  const answer = await cognitoClient.send(
    new AdminInitiateAuthCommand({ UserPoolId: pool.userPoolId, ClientId: pool.clientId, AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: { USERNAME: username, PASSWORD: password } }),
  );
  return { access: answer.AuthenticationResult?.AccessToken ?? '', id: answer.AuthenticationResult?.IdToken ?? '' };
}

describe('who may call it', () => {
  it('answers an admin, and refuses without a token, with a bad one or an ID token (401), in the seed error shape', async () => {
    expect((await call('GET', '/admin/events')).status).toBe(200);
    const none = await call('GET', '/admin/events', { token: null });
    expect(none).toEqual({ status: 401, body: { status: 'failed', message: expect.stringContaining('admin access token'), error: 'UnauthorizedError' } });
    expect((await call('GET', '/admin/events', { token: 'not-a-token' })).status).toBe(401);
    const [header, payload] = adminToken.split('.');
    expect((await call('GET', '/admin/events', { token: `${header}.${payload}.${Buffer.from('forged').toString('base64url')}` })).status).toBe(401);
    const { id } = await signedInUser(admin, `id-token-${crypto.randomUUID()}`);
    expect((await call('GET', '/admin/events', { token: id })).status).toBe(401);
  });

  it("refuses a token of another pool's client (401) and a signed-in user who is not an admin (403)", async () => {
    const otherPool = await createLocalAdmin(process.env.COGNITO_ENDPOINT ?? '', `other-${crypto.randomUUID()}`);
    expect((await call('GET', '/admin/events', { token: await localAdminToken(otherPool) })).status).toBe(401);
    const { access } = await signedInUser(admin, `reader-${crypto.randomUUID()}`);
    const refused = await call('GET', '/admin/events', { token: access });
    expect(refused).toMatchObject({ status: 403, body: { status: 'failed', error: 'ForbiddenError' } });
  });

  it('answers 404 for an unknown route and 405 for a wrong method, only after authentication', async () => {
    expect((await call('GET', '/admin/nothing-here')).status).toBe(404);
    expect((await call('DELETE', '/admin/users/someone')).status).toBe(405);
    expect((await call('GET', '/admin/nothing-here', { token: null })).status).toBe(401);
  });
});

describe('users and memberships', () => {
  it('finds a user by email, shows identities and memberships, and records an admin removal and restore naming the admin', async () => {
    const userId = await addSeedUser({
      email: 'admin.case@example.com',
      identities: [{ connectionId: 'okta-a', subject: '00uADMINCASE0000DEV1' }],
      memberships: [{ accountId: 'acme', role: 'Admin', changedAt: '2025-01-01T00:00:00Z' }],
    });
    expect(await call('GET', '/admin/users', { query: 'email=Admin.Case%40example.com' })).toEqual({
      status: 200,
      body: { users: [{ userId, connections: ['okta-a'] }] },
    });
    const removed = await call('POST', `/admin/users/${userId}/memberships/acme/remove`);
    expect(removed).toMatchObject({ status: 200, body: { membership: { status: 'deleted', changedBy: 'admin', reason: 'admin admin: removed' } } });
    expect((await call('POST', `/admin/users/${userId}/memberships/acme/remove`)).status).toBe(409);
    const restored = await call('POST', `/admin/users/${userId}/memberships/acme/restore`);
    expect(restored).toMatchObject({ status: 200, body: { membership: { status: 'active', changedBy: 'admin' } } });
    const profile = await call('GET', `/admin/users/${userId}`);
    expect(profile.body).toMatchObject({ userId, email: 'admin.case@example.com', memberships: [{ accountId: 'acme', status: 'active', role: 'Admin' }] });
    const audit = (profile.body.audit as { action: string; admin?: { username: string } }[]).map((entry) => [entry.action, entry.admin?.username]);
    expect(audit.sort()).toEqual([['membership.restored', 'admin'], ['membership.soft_deleted', 'admin']]);
    expect((await call('GET', '/admin/users/nobody')).status).toBe(404);
    expect((await call('GET', '/admin/users', { query: 'email=not-an-email' })).status).toBe(400);
  });
});

describe('events', () => {
  it('lists a failed event, shows it, and a replay applies it once', async () => {
    await addSeedUser({ email: 'replay.me@example.com', identities: [{ connectionId: 'okta-a' }], memberships: [{ accountId: 'acme', role: 'Viewer', changedAt: '2025-01-01T00:00:00Z' }] });
    const event = withUser(oktaLogEvent('okta-user-deactivate.json'), 'replay.me@example.com');
    // Its commit fails on every attempt the stream makes, until it is dead-lettered.
    failWhenMentioning(['TransactWriteCommand', 'TransactWriteItemsCommand'], event.uuid);
    try {
      expect((await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: SECRET_A1 })).statusCode).toBe(200);
      await processUntilSettled(stream, 'okta-a', [event.uuid]);
      for (let pass = 0; pass < 8; pass++) await stream.drain();
    } finally {
      clearFaults();
    }
    const listed = await call('GET', '/admin/events', { query: 'status=failed&connectionId=okta-a' });
    expect((listed.body.events as { eventId: string }[]).map((listedEvent) => listedEvent.eventId)).toContain(event.uuid);
    expect((await call('GET', `/admin/events/okta-a/${event.uuid}`)).body).toMatchObject({ eventId: event.uuid, status: 'failed' });

    expect(await call('POST', `/admin/events/okta-a/${event.uuid}/replay`)).toMatchObject({ status: 202, body: { status: 'pending' } });
    await processUntilSettled(stream, 'okta-a', [event.uuid]);
    expect((await call('GET', `/admin/events/okta-a/${event.uuid}`)).body).toMatchObject({ status: 'applied' });
    // Replaying an applied event changes nothing: the effect and its audit entry stay single.
    await call('POST', `/admin/events/okta-a/${event.uuid}/replay`);
    await processUntilSettled(stream, 'okta-a', [event.uuid]);
    const audits = (await itemsOf('Audit')).filter((entry) => entry.eventId === event.uuid);
    expect(audits).toHaveLength(1);
    expect((await call('GET', '/admin/events', { query: 'status=applied' })).status).toBe(400);
  });
});

describe('POST /admin/sso-providers', () => {
  it("the seed's Okta request creates the provider, the app client, the connection and the SSO config, and a federated sign-in is then admitted", async () => {
    const org = `dev-${crypto.randomUUID().slice(0, 8)}`;
    const created = await call('POST', '/admin/sso-providers', {
      body: { provider: { client_id: '0oa1okta', client_secret: 'okta-client-secret-value', oidc_issuer: `https://${org}.okta.com` }, group: 'Engineering', allowed_domain: 'example.com', account_id: `acct-${org}` },
    });
    expect(created).toMatchObject({
      status: 201,
      body: { status: 'success', message: 'OIDC provider created successfully.', provider_names: [`Okta-${org}`], connection_id: `okta-${org}`, connection_created: true, client_id: expect.any(String) },
    });
    expect(JSON.stringify(created.body)).not.toContain('okta-client-secret-value');
    const accounts = (await itemsOf('Account')).filter((item) => item.accountId === `acct-${org}`);
    const audit = (await itemsOf('Audit')).filter((entry) => entry.accountId === `acct-${org}` && entry.action === 'sso_config.providers_added');
    expect(audit).toMatchObject([{ admin: { username: 'admin' }, providerNames: [`Okta-${org}`] }]);
    expect(accounts).toMatchObject([{ cognitoClientId: created.body.client_id, ssoConfig: { active: true, allowedDomains: ['example.com'], providers: [{ connectionId: `okta-${org}`, providerName: `Okta-${org}`, groups: [{ group: 'Engineering', role: 'Admin' }] }] } }]);

    const { invokeTrigger, oktaTriggerUser, CONFIRM, rolesOf } = await import('../helpers/trigger.js');
    const user = await oktaTriggerUser(admin.userPoolId, `sso-${org}`, undefined, `Okta-${org}`);
    await invokeTrigger(user.event(CONFIRM, '["Engineering"]'));
    expect(await rolesOf(user.email, `okta-${org}`)).toEqual({ [`acct-${org}`]: 'active:Admin' });
  });

  it("the seed's Entra request creates an Entra connection from the tenant in the issuer", async () => {
    const tenant = crypto.randomUUID();
    const group = crypto.randomUUID();
    const created = await call('POST', '/admin/sso-providers', {
      body: { provider: { client_id: crypto.randomUUID(), client_secret: 'entra-secret', oidc_issuer: `https://login.microsoftonline.com/${tenant}/v2.0` }, group, allowed_domain: 'example.org', account_id: `entra-${tenant.slice(0, 8)}-account` },
    });
    expect(created).toMatchObject({ status: 201, body: { connection_id: `entra-${tenant.slice(0, 8)}`, connection_created: true } });
    const connection = (await itemsOf('Connection')).find((item) => item.connectionId === `entra-${tenant.slice(0, 8)}`);
    expect(connection).toMatchObject({ type: 'entra', tenantId: tenant, hookSecretHashes: [] });
    // A federated Entra sign-in through the trigger is then admitted (the group is the one configured).
    const { entraTriggerUser, invokeTrigger, rolesOf } = await import('../helpers/trigger.js');
    const providerName = (created.body.provider_names as string[])[0] ?? '';
    const objectId = crypto.randomUUID();
    const { event } = await entraTriggerUser(admin.userPoolId, `entra.${tenant.slice(0, 8)}@example.org`, { 'custom:oid': objectId, 'custom:groups': `[${group}]` }, providerName);
    await invokeTrigger({ ...event, triggerSource: 'PostConfirmation_ConfirmSignUp' });
    expect(await rolesOf(`entra.${tenant.slice(0, 8)}@example.org`, `entra-${tenant.slice(0, 8)}`)).toEqual({ [`entra-${tenant.slice(0, 8)}-account`]: 'active:Admin' });
  });

  it('refuses a provider name already in the pool with the seed error shape, and creates nothing new', async () => {
    const org = `dup-${crypto.randomUUID().slice(0, 8)}`;
    const body = { provider: { client_id: '0oa1okta', client_secret: 's', oidc_issuer: `https://${org}.okta.com` }, group: 'G', allowed_domain: 'example.com', account_id: `acct-${org}` };
    expect((await call('POST', '/admin/sso-providers', { body })).status).toBe(201);
    const again = await call('POST', '/admin/sso-providers', { body: { ...body, account_id: `other-${org}` } });
    expect(again).toEqual({ status: 400, body: { status: 'failed', message: 'Failed to create OIDC provider.', error: expect.stringContaining(`Okta-${org} already exists`) } });
    expect((await itemsOf('Account')).some((item) => item.accountId === `other-${org}`)).toBe(false);
  });

  it('names the bad field of an invalid request', async () => {
    const refused = await call('POST', '/admin/sso-providers', { body: { provider: { client_id: 'x', client_secret: 'y', oidc_issuer: 'http://insecure.example' }, group: 'G', allowed_domain: 'example.com', account_id: 'a' } });
    expect(refused).toMatchObject({ status: 400, body: { status: 'failed', error: expect.stringContaining('provider.oidc_issuer') } });
  });
});

describe('connections', () => {
  it('creates an Okta connection whose hook secret is shown once and works on the hook; rotate, retire, deactivate', async () => {
    const id = `okta-admin-${crypto.randomUUID().slice(0, 8)}`;
    const created = await call('POST', '/admin/connections', { body: { type: 'okta', connection_id: id, org_url: 'https://dev-999.okta.com', api_token: 'okta-api-token-value' } });
    expect(created).toMatchObject({ status: 201, body: { connection_id: id, hook_auth_header: 'authorization', hook_secret: expect.stringMatching(/^[\w-]{43}$/) } });
    const first = created.body.hook_secret as string;
    const shown = await call('GET', `/admin/connections/${id}`);
    expect(shown.body).toMatchObject({ connectionId: id, type: 'okta', hookSecrets: 1, oktaApiToken: 'set' });
    expect(JSON.stringify(shown.body)).not.toMatch(new RegExp(`${first}|okta-api-token-value|hookSecretHashes`));
    expect(((await call('GET', '/admin/connections')).body.connections as { connectionId: string }[]).map((c) => c.connectionId)).toContain(id);
    expect((await call('POST', '/admin/connections', { body: { type: 'okta', connection_id: id, org_url: 'https://dev-999.okta.com' } })).status).toBe(409);

    const deliver = async (secret: string) => (await postToOktaHook(id, oktaDelivery([oktaLogEvent('okta-user-deactivate.json')]), { authorization: secret })).statusCode;
    const rotated = await call('POST', `/admin/connections/${id}/rotate-secret`);
    expect(rotated).toMatchObject({ status: 200, body: { active_secrets: 2 } });
    const second = rotated.body.hook_secret as string;
    expect((await call('POST', `/admin/connections/${id}/rotate-secret`)).status).toBe(409);
    expect((await call('POST', `/admin/connections/${id}/retire-secret`)).body).toMatchObject({ active_secrets: 1 });
    expect((await call('GET', `/admin/connections/${id}`)).body).toMatchObject({ hookSecrets: 1 });
    // The hook accepts the secret that stayed (this is the hook's first look at the connection: it caches them).
    expect(await deliver(second)).toBe(200);
    expect((await call('DELETE', `/admin/connections/${id}`)).status).toBe(200);
    expect((await call('GET', `/admin/connections/${id}`)).body).toMatchObject({ hookSecrets: 0, deactivatedAt: expect.any(String) });
    expect(first).not.toBe(second);
  });

  it('refuses "register" without an API token, or when the stage has no hooks base URL, naming why (registration itself: okta-event-hook-registration.test.ts)', async () => {
    const id = `okta-reg-${crypto.randomUUID().slice(0, 8)}`;
    const withoutToken = await call('POST', '/admin/connections', { body: { type: 'okta', connection_id: id, org_url: 'https://dev-999.okta.com', register: true } });
    expect(withoutToken).toMatchObject({ status: 400, body: { status: 'failed', error: expect.stringContaining('api_token') } });
    const withoutBaseUrl = await call('POST', '/admin/connections', { body: { type: 'okta', connection_id: id, org_url: 'https://dev-999.okta.com', api_token: 't', register: true } });
    expect(withoutBaseUrl).toMatchObject({ status: 400, body: { status: 'failed', error: expect.stringContaining('HOOKS_BASE_URL') } });
    expect((await call('GET', `/admin/connections/${id}`)).status).toBe(404);
  });

  it('creates an Entra connection with its Graph app secret in Secrets Manager, never returned; refuses a bad tenant id naming the field', async () => {
    const id = `entra-admin-${crypto.randomUUID().slice(0, 8)}`;
    const tenant = crypto.randomUUID();
    const created = await call('POST', '/admin/connections', { body: { type: 'entra', connection_id: id, tenant_id: tenant, client_id: crypto.randomUUID(), client_secret: 'graph-client-secret-value' } });
    // This stage has no hooks base URL: no notification URL, so no subscriptions (entra-connection-subscriptions.test.ts makes them).
    expect(created).toMatchObject({ status: 201, body: { connection_id: id, type: 'entra', subscriptions: [], message: expect.stringContaining('HOOKS_BASE_URL') } });
    const shown = await call('GET', `/admin/connections/${id}`);
    expect(shown.body).toMatchObject({ type: 'entra', tenantId: tenant });
    expect(JSON.stringify([created.body, shown.body])).not.toContain('graph-client-secret-value');
    const refused = await call('POST', '/admin/connections', { body: { type: 'entra', connection_id: `${id}-2`, tenant_id: 'not-a-guid', client_id: crypto.randomUUID(), client_secret: 's' } });
    expect(refused).toMatchObject({ status: 400, body: { status: 'failed', error: expect.stringContaining('tenant_id') } });
  });
});

describe('GET /admin/openapi.json', () => {
  it('answers without a token, with the committed document', async () => {
    const { readFileSync } = await import('node:fs');
    const answer = await call('GET', '/admin/openapi.json', { token: null });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(JSON.parse(readFileSync('docs/openapi.json', 'utf8')));
  });
});
