/**
 * An Entra connection's Graph subscriptions through the admin API's application functions:
 * created with the connection, deleted when it is deactivated. DynamoDB Local, moto's Secrets
 * Manager (the Graph app secret the request stores), the fake Graph over HTTPS, whose URL
 * validation handshake reaches the real graph-hook over loopback HTTP.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionSettings } from '../../shared/app/admin-connections.js';

// Configuration is read once, at first use: the fake Graph must be up before that.
const fake = await vi.hoisted(async () => {
  const { startFakeGraph } = await import('../../scripts/lib/fake-graph.js');
  const started = await startFakeGraph({ validateNotificationUrls: true });
  process.env.GRAPH_BASE_URL = started.baseUrl;
  process.env.GRAPH_AUTHORITY_HOST = started.authorityHost;
  return started;
});

const { createNewConnection, deactivateConnection } = await import('../../shared/app/admin-connections.js');
const { maintainAllSubscriptions } = await import('../../shared/app/subscription-maintenance.js');
const { hashHookSecret } = await import('../../shared/domain/hook-secrets.js');
const { parseSeed } = await import('../../shared/domain/seed.js');
const { documentClient, tableName } = await import('../../shared/store/client.js');
const { getRawConnection } = await import('../../shared/store/connection-admin.js');
const { ENTITY } = await import('../../shared/store/keys.js');
const { seedItems } = await import('../../shared/store/seed-writer.js');
const { listSubscriptions } = await import('../../shared/store/subscriptions.js');
const { storeReconcileRequest } = await import('../../shared/store/graph-inbox.js');
const { createSeededTable, itemsOf } = await import('../helpers/stack.js');
const { lifecycleNotification, postToGraphHook, startGraphHookServer, useFakeGraphForEntraA } = await import('../helpers/graph.js');
const { handler: reconcileSchedule } = await import('../../functions/reconcile.js');
const { lambdaContext } = await import('../../scripts/lib/local-stream.js');

const admin = { sub: 'admin-sub-entra-connections', username: 'admin@example.com' };
const CLIENT_SECRET = `graph-app-secret-${crypto.randomUUID()}`;

let hooks: Awaited<ReturnType<typeof startGraphHookServer>>;
let settings: ConnectionSettings;
let stream: Awaited<ReturnType<typeof createSeededTable>>;

beforeAll(async () => {
  stream = await createSeededTable();
  hooks = await startGraphHookServer();
  settings = { hooksBaseUrl: hooks.baseUrl, secretsPrefix: `sso-sync/test-${crypto.randomUUID().slice(0, 8)}/` };
});

afterAll(async () => {
  await hooks?.close();
});

useFakeGraphForEntraA(fake);

/** A fresh tenant whose Graph app (in the fake) takes CLIENT_SECRET; a connection id of its own. */
function freshEntra() {
  const tenant = crypto.randomUUID();
  const clientId = crypto.randomUUID();
  fake.registerApp(tenant, clientId, CLIENT_SECRET);
  const id = `entra-new-${tenant.slice(0, 8)}`;
  return { id, request: { type: 'entra', connection_id: id, tenant_id: tenant, client_id: clientId, client_secret: CLIENT_SECRET } };
}

/**
 * An account whose SSO config names these groups of connection `id`, written before the connection
 * exists (as the seed writes it, without the connection item): its groups are wanted at creation.
 */
async function accountNaming({ id, request }: ReturnType<typeof freshEntra>, groups: string[]): Promise<void> {
  const providerName = `Entra-${id}`;
  const seed = parseSeed({
    connections: [{ id, type: 'entra', tenantId: request.tenant_id, providerNames: [providerName] }],
    accounts: [{ id: `acct-${id}`, ssoConfig: { active: true, allowedDomains: ['example.com'], providers: [{ connectionId: id, providerName, groups: groups.map((group) => ({ group, role: 'Viewer' })) }] } }],
  });
  for (const item of seedItems(seed, new Date()).filter((item) => item.entity !== ENTITY.connection)) {
    await documentClient.send(new PutCommand({ TableName: tableName, Item: item }));
  }
}

const heldInGraph = (id: string) => [...fake.subscriptions.values()].filter((subscription) => subscription.notificationUrl === `${hooks.baseUrl}/hooks/graph/${id}`);
const resourcesOf = (subscriptions: readonly { resource: string }[]) => subscriptions.map(({ resource }) => resource).sort();

describe('creating an Entra connection', () => {
  it('makes the users subscription, validated by the real graph-hook; only the clientState’s hash is stored, and the answer shows neither it nor the secret', async () => {
    const { id, request } = freshEntra();
    const answer = await createNewConnection(request, admin, settings);

    expect(answer).toMatchObject({ status: 201, body: { connection_id: id, type: 'entra', graph_notification_url: `${hooks.baseUrl}/hooks/graph/${id}` } });
    const [inGraph, ...more] = heldInGraph(id);
    expect(more).toEqual([]);
    expect(inGraph).toMatchObject({ resource: 'users', changeType: 'updated,deleted', lifecycleNotificationUrl: `${hooks.baseUrl}/hooks/graph/${id}/lifecycle`, clientState: expect.any(String) });
    expect(answer.body.subscriptions).toEqual([{ resource: 'users', subscriptionId: inGraph?.id, expiresAt: expect.any(String) }]);
    expect(await listSubscriptions(id)).toEqual([expect.objectContaining({ subscriptionId: inGraph?.id, resource: 'users', clientStateHashes: [hashHookSecret(inGraph?.clientState ?? '')] })]);
    // Graph's handshake reached our hook on both URLs, and was answered.
    expect(hooks.calls.filter((call) => call.path.startsWith(`/hooks/graph/${id}`))).toEqual([
      { path: `/hooks/graph/${id}`, validation: true, status: 200 },
      { path: `/hooks/graph/${id}/lifecycle`, validation: true, status: 200 },
    ]);
    const shown = JSON.stringify(answer.body);
    expect(shown).not.toContain(inGraph?.clientState ?? 'no clientState');
    expect(shown).not.toContain(CLIENT_SECRET);
    expect(shown).not.toMatch(/clientState/i);
  });

  it('makes a subscription per group that an SSO config already names for it, beside users', async () => {
    const entra = freshEntra();
    const { id, request } = entra;
    const groups = [crypto.randomUUID(), crypto.randomUUID()];
    await accountNaming(entra, groups);
    const answer = await createNewConnection(request, admin, settings);

    expect(answer.status).toBe(201);
    const wanted = [...groups.map((group) => `groups/${group}`), 'users'].sort();
    expect(resourcesOf(heldInGraph(id))).toEqual(wanted);
    expect(resourcesOf(answer.body.subscriptions as { resource: string }[])).toEqual(wanted);
    expect(resourcesOf(await listSubscriptions(id))).toEqual(wanted);
  });

  it('answers 502 naming the failed step when Graph refuses one subscription; those made in the call are deleted again, the connection and its secret stay', async () => {
    const entra = freshEntra();
    const { id, request } = entra;
    const group = crypto.randomUUID();
    await accountNaming(entra, [group]);
    // The group's subscription is made first (resources in order), then users; the group's fails.
    fake.failNext({ method: 'POST', pathPrefix: '/v1.0/subscriptions', status: 403, times: 1 });
    const answer = await createNewConnection(request, admin, settings);

    expect(answer).toMatchObject({
      status: 502,
      body: { status: 'failed', graph_step: 'create_subscription', resource: `groups/${group}`, error: expect.stringContaining('status 403'), connection_id: id, message: expect.stringContaining(`npm run subscriptions -- ${id}`) },
    });
    expect(answer.body).not.toHaveProperty('left_in_graph');
    // users was created after the failure, and deleted again.
    expect(fake.requests.filter((call) => call.path.startsWith('/v1.0/subscriptions')).map((call) => call.method)).toEqual(['POST', 'POST', 'DELETE']);
    expect(heldInGraph(id)).toEqual([]);
    expect(await listSubscriptions(id)).toEqual([]);
    expect(await getRawConnection(id)).toMatchObject({ connectionId: id, type: 'entra', graph: { clientSecretRef: expect.any(String) } });
  });

  it('answers 502 when Graph gives the app no token (a wrong client secret), holding nothing', async () => {
    const { id, request } = freshEntra();
    const answer = await createNewConnection({ ...request, client_secret: 'not-the-app-secret' }, admin, settings);

    expect(answer).toMatchObject({ status: 502, body: { graph_step: 'create_subscription', resource: 'users', error: expect.stringContaining('POST /subscriptions') } });
    expect(JSON.stringify(answer.body)).not.toContain('not-the-app-secret');
    expect(heldInGraph(id)).toEqual([]);
    expect(await listSubscriptions(id)).toEqual([]);
    expect(await getRawConnection(id)).toMatchObject({ connectionId: id });
  });
});

describe('deactivating an Entra connection', () => {
  it('deletes its subscriptions in Graph and in the table (one Graph lost counts as deleted); renew-subscriptions does not make them again', async () => {
    const entra = freshEntra();
    const { id, request } = entra;
    await accountNaming(entra, [crypto.randomUUID()]);
    expect((await createNewConnection(request, admin, settings)).status).toBe(201);
    const made = await listSubscriptions(id);
    expect(made).toHaveLength(2);
    const lost = made.find(({ resource }) => resource === 'users');
    fake.subscriptions.delete(lost?.subscriptionId ?? '');

    const answer = await deactivateConnection(id, admin);
    expect(answer).toMatchObject({ connection_id: id, deactivatedAt: expect.any(String), graph_subscriptions: { failed: [] } });
    expect(resourcesOf(answer.graph_subscriptions?.deleted ?? [])).toEqual(resourcesOf(made));
    expect(JSON.stringify(answer)).not.toMatch(/clientState/i);
    expect(heldInGraph(id)).toEqual([]);
    expect(await listSubscriptions(id)).toEqual([]);
    expect(await getRawConnection(id)).toMatchObject({ deactivatedAt: answer.deactivatedAt });

    // The schedule maintains the other connections (entra-b's app is unknown to this fake: it may fail) but not this one.
    await maintainAllSubscriptions({ hooksBaseUrl: hooks.baseUrl, inboxRetentionDays: 1 }).catch(() => undefined);
    expect(heldInGraph(id)).toEqual([]);
    expect(await listSubscriptions(id)).toEqual([]);
  });

  it('forgets the subscriptions when Graph refuses to delete them, names them in the answer, and the deactivation stands', async () => {
    const { id, request } = freshEntra();
    expect((await createNewConnection(request, admin, settings)).status).toBe(201);
    const [users] = await listSubscriptions(id);
    fake.failNext({ method: 'DELETE', pathPrefix: '/v1.0/subscriptions', status: 403, times: 1 });

    const answer = await deactivateConnection(id, admin);
    expect(answer.graph_subscriptions).toEqual({ deleted: [], failed: [{ resource: 'users', subscriptionId: users?.subscriptionId, expiresAt: users?.expiresAt, error: expect.stringContaining('status 403') }] });
    expect(await listSubscriptions(id)).toEqual([]);
    expect(await getRawConnection(id)).toMatchObject({ deactivatedAt: expect.any(String), hookSecretHashes: [] });
  });

  it('is not reconciled: the schedule queues it no more, a reconciliation queued before is skipped, and its old subscription’s lifecycle notifications are refused', async () => {
    const { id, request } = freshEntra();
    expect((await createNewConnection(request, admin, settings)).status).toBe(201);
    const [users] = heldInGraph(id);
    await deactivateConnection(id, admin);

    const scheduled = (await reconcileSchedule({ time: new Date().toISOString() } as never, lambdaContext('reconcile'))) as { queued: string[] };
    expect(scheduled.queued).toContain('entra-a');
    expect(scheduled.queued).not.toContain(id);

    const { eventId } = await storeReconcileRequest({ connectionId: id, trigger: 'schedule', receivedAt: new Date(), retentionDays: 1 });
    const deadline = Date.now() + 15_000;
    let queued: Record<string, unknown> | undefined;
    do {
      await stream.drain();
      queued = (await itemsOf('InboxEvent')).find((item) => item.connectionId === id && item.eventId === eventId);
    } while (queued?.status === 'pending' && Date.now() < deadline);
    expect(queued).toMatchObject({ status: 'skipped', detail: expect.stringContaining('deactivated') });

    const removed = lifecycleNotification('graph-lifecycle-subscription-removed.json', { subscriptionId: users?.id ?? '', clientState: users?.clientState ?? '', tenantId: request.tenant_id });
    expect((await postToGraphHook(id, { value: [removed] }, { lifecycle: true })).statusCode).not.toBe(202);
    expect(heldInGraph(id)).toEqual([]);
  });
});
