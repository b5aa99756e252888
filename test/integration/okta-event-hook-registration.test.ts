/**
 * Registering an Okta connection's event hook through @okta/okta-sdk-nodejs against a fake Okta
 * org (HTTPS, Okta's documented payloads), whose verification GET reaches the real okta-hook
 * handler over loopback HTTP; the connections in DynamoDB Local, the API token in moto's Secrets
 * Manager.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOkta, type FakeOkta } from '../../scripts/lib/fake-okta.js';
import { DEFAULT_OKTA_EVENT_TYPES } from '../../shared/config.js';
import { connectionView, createNewConnection, deactivateConnection, type ConnectionSettings } from '../../shared/app/admin-connections.js';
import { OktaEventHookError, registerEventHook } from '../../shared/idp/okta-event-hooks.js';
import { getRawConnection } from '../../shared/store/connection-admin.js';
import { startOktaHookServer, type OktaHookServer } from '../helpers/okta.js';
import { createSeededTable } from '../helpers/stack.js';

const admin = { sub: 'admin-sub-okta-hooks', username: 'admin@example.com' };
const API_TOKEN = '00TestOktaApiToken-do-not-use-0000000000';

let okta: FakeOkta;
let hooks: OktaHookServer;
let settings: ConnectionSettings;

beforeAll(async () => {
  await createSeededTable();
  [okta, hooks] = await Promise.all([startFakeOkta(), startOktaHookServer()]);
  settings = { hooksBaseUrl: hooks.url, secretsPrefix: `sso-sync/test-${crypto.randomUUID().slice(0, 8)}/`, oktaEventTypes: DEFAULT_OKTA_EVENT_TYPES };
});

afterAll(async () => {
  await Promise.all([okta?.stop(), hooks?.stop()]);
});

beforeEach(() => {
  okta.reset();
  okta.addApiToken(API_TOKEN);
  hooks.received.length = 0;
});

const newId = () => `okta-reg-${crypto.randomUUID().slice(0, 8)}`;
const hookPaths = (hookId: string) => ({
  create: 'POST /api/v1/eventHooks',
  verify: `POST /api/v1/eventHooks/${hookId}/lifecycle/verify`,
  activate: `POST /api/v1/eventHooks/${hookId}/lifecycle/activate`,
  deactivate: `POST /api/v1/eventHooks/${hookId}/lifecycle/deactivate`,
  delete: `DELETE /api/v1/eventHooks/${hookId}`,
});

describe('registering the event hook with the connection', () => {
  it('creates, verifies and activates the hook in that order; Okta’s verification GET is answered by the real okta-hook; deactivating deletes it', async () => {
    const id = newId();
    const answer = await createNewConnection({ type: 'okta', connection_id: id, org_url: okta.orgUrl, api_token: API_TOKEN, register: true }, admin, settings);

    expect(answer).toMatchObject({ status: 201, body: { connection_id: id, hook_url: `${hooks.url}/hooks/okta/${id}`, okta_event_hook: { id: expect.stringMatching(/^who\w{17}$/), status: 'ACTIVE', verificationStatus: 'VERIFIED' } } });
    const hookId = (answer.body.okta_event_hook as { id: string }).id;
    const secret = answer.body.hook_secret as string;
    const paths = hookPaths(hookId);
    expect(okta.calls()).toEqual([paths.create, paths.verify, paths.activate]);

    // What Okta holds: our URL, the configured event types, the secret in the Authorization header.
    expect(okta.hooks.get(hookId)).toMatchObject({
      name: `sso-sync ${id}`,
      status: 'ACTIVE',
      verificationStatus: 'VERIFIED',
      events: { type: 'EVENT_TYPE', items: [...DEFAULT_OKTA_EVENT_TYPES] },
      channel: { type: 'HTTP', version: '1.0.0', config: { uri: `${hooks.url}/hooks/okta/${id}`, authScheme: { type: 'HEADER', key: 'Authorization' } } },
    });
    // The verification reached the handler with the challenge and the secret, and was answered right the first time.
    expect(hooks.received).toEqual([{ method: 'GET', path: `/hooks/okta/${id}`, headers: expect.objectContaining({ authorization: secret, 'x-okta-verification-challenge': expect.any(String) }) }]);
    expect(okta.verifications).toEqual([{ hookId, uri: `${hooks.url}/hooks/okta/${id}`, status: 200, ok: true }]);

    const stored = await getRawConnection(id);
    expect(stored).toMatchObject({ oktaEventHookId: hookId });
    expect(connectionView(stored!)).toMatchObject({ oktaEventHookId: hookId, oktaApiToken: 'set' });
    expect(JSON.stringify(answer.body)).not.toContain(API_TOKEN);

    const deactivated = await deactivateConnection(id, admin);
    expect(deactivated).toMatchObject({ connection_id: id, okta_event_hook: { id: hookId, removed: true } });
    expect(okta.calls()).toEqual([paths.create, paths.verify, paths.activate, paths.deactivate, paths.delete]);
    expect(okta.hooks.size).toBe(0);
    const after = await getRawConnection(id);
    expect(after).toMatchObject({ deactivatedAt: expect.any(String), hookSecretHashes: [] });
    expect(after).not.toHaveProperty('oktaEventHookId');
  });

  it('answers 502 with the secret (shown once) when Okta fails the verification; the hook it created is removed and the connection stays without one', async () => {
    const id = newId();
    okta.failNext({ method: 'POST', pathPrefix: '/api/v1/eventHooks/who', status: 500, times: 1 });
    const answer = await createNewConnection({ type: 'okta', connection_id: id, org_url: okta.orgUrl, api_token: API_TOKEN, register: true }, admin, settings);

    expect(answer).toMatchObject({
      status: 502,
      body: { status: 'failed', okta_step: 'verify', error: expect.stringMatching(/^Okta event hook verify failed: status 500, E0000009/), connection_id: id, hook_secret: expect.stringMatching(/^[\w-]{43}$/) },
    });
    const created = okta.requests.find((request) => request.method === 'POST' && request.path === '/api/v1/eventHooks');
    expect(created).toBeDefined();
    expect(okta.calls().map((call) => call.replace(/who\w+/, '{id}'))).toEqual([
      'POST /api/v1/eventHooks',
      'POST /api/v1/eventHooks/{id}/lifecycle/verify',
      'POST /api/v1/eventHooks/{id}/lifecycle/deactivate',
      'DELETE /api/v1/eventHooks/{id}',
    ]);
    expect(okta.hooks.size).toBe(0);
    const stored = await getRawConnection(id);
    expect(stored).toMatchObject({ connectionId: id, hookSecretHashes: [expect.any(String)] });
    expect(stored).not.toHaveProperty('oktaEventHookId');
    expect(JSON.stringify(answer.body)).not.toContain(API_TOKEN);
  });

  it('answers 502 at the create step when Okta refuses the API token; nothing was created', async () => {
    const id = newId();
    const answer = await createNewConnection({ type: 'okta', connection_id: id, org_url: okta.orgUrl, api_token: 'not-a-token-this-org-knows', register: true }, admin, settings);
    expect(answer).toMatchObject({ status: 502, body: { okta_step: 'create', error: 'Okta event hook create failed: status 401, E0000011 (Invalid token provided)' } });
    expect(JSON.stringify(answer.body)).not.toContain('not-a-token-this-org-knows');
    expect(okta.hooks.size).toBe(0);
  });

  it('refuses "register" without an API token, before storing anything', async () => {
    const id = newId();
    await expect(createNewConnection({ type: 'okta', connection_id: id, org_url: okta.orgUrl, register: true }, admin, settings)).rejects.toMatchObject({ statusCode: 400, detail: expect.stringContaining('api_token') });
    expect(await getRawConnection(id)).toBeUndefined();
    expect(okta.requests).toEqual([]);
  });

  it('waits out a 429 (X-Rate-Limit-Reset) on verify and carries on', async () => {
    const id = newId();
    okta.failNext({ method: 'POST', pathPrefix: '/api/v1/eventHooks/who', status: 429, times: 1, resetInSeconds: 1 });
    // The first POST under a hook is verify: it gets the 429 and is retried once by the SDK.
    const answer = await createNewConnection({ type: 'okta', connection_id: id, org_url: okta.orgUrl, api_token: API_TOKEN, register: true }, admin, settings);
    expect(answer.status).toBe(201);
    const hookId = (answer.body.okta_event_hook as { id: string }).id;
    const paths = hookPaths(hookId);
    expect(okta.calls()).toEqual([paths.create, paths.verify, paths.verify, paths.activate]);
  });
});

describe('registerEventHook', () => {
  it('a verification the endpoint refuses (wrong secret) fails the verify step, and the hook it created is deactivated and deleted', async () => {
    const id = newId();
    await createNewConnection({ type: 'okta', connection_id: id, org_url: okta.orgUrl }, admin, settings);
    const wrongSecret = 'a-secret-this-connection-does-not-have-000';
    const failure = await registerEventHook({
      orgUrl: okta.orgUrl,
      apiToken: API_TOKEN,
      name: `sso-sync ${id}`,
      hookUrl: `${hooks.url}/hooks/okta/${id}`,
      authHeader: 'Authorization',
      secret: wrongSecret,
      eventTypes: DEFAULT_OKTA_EVENT_TYPES,
    }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(OktaEventHookError);
    expect(failure).toMatchObject({ step: 'verify', status: 400, code: 'E0000001', leftBehindHookId: undefined });
    expect((failure as Error).message).toContain('the endpoint answered 401');
    expect((failure as Error).message).not.toContain(wrongSecret);
    expect((failure as Error).message).not.toContain(API_TOKEN);
    // Okta tries twice (one retry), the real handler refuses both.
    expect(okta.verifications.map((attempt) => attempt.status)).toEqual([401, 401]);
    expect(okta.calls().map((call) => call.replace(/who\w+/, '{id}'))).toEqual([
      'POST /api/v1/eventHooks',
      'POST /api/v1/eventHooks/{id}/lifecycle/verify',
      'POST /api/v1/eventHooks/{id}/lifecycle/deactivate',
      'DELETE /api/v1/eventHooks/{id}',
    ]);
    expect(okta.hooks.size).toBe(0);
  });

  it('names the hook it left behind when the clean-up fails too', async () => {
    const id = newId();
    okta.failNext({ method: 'POST', pathPrefix: '/api/v1/eventHooks/who', status: 500, times: 2 });
    const failure = await registerEventHook({
      orgUrl: okta.orgUrl,
      apiToken: API_TOKEN,
      name: `sso-sync ${id}`,
      hookUrl: `${hooks.url}/hooks/okta/${id}`,
      authHeader: 'Authorization',
      secret: 'whatever-secret-0000000000000000000000000',
      eventTypes: DEFAULT_OKTA_EVENT_TYPES,
    }).catch((error: unknown) => error);
    const [leftBehind] = okta.hooks.keys();
    expect(failure).toMatchObject({ step: 'verify', status: 500, leftBehindHookId: leftBehind });
    expect((failure as Error).message).toContain(`the hook ${leftBehind} it created could not be removed`);
  });
});

describe('deactivating a connection with a registered hook', () => {
  it('stands when Okta fails to remove the hook, says so and keeps the hook id', async () => {
    const id = newId();
    const answer = await createNewConnection({ type: 'okta', connection_id: id, org_url: okta.orgUrl, api_token: API_TOKEN, register: true }, admin, settings);
    const hookId = (answer.body.okta_event_hook as { id: string }).id;
    okta.failNext({ method: 'POST', pathPrefix: `/api/v1/eventHooks/${hookId}/lifecycle/deactivate`, status: 503, times: 1 });

    const deactivated = await deactivateConnection(id, admin);
    expect(deactivated).toMatchObject({ okta_event_hook: { id: hookId, removed: false, error: expect.stringContaining('Okta event hook deactivate failed: status 503') } });
    expect(await getRawConnection(id)).toMatchObject({ deactivatedAt: expect.any(String), hookSecretHashes: [], oktaEventHookId: hookId });
    expect(okta.hooks.get(hookId)?.status).toBe('ACTIVE');
  });

  it('counts a hook Okta no longer knows as removed', async () => {
    const id = newId();
    const answer = await createNewConnection({ type: 'okta', connection_id: id, org_url: okta.orgUrl, api_token: API_TOKEN, register: true }, admin, settings);
    const hookId = (answer.body.okta_event_hook as { id: string }).id;
    okta.hooks.delete(hookId);
    expect(await deactivateConnection(id, admin)).toMatchObject({ okta_event_hook: { id: hookId, removed: true } });
    expect(await getRawConnection(id)).not.toHaveProperty('oktaEventHookId');
  });
});
