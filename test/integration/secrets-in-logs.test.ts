/**
 * Issue 12, part 5: secrets in logs. One broad run through every entry point with every kind of
 * credential (hook secrets, rotated ones, clientStates, a Graph app's client secret, an Okta API
 * token, an OIDC client secret, admin access and ID tokens, expired and forged ones), with failures
 * on the way (a refused Graph token request, Graph 5xx, a failing DynamoDB transaction), and then no
 * log line holds any of them, nor anything shaped like a token. Every test file's lines are also
 * scanned after it (test/setup.ts, test/helpers/log-scan.ts); this file makes sure the lines that
 * matter most are written, at DEBUG, with the secrets in play.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

const { admin, fake } = await vi.hoisted(async () => {
  const { createLocalAdmin } = await import('../../scripts/lib/local-admin.js');
  const { startFakeGraph } = await import('../../scripts/lib/fake-graph.js');
  const [created, started] = await Promise.all([createLocalAdmin(process.env.COGNITO_ENDPOINT ?? '', `logs-${crypto.randomUUID()}`), startFakeGraph()]);
  process.env.ADMIN_USER_POOL_ID = created.userPoolId;
  process.env.ADMIN_CLIENT_IDS = created.clientId;
  process.env.GRAPH_BASE_URL = started.baseUrl;
  process.env.GRAPH_AUTHORITY_HOST = started.authorityHost;
  process.env.HOOKS_BASE_URL = 'https://hooks.example.test';
  return { admin: created, fake: started };
});

const { callAdminApi } = await import('../helpers/admin.js');
const { localAdminToken } = await import('../../scripts/lib/local-admin.js');
const { addSeedUser, createSeededTable, ENTRA_A_CLIENT_ID, ENTRA_A_TENANT, GRAPH_CLIENT_STATE, itemsOf, processUntilSettled, SECRET_A1, SECRET_A2, SECRET_B } = await import('../helpers/stack.js');
const { fixture, oktaDelivery, oktaLogEvent, withUser } = await import('../helpers/fixtures.js');
const { getOktaHook, postToOktaHook } = await import('../helpers/okta.js');
const { about, graphAppSecret, graphNotification, lifecycleNotification, postToGraphHook } = await import('../helpers/graph.js');
const { capturedLogLines, leaksIn, registerSecret } = await import('../helpers/log-scan.js');
const { clearFaults, failNext } = await import('../helpers/faults.js');
const { createUserPool } = await import('../helpers/cognito.js');
const { CONFIRM, invokeTrigger, oktaTriggerUser } = await import('../helpers/trigger.js');
const { cognitoClient } = await import('../../shared/idp/cognito.js');
const { AdminCreateUserCommand, AdminInitiateAuthCommand, AdminSetUserPasswordCommand } = await import('@aws-sdk/client-cognito-identity-provider');

let stream: LocalStream;
let graphClientSecret: string;

beforeAll(async () => {
  stream = await createSeededTable();
  graphClientSecret = await graphAppSecret('sso-sync/test/entra-a', 'test-entra-a-graph-client-secret');
});

/** Runs the stream until no inbox event is pending (failed ones are retried by the stream, then left failed). */
async function settle(): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await stream.drain();
    if ((await itemsOf('InboxEvent')).every((item) => item.status !== 'pending')) return;
    if (Date.now() > deadline) throw new Error('inbox events still pending');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('secrets in logs', () => {
  it('no log line of a run through every entry point, failures included, holds a secret or a token', async () => {
    const secrets: Record<string, string> = {};
    const adminToken = await localAdminToken(admin);
    secrets.adminToken = adminToken;

    // Admin API: connections with an Okta API token and a Graph client secret, an OIDC client secret.
    secrets.oktaApiToken = `00${crypto.randomUUID().replaceAll('-', '')}okta`;
    const okta = await callAdminApi('POST', '/admin/connections', {
      token: adminToken,
      body: { type: 'okta', connection_id: 'logs-okta', org_url: 'https://logs.okta.com', api_token: secrets.oktaApiToken },
    });
    expect(okta.status).toBe(201);
    secrets.hookSecret = String(okta.body.hook_secret);
    const rotated = await callAdminApi('POST', '/admin/connections/logs-okta/rotate-secret', { token: adminToken });
    secrets.rotatedHookSecret = String(rotated.body.hook_secret);
    secrets.entraClientSecret = `entra~${crypto.randomUUID()}`;
    // Graph refuses this tenant's app, so making the subscriptions fails (and is logged).
    fake.registerApp('00000000-0000-4000-8000-0000000f0001', '00000000-0000-4000-8000-0000000f0c11', 'another-secret-entirely-000000');
    const entra = await callAdminApi('POST', '/admin/connections', {
      token: adminToken,
      body: { type: 'entra', connection_id: 'logs-entra', tenant_id: '00000000-0000-4000-8000-0000000f0001', client_id: '00000000-0000-4000-8000-0000000f0c11', client_secret: secrets.entraClientSecret },
    });
    expect(entra.status).toBeGreaterThanOrEqual(400);
    secrets.oidcClientSecret = `oidc-${crypto.randomUUID()}`;
    await callAdminApi('POST', '/admin/sso-providers', {
      token: adminToken,
      body: { provider: { client_id: '0oalogs', client_secret: secrets.oidcClientSecret, oidc_issuer: 'https://logs-idp.okta.com' }, group: 'G', allowed_domain: 'example.com', account_id: 'logs-account' },
    });
    // A bad request that carries a secret in a field the schema does not know.
    await callAdminApi('POST', '/admin/connections', { token: adminToken, body: { type: 'okta', connection_id: 'logs-bad', api_token: 12, client_secret: secrets.oktaApiToken } });

    // Admin tokens refused: tampered, expired, an ID token, garbage that looks like a JWT.
    const [header, payload] = adminToken.split('.');
    await callAdminApi('GET', '/admin/events', { token: `${header}.${payload}.${Buffer.from('forged').toString('base64url')}` });
    const password = `Pw-${crypto.randomUUID()}1!`;
    await cognitoClient.send(new AdminCreateUserCommand({ UserPoolId: admin.userPoolId, Username: 'logs-reader', MessageAction: 'SUPPRESS' }));
    await cognitoClient.send(new AdminSetUserPasswordCommand({ UserPoolId: admin.userPoolId, Username: 'logs-reader', Password: password, Permanent: true }));
    const signedIn = await cognitoClient.send(
      new AdminInitiateAuthCommand({ UserPoolId: admin.userPoolId, ClientId: admin.clientId, AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'logs-reader', PASSWORD: password } }),
    );
    secrets.idToken = signedIn.AuthenticationResult?.IdToken ?? '';
    secrets.readerToken = signedIn.AuthenticationResult?.AccessToken ?? '';
    registerSecret(password);
    expect((await callAdminApi('GET', '/admin/events', { token: secrets.idToken })).status).toBe(401);
    expect((await callAdminApi('GET', '/admin/events', { token: secrets.readerToken })).status).toBe(403);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 2 * 3_600_000);
      expect((await callAdminApi('GET', '/admin/events', { token: adminToken })).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }

    // Okta hook: the new connection's secrets, right and wrong, the verification GET.
    const challenge = fixture('okta-verify.json').headers['x-okta-verification-challenge'] as string;
    expect((await getOktaHook('logs-okta', { authorization: secrets.hookSecret, 'x-okta-verification-challenge': challenge })).statusCode).toBe(200);
    const email = 'logs.person@example.com';
    await addSeedUser({ email, identities: [{ connectionId: 'okta-a' }], memberships: [{ accountId: 'acme', role: 'Admin' }, { accountId: 'globex', role: 'Viewer' }] });
    const removal = withUser(oktaLogEvent('okta-group-membership-remove.json'), email);
    const deactivation = withUser(oktaLogEvent('okta-user-deactivate.json'), email);
    expect((await postToOktaHook('logs-okta', oktaDelivery([removal]), { authorization: secrets.rotatedHookSecret })).statusCode).toBe(200);
    expect((await postToOktaHook('okta-a', oktaDelivery([removal]), { authorization: SECRET_A2 })).statusCode).toBe(200);
    expect((await postToOktaHook('okta-a', oktaDelivery([deactivation]), { authorization: SECRET_B })).statusCode).toBe(401);
    expect((await postToOktaHook('okta-a', `{"data": "${SECRET_A1}"`, { authorization: SECRET_A1 })).statusCode).toBe(400);
    expect((await postToOktaHook('okta-a', oktaDelivery([deactivation]), { authorization: SECRET_A1 })).statusCode).toBe(200);
    // A failing transaction: the event fails once, is logged, and is retried.
    failNext(['TransactWriteItemsCommand'], 1);
    await processUntilSettled(stream, 'okta-a', [removal.uuid, deactivation.uuid]);
    clearFaults();

    // Graph: a refused token request first (the stored client secret is no longer the app's), then Graph 5xx, then success.
    const objectId = '00000000-0000-4000-8000-0000000f7001';
    await addSeedUser({ email: 'logs.entra@example.com', identities: [{ connectionId: 'entra-a', subject: objectId }], memberships: [{ accountId: 'contoso', role: 'Author' }] });
    fake.registerApp(ENTRA_A_TENANT, ENTRA_A_CLIENT_ID, 'the-app-has-a-new-secret-000000');
    registerSecret('the-app-has-a-new-secret-000000', graphClientSecret);
    const updated = about(graphNotification('graph-user-updated.json'), objectId);
    expect((await postToGraphHook('entra-a', { value: [updated] })).statusCode).toBe(202);
    await settle();
    fake.registerApp(ENTRA_A_TENANT, ENTRA_A_CLIENT_ID, graphClientSecret);
    fake.failNext({ pathPrefix: `/v1.0/users/${objectId}`, status: 500, times: 1 });
    const later = about(graphNotification('graph-user-updated.json'), objectId);
    later.resourceData.eventTime = new Date().toISOString();
    expect((await postToGraphHook('entra-a', { value: [later] })).statusCode).toBe(202);
    expect((await postToGraphHook('entra-a', { value: [about(graphNotification('graph-user-deleted.json', { clientState: 'forged-clientstate-000000000000' }), objectId)] })).statusCode).toBe(401);
    expect((await postToGraphHook('entra-a', { value: [lifecycleNotification('graph-lifecycle-reauthorization.json')] }, { lifecycle: true })).statusCode).toBe(202);
    await settle();

    // Sign-in through Cognito's triggers.
    const userPoolId = await createUserPool();
    const signInUser = await oktaTriggerUser(userPoolId, 'logs-sign-in');
    await invokeTrigger(signInUser.event(CONFIRM, '["Finance-Approvers"]'));

    const lines = capturedLogLines();
    const messages = new Set(lines.map((line) => (JSON.parse(line) as { message: string }).message));
    for (const message of ['admin request', 'admin token refused', 'request refused', 'okta hook verified', 'okta delivery stored', 'event processed', 'event failed; the stream will retry it', 'graph delivery stored', 'graph event processed', 'sign-in decision']) {
      expect(messages, message).toContain(message);
    }
    for (const [name, secret] of Object.entries({ ...secrets, SECRET_A1, SECRET_A2, SECRET_B, GRAPH_CLIENT_STATE, graphClientSecret, password })) {
      expect(secret.length, name).toBeGreaterThanOrEqual(8);
      expect(lines.filter((line) => line.includes(secret)).map((line) => line.split(secret).join('[SECRET]')), name).toEqual([]);
    }
    expect(leaksIn(lines)).toEqual([]);
  });

  it('the scan finds what it is for: a secret, a JWT and a Bearer value in a line', () => {
    const jwt = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2lnbmF0dXJl`;
    registerSecret('a-registered-secret-value');
    expect(leaksIn(['{"message":"x","detail":"a-registered-secret-value"}']).map((leak) => leak.what)).toEqual(['a secret starting "a-re…"']);
    expect(leaksIn([`{"message":"x","token":"${jwt}"}`]).map((leak) => leak.what)).toEqual(['a JWT']);
    expect(leaksIn(['{"message":"x","header":"Bearer abcdefghijklmnop"}']).map((leak) => leak.what)).toEqual(['an Authorization header value']);
    expect(leaksIn(['{"message":"admin token refused","reason":"ERR_JWT_EXPIRED"}'])).toEqual([]);
  });
});
