/**
 * Issue 12, part 4: forged requests. Every way of getting a credential wrong, on every entry point
 * (Okta hook GET and POST, Graph notifications and lifecycle, the admin API), is refused with its
 * status and leaves the whole table exactly as it was (every item compared, not only the inbox).
 */
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

// Configuration is read at the handlers' import: the admin pool and client must exist before it.
const admin = await vi.hoisted(async () => {
  const { createLocalAdmin } = await import('../../scripts/lib/local-admin.js');
  const created = await createLocalAdmin(process.env.COGNITO_ENDPOINT ?? '', `forged-${crypto.randomUUID()}`);
  process.env.ADMIN_USER_POOL_ID = created.userPoolId;
  process.env.ADMIN_CLIENT_IDS = created.clientId;
  return created;
});

const { callAdminApi } = await import('../helpers/admin.js');
const { createLocalAdmin, localAdminToken } = await import('../../scripts/lib/local-admin.js');
const { createSeededTable, ENTRA_A_TENANT, GRAPH_CLIENT_STATE, SECRET_A1, SECRET_A2, SECRET_B, userIdOf } = await import('../helpers/stack.js');
const { fixture, oktaDelivery, oktaLogEvent, withUser } = await import('../helpers/fixtures.js');
const { getOktaHook, postToOktaHook } = await import('../helpers/okta.js');
const { about, graphNotification, lifecycleNotification, postToGraphHook } = await import('../helpers/graph.js');
const { tableSnapshot } = await import('../helpers/table.js');
const { cognitoClient } = await import('../../shared/idp/cognito.js');
const { AdminCreateUserCommand, AdminInitiateAuthCommand, AdminSetUserPasswordCommand, CreateUserPoolClientCommand } = await import('@aws-sdk/client-cognito-identity-provider');

const ENTRA_B_SUBSCRIPTION = '00000000-0000-4000-8000-0000000e5001';
const ENTRA_B_TENANT = '00000000-0000-4000-8000-0000000e0001';
const ENTRA_B_CLIENT_STATE = 'entra-b-clientstate-000000000000';
const challenge = fixture('okta-verify.json').headers['x-okta-verification-challenge'] as string;

let before: string[];
beforeAll(async () => {
  await createSeededTable();
});
beforeEach(async () => {
  before = await tableSnapshot();
});

async function expectNothingStored(): Promise<void> {
  expect(await tableSnapshot()).toEqual(before);
}

/** Headers that carry a wrong credential for okta-a, whose header is `authorization` and whose secrets are SECRET_A1 and SECRET_A2. */
const forgedOktaHeaders: [string, Record<string, string>][] = [
  ['no header at all', {}],
  ['an empty secret', { authorization: '' }],
  ['a wrong secret', { authorization: 'not-the-secret-0000000000000000000000' }],
  ["another connection's secret (okta-b)", { authorization: SECRET_B }],
  ['a prefix of the right secret', { authorization: SECRET_A1.slice(0, SECRET_A1.length - 1) }],
  ['half of the right secret', { authorization: SECRET_A1.slice(0, SECRET_A1.length / 2) }],
  ['the right secret with a character more', { authorization: `${SECRET_A1}0` }],
  ['the right secret in another case', { authorization: SECRET_A1.toUpperCase() }],
  ['the right secret as a Bearer token', { authorization: `Bearer ${SECRET_A1}` }],
  ['both rotation secrets at once', { authorization: `${SECRET_A1}${SECRET_A2}` }],
  ['the right secret under another header name', { 'x-okta-secret': SECRET_A1 }],
  ['the right secret as a query-like header', { 'authorization-secret': SECRET_A1 }],
  ['a wrong secret under a capitalised header name', { Authorization: SECRET_B }],
  ['a wrong secret under an upper-case header name', { AUTHORIZATION: SECRET_B }],
  // API Gateway (payload 2.0) joins a repeated header's values with a comma.
  ['the header twice, a wrong value first', { authorization: `${SECRET_B},${SECRET_A1}` }],
  ['the header twice, the right value twice', { authorization: `${SECRET_A1},${SECRET_A1}` }],
];

describe('Okta event hook: forged credentials', () => {
  const delivery = () => oktaDelivery([withUser(oktaLogEvent('okta-user-deactivate.json'), 'alex.doe@example.com')]);

  it.each(forgedOktaHeaders)('POST with %s: 401, nothing stored', async (_, headers) => {
    const response = await postToOktaHook('okta-a', delivery(), headers);
    expect(response.statusCode).toBe(401);
    await expectNothingStored();
  });

  it.each(forgedOktaHeaders)('verification GET with %s: 401, the challenge not echoed', async (_, headers) => {
    const response = await getOktaHook('okta-a', { 'x-okta-verification-challenge': challenge, ...headers });
    expect(response.statusCode).toBe(401);
    expect(response.body ?? '').not.toContain(challenge);
    await expectNothingStored();
  });

  it("okta-a's secret on okta-b's URL: 401 on POST and GET, nothing stored", async () => {
    expect((await postToOktaHook('okta-b', delivery(), { authorization: SECRET_A1 })).statusCode).toBe(401);
    expect((await getOktaHook('okta-b', { authorization: SECRET_A1, 'x-okta-verification-challenge': challenge })).statusCode).toBe(401);
    await expectNothingStored();
  });

  it('a valid secret sent to an Entra connection or an unknown one: 404, nothing stored', async () => {
    for (const connectionId of ['entra-a', 'no-such-org', '..%2Fokta-a', 'okta-a/../okta-b']) {
      expect((await postToOktaHook(connectionId, delivery(), { authorization: SECRET_A1 })).statusCode).toBe(404);
    }
    await expectNothingStored();
  });

  it('the right secret, any case of the header name: accepted (the control for the cases above)', async () => {
    for (const name of ['authorization', 'Authorization', 'AUTHORIZATION']) {
      expect((await getOktaHook('okta-a', { [name]: SECRET_A1, 'x-okta-verification-challenge': challenge })).statusCode).toBe(200);
    }
  });
});

describe('Okta event hook: retired and deactivated secrets', () => {
  // Fresh connections, never looked up by the hook before: a warm hook keeps a connection for
  // CONFIG_CACHE_SECONDS (README: "allow a minute between the steps"), which these do not test.
  const delivery = () => oktaDelivery([withUser(oktaLogEvent('okta-user-deactivate.json'), 'alex.doe@example.com')]);

  it('a secret retired after a rotation: 401, nothing stored; the new one works', async () => {
    const token = await localAdminToken(admin);
    const created = await callAdminApi('POST', '/admin/connections', { token, body: { type: 'okta', connection_id: 'forged-rotation', org_url: 'https://forged-rotation.okta.com' } });
    const rotated = await callAdminApi('POST', '/admin/connections/forged-rotation/rotate-secret', { token });
    expect((await callAdminApi('POST', '/admin/connections/forged-rotation/retire-secret', { token })).status).toBe(200);
    before = await tableSnapshot();
    expect((await postToOktaHook('forged-rotation', delivery(), { authorization: String(created.body.hook_secret) })).statusCode).toBe(401);
    expect((await getOktaHook('forged-rotation', { authorization: String(created.body.hook_secret), 'x-okta-verification-challenge': challenge })).statusCode).toBe(401);
    await expectNothingStored();
    expect((await postToOktaHook('forged-rotation', delivery(), { authorization: String(rotated.body.hook_secret) })).statusCode).toBe(200);
  });

  it("a deactivated connection's secret: 401, nothing stored", async () => {
    const token = await localAdminToken(admin);
    const created = await callAdminApi('POST', '/admin/connections', { token, body: { type: 'okta', connection_id: 'forged-gone', org_url: 'https://forged-gone.okta.com' } });
    expect((await callAdminApi('DELETE', '/admin/connections/forged-gone', { token })).status).toBe(200);
    before = await tableSnapshot();
    expect((await postToOktaHook('forged-gone', delivery(), { authorization: String(created.body.hook_secret) })).statusCode).toBe(401);
    expect((await getOktaHook('forged-gone', { authorization: String(created.body.hook_secret), 'x-okta-verification-challenge': challenge })).statusCode).toBe(401);
    await expectNothingStored();
  });
});

describe('Okta event hook: a connection whose secret travels in its own header', () => {
  const CUSTOM_SECRET = 'custom-header-secret-000000000000000000';
  beforeAll(async () => {
    const { parseSeed } = await import('../../shared/domain/seed.js');
    const { writeSeed } = await import('../../shared/store/seed-writer.js');
    await writeSeed(parseSeed({ connections: [{ id: 'okta-custom', type: 'okta', providerNames: ['OktaCustom'], hookAuthHeader: 'X-Okta-Secret', hookSecrets: [CUSTOM_SECRET] }], accounts: [], users: [] }));
  });
  const delivery = () => oktaDelivery([withUser(oktaLogEvent('okta-user-deactivate.json'), 'alex.doe@example.com')]);

  it.each([
    ['the right secret in Authorization instead', { authorization: CUSTOM_SECRET }],
    ['the right secret in a similar header', { 'x-okta-secrets': CUSTOM_SECRET }],
    ['a wrong secret in the configured header', { 'x-okta-secret': SECRET_A1 }],
  ])('%s: 401, nothing stored', async (_, headers) => {
    before = await tableSnapshot();
    expect((await postToOktaHook('okta-custom', delivery(), headers)).statusCode).toBe(401);
    expect((await getOktaHook('okta-custom', { ...headers, 'x-okta-verification-challenge': challenge })).statusCode).toBe(401);
    await expectNothingStored();
  });

  it('the right secret in the configured header, in any case: accepted (the control)', async () => {
    for (const name of ['x-okta-secret', 'X-Okta-Secret']) {
      expect((await getOktaHook('okta-custom', { [name]: CUSTOM_SECRET, 'x-okta-verification-challenge': challenge })).statusCode).toBe(200);
    }
  });
});

describe('Graph notifications: forged clientState, tenant or subscription', () => {
  const objectId = '00000000-0000-4000-8000-0000000f1201';
  const deletion = (changes: Parameters<typeof graphNotification>[1] = {}) => about(graphNotification('graph-user-deleted.json', changes), objectId);
  const withoutClientState = () => {
    const { clientState: _, ...rest } = deletion();
    return rest;
  };

  const forgedChanges: [string, () => unknown][] = [
    ['a wrong clientState', () => deletion({ clientState: 'forged-clientstate-000000000000' })],
    ['no clientState', withoutClientState],
    ['an empty clientState', () => deletion({ clientState: '' })],
    ['a prefix of the right clientState', () => deletion({ clientState: GRAPH_CLIENT_STATE.slice(0, -1) })],
    ['the right clientState with a character more', () => deletion({ clientState: `${GRAPH_CLIENT_STATE}0` })],
    ["entra-b's clientState on entra-a's subscription", () => deletion({ clientState: ENTRA_B_CLIENT_STATE })],
    ['a foreign tenantId with the right subscription and clientState', () => deletion({ tenantId: ENTRA_B_TENANT })],
    [
      'a foreign organizationId in resourceData',
      () => {
        const notification = deletion();
        notification.resourceData.organizationId = ENTRA_B_TENANT;
        return notification;
      },
    ],
    ['a subscription entra-b holds, with its own clientState and tenant', () => deletion({ subscriptionId: ENTRA_B_SUBSCRIPTION, clientState: ENTRA_B_CLIENT_STATE, tenantId: ENTRA_B_TENANT })],
    ['a subscription entra-b holds, with entra-a\'s clientState', () => deletion({ subscriptionId: ENTRA_B_SUBSCRIPTION })],
    ['a subscription nobody holds', () => deletion({ subscriptionId: '00000000-0000-4000-8000-0000000f5999' })],
    ["the right subscription id in upper case", () => deletion({ subscriptionId: '00000000-0000-4000-8000-0000000D5001' })],
  ];

  it.each(forgedChanges)('change notification with %s: 401, nothing stored', async (_, notification) => {
    const response = await postToGraphHook('entra-a', { value: [notification()] });
    expect(response.statusCode).toBe(401);
    await expectNothingStored();
  });

  it('a delivery of only forged notifications is refused as a whole: 401, nothing stored', async () => {
    const response = await postToGraphHook('entra-a', { value: forgedChanges.map(([, notification]) => notification()) });
    expect(response.statusCode).toBe(401);
    await expectNothingStored();
  });

  it('a valid notification posted with a validationToken: only the handshake is answered, nothing stored', async () => {
    const response = await postToGraphHook('entra-a', { value: [deletion()] }, { rawQueryString: 'validationToken=handshake-0001' });
    expect(response).toMatchObject({ statusCode: 200, body: 'handshake-0001' });
    await expectNothingStored();
  });

  it("entra-a's valid notification posted to entra-b's URL: 401, nothing stored", async () => {
    expect((await postToGraphHook('entra-b', { value: [deletion()] })).statusCode).toBe(401);
    await expectNothingStored();
  });

  const lifecycleForgeries: [string, () => unknown][] = [
    ['a wrong clientState', () => lifecycleNotification('graph-lifecycle-missed.json', { clientState: 'forged-clientstate-000000000000' })],
    [
      'no clientState',
      () => {
        const { clientState: _, ...rest } = lifecycleNotification('graph-lifecycle-subscription-removed.json');
        return rest;
      },
    ],
    ['a foreign tenantId', () => lifecycleNotification('graph-lifecycle-reauthorization.json', { tenantId: ENTRA_B_TENANT })],
    ['a subscription entra-b holds', () => lifecycleNotification('graph-lifecycle-subscription-removed.json', { subscriptionId: ENTRA_B_SUBSCRIPTION, clientState: ENTRA_B_CLIENT_STATE, tenantId: ENTRA_B_TENANT })],
  ];

  it.each(lifecycleForgeries)('lifecycle notification with %s: 401, nothing stored', async (_, notification) => {
    const response = await postToGraphHook('entra-a', { value: [notification()] }, { lifecycle: true });
    expect(response.statusCode).toBe(401);
    await expectNothingStored();
  });

  it('a lifecycle notification of entra-a posted to entra-b: 401; to an Okta connection: 404; nothing stored', async () => {
    const notification = lifecycleNotification('graph-lifecycle-missed.json');
    expect(notification.tenantId).toBe(ENTRA_A_TENANT);
    expect((await postToGraphHook('entra-b', { value: [notification] }, { lifecycle: true })).statusCode).toBe(401);
    expect((await postToGraphHook('okta-a', { value: [notification] }, { lifecycle: true })).statusCode).toBe(404);
    await expectNothingStored();
  });
});

describe('admin API: forged, expired and foreign tokens', () => {
  let adminToken: string;
  beforeAll(async () => {
    adminToken = await localAdminToken(admin);
  });

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

  /** Requests that would write if they were allowed. */
  const writes: [string, string, unknown][] = [
    ['POST', '/admin/connections', { type: 'okta', connection_id: 'forged-okta', org_url: 'https://forged.okta.com', api_token: 'forged-api-token-0000' }],
    ['POST', '/admin/connections/okta-a/rotate-secret', undefined],
    ['DELETE', '/admin/connections/okta-b', undefined],
    ['PUT', '/admin/accounts/forged-account', { name: 'Forged' }],
    ['POST', `/admin/users/${userIdOf('alex.doe@example.com')}/memberships/acme/remove`, undefined],
  ];

  async function expectRefusedEverywhere(token: string | null, status: number, headers: Record<string, string> = {}) {
    for (const [method, path, body] of writes) {
      const answer = await callAdminApi(method, path, { token, body, headers });
      expect({ method, path, status: answer.status }).toEqual({ method, path, status });
    }
    expect((await callAdminApi('GET', '/admin/events', { token, headers })).status).toBe(status);
    await expectNothingStored();
  }

  it('no token, an empty bearer, a token without "Bearer", garbage: 401, nothing stored', async () => {
    await expectRefusedEverywhere(null, 401);
    await expectRefusedEverywhere(null, 401, { authorization: 'Bearer ' });
    await expectRefusedEverywhere(null, 401, { authorization: adminToken });
    await expectRefusedEverywhere(null, 401, { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` });
    await expectRefusedEverywhere('not-a-token', 401);
  });

  it('a token whose signature, header or payload was tampered with: 401, nothing stored', async () => {
    const [header = '', payload = '', signature = ''] = adminToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, 'cognito:groups': ['sso-sync-admins'], exp: Math.floor(Date.now() / 1000) + 86_400 })).toString('base64url');
    const unsigned = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    await expectRefusedEverywhere(`${header}.${payload}.${Buffer.from('forged').toString('base64url')}`, 401);
    await expectRefusedEverywhere(`${header}.${widened}.${signature}`, 401);
    await expectRefusedEverywhere(`${unsigned}.${payload}.`, 401);
  });

  it('an expired access token of the admin: 401, nothing stored', async () => {
    const { exp } = JSON.parse(Buffer.from(adminToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number };
    // Only Date moves (the token's clock check); timers and sockets keep working.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime((exp + 120) * 1000);
      await expectRefusedEverywhere(adminToken, 401);
    } finally {
      vi.useRealTimers();
    }
    expect((await callAdminApi('GET', '/admin/events', { token: adminToken })).status).toBe(200);
  });

  it("the admin's own access token, issued to another app client of the same pool: 401, nothing stored", async () => {
    const { UserPoolClient } = await cognitoClient.send(
      new CreateUserPoolClientCommand({ UserPoolId: admin.userPoolId, ClientName: 'not-the-admin-client', ExplicitAuthFlows: ['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] }),
    );
    const answer = await cognitoClient.send(
      new AdminInitiateAuthCommand({
        UserPoolId: admin.userPoolId,
        ClientId: UserPoolClient?.ClientId ?? '',
        AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
        AuthParameters: { USERNAME: admin.username, PASSWORD: admin.password },
      }),
    );
    const token = answer.AuthenticationResult?.AccessToken ?? '';
    expect(JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))).toMatchObject({ 'cognito:groups': ['sso-sync-admins'], token_use: 'access' });
    await expectRefusedEverywhere(token, 401);
  });

  it("an admin token of another pool: 401; the admin's ID token: 401; a signed-in non-admin: 403; nothing stored", async () => {
    const otherPool = await createLocalAdmin(process.env.COGNITO_ENDPOINT ?? '', `forged-other-${crypto.randomUUID()}`);
    await expectRefusedEverywhere(await localAdminToken(otherPool), 401);
    const { id } = await signedInUser(admin, `id-token-${crypto.randomUUID()}`);
    await expectRefusedEverywhere(id, 401);
    const { access } = await signedInUser(admin, `reader-${crypto.randomUUID()}`);
    await expectRefusedEverywhere(access, 403);
  });
});
