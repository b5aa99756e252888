/**
 * Graph subscriptions end to end: the table in DynamoDB Local, the Graph app's secret in Secrets
 * Manager (moto), the fake Graph over HTTPS, and our graph-hook served over loopback HTTP, so
 * Graph's validation handshake and notifications signed with the clientState Graph was given
 * run through the real handler.
 *
 * Configuration is read once, at first use, so every module that reads it is imported only after
 * beforeAll has pointed the environment at the fake Graph and the hook server.
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { APIGatewayProxyStructuredResultV2, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertProcessTrustsFakeGraph, startFakeGraph, type FakeGraph } from '../../scripts/lib/fake-graph.js';
import { lambdaContext } from '../../scripts/lib/local-stream.js';
import { hashHookSecret } from '../../shared/domain/hook-secrets.js';
import { httpApiEvent } from '../helpers/fixtures.js';
import type { StoredSubscription } from '../../shared/store/subscriptions.js';
import type { GraphNotification } from '../helpers/graph.js';
import { graphAppSecret } from '../helpers/secrets.js';

type Subscriptions = typeof import('../../shared/app/graph-subscriptions.js');
type Stack = typeof import('../helpers/stack.js');

const FRESH_TENANT = '00000000-0000-4000-8000-0000000f0001';
const FRESH_CLIENT_ID = '00000000-0000-4000-8000-0000000f0c11';
const FRESH_SECRET_REF = `sso-sync/test/graph-subscriptions-${crypto.randomUUID()}`;
const GROUP_1 = '00000000-0000-4000-8000-0000000f2001';
const GROUP_2 = '00000000-0000-4000-8000-0000000f2002';
const FIXTURE_USERS_SUBSCRIPTION = '00000000-0000-4000-8000-0000000d5001';
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_MS = 41_760 * 60_000;

let fake: FakeGraph;
let hooks: Awaited<ReturnType<typeof startHookServer>>;
let subs: Subscriptions;
let stack: Stack;
let store: {
  connections: typeof import('../../shared/store/connections.js');
  subscriptions: typeof import('../../shared/store/subscriptions.js');
  ssoConfigs: typeof import('../../shared/store/sso-configs.js');
  seed: typeof import('../../shared/domain/seed.js');
  seedWriter: typeof import('../../shared/store/seed-writer.js');
};
let graphConnection: typeof import('../../shared/idp/graph-connection.js');

// --- our graph-hook on loopback HTTP, as API Gateway would pass requests on ----------------------

type HookCall = { path: string; validation: boolean; status: number };

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function startHookServer() {
  const calls: HookCall[] = [];
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const match = /^\/hooks\/graph\/([^/]+)(\/lifecycle)?$/.exec(url.pathname);
      if (!match?.[1]) return response.writeHead(404).end();
      const { handler, lifecycleHandler } = await import('../../functions/graph-hook.js');
      const lifecycle = match[2] !== undefined;
      const headers = Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value]] : [])));
      const event = httpApiEvent({
        method: request.method as 'POST',
        connectionId: decodeURIComponent(match[1]),
        route: lifecycle ? '/hooks/graph/{connectionId}/lifecycle' : '/hooks/graph/{connectionId}',
        headers,
        rawQueryString: url.search.slice(1),
        body: await readBody(request),
      });
      const result = (await (lifecycle ? lifecycleHandler : handler)(event, lambdaContext('graph-hook'))) as APIGatewayProxyStructuredResultV2;
      const status = result.statusCode ?? 200;
      calls.push({ path: url.pathname, validation: url.searchParams.has('validationToken'), status });
      response.writeHead(status, (result.headers ?? {}) as Record<string, string>).end(result.body ?? '');
    })().catch((error: unknown) => response.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// --- test data -------------------------------------------------------------------------------

function entraConnection(id: string, providerName: string, clientSecretRef = FRESH_SECRET_REF) {
  return { id, type: 'entra', tenantId: FRESH_TENANT, providerNames: [providerName], graph: { clientId: FRESH_CLIENT_ID, clientSecretRef } };
}

function account(id: string, connectionId: string, providerName: string, groups: string[], active = true) {
  return {
    id,
    ssoConfig: { active, allowedDomains: ['example.com'], providers: [{ connectionId, providerName, groups: groups.map((group) => ({ group, role: 'Viewer' })) }] },
  };
}

async function addConnections(connections: unknown[], accounts: unknown[] = []): Promise<void> {
  await store.seedWriter.writeSeed(store.seed.parseSeed({ connections, accounts }));
}

async function load(connectionId: string) {
  const found = await store.connections.getConnectionWithSubscriptions(connectionId);
  if (!found) throw new Error(`no connection ${connectionId}`);
  return { found, graph: await graphConnection.directoryFor(found.connection) };
}

const settings = () => ({ hooksBaseUrl: hooks.baseUrl });

/** A subscription held in the table and, unless `inGraph` is false, in the fake Graph. */
async function holdSubscription(connectionId: string, resource: string, expiresInMs: number, inGraph = true): Promise<StoredSubscription & { clientState: string }> {
  const subscriptionId = crypto.randomUUID();
  const clientState = `held-clientstate-${crypto.randomUUID()}`;
  const expiresAt = new Date(Date.now() + expiresInMs).toISOString();
  const stored = { subscriptionId, resource, changeType: 'updated,deleted', expiresAt, clientStateHashes: [hashHookSecret(clientState)] };
  await store.subscriptions.putSubscription(connectionId, stored);
  if (inGraph) {
    const urls = subs.subscriptionUrls(hooks.baseUrl, connectionId);
    fake.holdSubscription({ id: subscriptionId, resource, clientState, ...urls, expirationDateTime: expiresAt, applicationId: FRESH_CLIENT_ID });
  }
  return { ...stored, clientState };
}

function clientStateInGraph(subscriptionId: string): string {
  const clientState = fake.subscriptions.get(subscriptionId)?.clientState;
  if (!clientState) throw new Error(`the fake Graph holds no subscription ${subscriptionId}`);
  return clientState;
}

/** A user deletion from this subscription, POSTed to the connection's notification URL over HTTP as Graph sends it. */
async function notify(connectionId: string, tenantId: string, subscriptionId: string, clientState: string): Promise<number> {
  const objectId = crypto.randomUUID();
  const notification: GraphNotification = {
    changeType: 'deleted',
    clientState,
    resource: `Users/${objectId}`,
    resourceData: { '@odata.type': '#Microsoft.Graph.User', '@odata.id': `Users/${objectId}`, id: objectId, organizationId: tenantId },
    subscriptionId,
    tenantId,
  };
  const response = await fetch(subs.subscriptionUrls(hooks.baseUrl, connectionId).notificationUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ value: [notification] }),
  });
  return response.status;
}

const resourcesOf = (subscriptions: readonly StoredSubscription[]) => subscriptions.map(({ resource }) => resource).sort();
const idsOf = (subscriptions: readonly StoredSubscription[]) => subscriptions.map(({ subscriptionId }) => subscriptionId).sort();

beforeAll(async () => {
  assertProcessTrustsFakeGraph();
  fake = await startFakeGraph();
  hooks = await startHookServer();
  process.env.GRAPH_BASE_URL = fake.baseUrl;
  process.env.GRAPH_AUTHORITY_HOST = fake.authorityHost;
  process.env.HOOKS_BASE_URL = hooks.baseUrl;
  // The hook must see a subscription replaced a moment ago, not a cached connection.
  process.env.CONFIG_CACHE_SECONDS = '0';

  stack = await import('../helpers/stack.js');
  subs = await import('../../shared/app/graph-subscriptions.js');
  graphConnection = await import('../../shared/idp/graph-connection.js');
  store = {
    connections: await import('../../shared/store/connections.js'),
    subscriptions: await import('../../shared/store/subscriptions.js'),
    ssoConfigs: await import('../../shared/store/sso-configs.js'),
    seed: await import('../../shared/domain/seed.js'),
    seedWriter: await import('../../shared/store/seed-writer.js'),
  };

  await stack.createSeededTable();
  fake.registerApp(FRESH_TENANT, FRESH_CLIENT_ID, await graphAppSecret(FRESH_SECRET_REF, `fresh-secret-${crypto.randomUUID()}`));
  // The seed's entra-a and entra-b name secrets other test files may create too: their tenants get
  // no app in this fake (any secret works), but the secrets must exist.
  await graphAppSecret('sso-sync/test/entra-a', `entra-a-secret-${crypto.randomUUID()}`);
  await graphAppSecret('sso-sync/test/entra-b', `entra-b-secret-${crypto.randomUUID()}`);
});

afterAll(async () => {
  await hooks?.close();
  await fake?.stop();
});

describe('what a connection should hold', () => {
  it('notification URLs under the hooks base URL, the lifecycle one beside it', () => {
    expect(subs.subscriptionUrls('https://api.example.com/', 'entra-a')).toEqual({
      notificationUrl: 'https://api.example.com/hooks/graph/entra-a',
      lifecycleNotificationUrl: 'https://api.example.com/hooks/graph/entra-a/lifecycle',
    });
  });

  it('users and each group of this connection, active config or not, lowercased, once, sorted', () => {
    const configs = [
      { accountId: 'one', ssoConfig: { active: true, allowedDomains: ['example.com'], providers: [{ connectionId: 'entra-x', providerName: 'X', groups: [{ group: GROUP_2.toUpperCase(), role: 'Admin' as const }] }] } },
      { accountId: 'two', ssoConfig: { active: false, allowedDomains: ['example.com'], providers: [{ connectionId: 'entra-x', providerName: 'X', groups: [{ group: GROUP_1, role: 'Viewer' as const }, { group: GROUP_2, role: 'Viewer' as const }] }] } },
      { accountId: 'three', ssoConfig: { active: true, allowedDomains: ['example.com'], providers: [{ connectionId: 'entra-y', providerName: 'Y', groups: [{ group: 'ffffffff-0000-4000-8000-000000000000', role: 'Viewer' as const }] }] } },
    ];
    expect(subs.wantedResources(configs, 'entra-x')).toEqual(['groups/' + GROUP_1, 'groups/' + GROUP_2, 'users']);
    expect(subs.wantedResources([], 'entra-x')).toEqual(['users']);
  });
});

describe('ensureSubscriptions', () => {
  beforeAll(async () => {
    await addConnections(
      [entraConnection('entra-fresh', 'EntraFresh')],
      [account('fresh-active', 'entra-fresh', 'EntraFresh', [GROUP_1.toUpperCase()]), account('fresh-dormant', 'entra-fresh', 'EntraFresh', [GROUP_1, GROUP_2], false)],
    );
  });

  it('creates users and one subscription per configured group, validated against our graph-hook, storing only the clientState hash', async () => {
    const { found, graph } = await load('entra-fresh');
    const configs = await store.ssoConfigs.ssoConfigsServedBy('entra-fresh');
    const startedAt = Date.now();
    const report = await subs.ensureSubscriptions(found, graph, configs, settings());

    expect(report.failed).toEqual([]);
    expect(report.kept).toEqual([]);
    expect(resourcesOf(report.created)).toEqual([`groups/${GROUP_1}`, `groups/${GROUP_2}`, 'users']);
    const urls = subs.subscriptionUrls(hooks.baseUrl, 'entra-fresh');
    const held = await store.subscriptions.listSubscriptions('entra-fresh');
    expect(idsOf(held)).toEqual(idsOf(report.created));
    for (const created of report.created) {
      const inGraph = fake.subscriptions.get(created.subscriptionId);
      expect(inGraph).toMatchObject({ resource: created.resource, changeType: 'updated,deleted', ...urls });
      const expiresInMs = Date.parse(inGraph?.expirationDateTime ?? '') - startedAt;
      expect(expiresInMs).toBeLessThanOrEqual(MAX_MS);
      expect(expiresInMs).toBeGreaterThan(MAX_MS - 15 * 60_000);
      const stored = held.find(({ subscriptionId }) => subscriptionId === created.subscriptionId);
      expect(stored?.clientStateHashes).toEqual([hashHookSecret(clientStateInGraph(created.subscriptionId))]);
      expect(stored?.expiresAt).toBe(new Date(inGraph?.expirationDateTime ?? '').toISOString());
    }
    // Graph validated both URLs of every subscription, and our handler answered each.
    const validations = hooks.calls.filter(({ validation }) => validation);
    expect(validations.filter(({ path }) => path === new URL(urls.notificationUrl).pathname)).toHaveLength(3);
    expect(validations.filter(({ path }) => path === new URL(urls.lifecycleNotificationUrl).pathname)).toHaveLength(3);
    expect(validations.every(({ status }) => status === 200)).toBe(true);
    // The plain clientState is nowhere in the table.
    const stored = await stack.itemsOf('GraphSubscription');
    expect(stored.length).toBeGreaterThanOrEqual(3);
    const table = JSON.stringify(stored);
    for (const { subscriptionId } of report.created) expect(table).not.toContain(clientStateInGraph(subscriptionId));
  });

  it('a notification signed with the clientState Graph got is accepted; another clientState is not', async () => {
    const [users] = (await store.subscriptions.listSubscriptions('entra-fresh')).filter(({ resource }) => resource === 'users');
    if (!users) throw new Error('no users subscription');
    expect(await notify('entra-fresh', FRESH_TENANT, users.subscriptionId, clientStateInGraph(users.subscriptionId))).toBe(202);
    expect(await notify('entra-fresh', FRESH_TENANT, users.subscriptionId, `forged-clientstate-${crypto.randomUUID()}`)).toBe(401);
  });

  it('a second run keeps what is held and creates nothing', async () => {
    const { found, graph } = await load('entra-fresh');
    const posts = fake.requests.filter(({ method, path }) => method === 'POST' && path === '/v1.0/subscriptions').length;
    const report = await subs.ensureSubscriptions(found, graph, await store.ssoConfigs.ssoConfigsServedBy('entra-fresh'), settings());
    expect(report).toMatchObject({ created: [], unwanted: [], failed: [] });
    expect(report.kept).toHaveLength(3);
    expect(fake.requests.filter(({ method, path }) => method === 'POST' && path === '/v1.0/subscriptions')).toHaveLength(posts);
  });

  it('counts a held subscription on every group ("groups") as covering each configured group', async () => {
    // entra-a holds the fixtures' "users" and "groups" (every group); its accounts name two groups.
    const { found, graph } = await load('entra-a');
    const report = await subs.ensureSubscriptions(found, graph, await store.ssoConfigs.ssoConfigsServedBy('entra-a'), settings());
    expect(report).toMatchObject({ created: [], unwanted: [], failed: [] });
    expect(resourcesOf(report.kept)).toEqual(['groups', 'users']);
    expect(resourcesOf(await store.subscriptions.listSubscriptions('entra-a'))).toEqual(['groups', 'users']);
  });

  it('reports, without deleting, a subscription no config wants', async () => {
    await addConnections([entraConnection('entra-spare', 'EntraSpare')], [account('spare', 'entra-spare', 'EntraSpare', [GROUP_1])]);
    const { graph } = await load('entra-spare');
    await subs.ensureSubscriptions((await load('entra-spare')).found, graph, await store.ssoConfigs.ssoConfigsServedBy('entra-spare'), settings());
    // The account stops naming the group: its subscription is reported, not deleted.
    const { found } = await load('entra-spare');
    const report = await subs.ensureSubscriptions(found, graph, [], settings());
    expect(resourcesOf(report.unwanted)).toEqual([`groups/${GROUP_1}`]);
    expect(resourcesOf(report.kept)).toEqual(['users']);
    expect(resourcesOf(await store.subscriptions.listSubscriptions('entra-spare'))).toEqual([`groups/${GROUP_1}`, 'users']);
  });

  it('a Graph refusal for one resource is reported and the others are still created and stored', async () => {
    await addConnections([entraConnection('entra-partial', 'EntraPartial')], [account('partial', 'entra-partial', 'EntraPartial', [GROUP_1, GROUP_2])]);
    const { found, graph } = await load('entra-partial');
    // Resources are created in sorted order: the first POST is groups/GROUP_1.
    fake.failNext({ method: 'POST', pathPrefix: '/v1.0/subscriptions', status: 403, code: 'Authorization_RequestDenied', times: 1 });
    const report = await subs.ensureSubscriptions(found, graph, await store.ssoConfigs.ssoConfigsServedBy('entra-partial'), settings());
    expect(report.failed).toEqual([{ resource: `groups/${GROUP_1}`, error: expect.any(String) }]);
    expect(resourcesOf(report.created)).toEqual([`groups/${GROUP_2}`, 'users']);
    expect(resourcesOf(await store.subscriptions.listSubscriptions('entra-partial'))).toEqual([`groups/${GROUP_2}`, 'users']);
  });

  it('a failed validation handshake creates nothing for that resource', async () => {
    // Nothing answers under this base URL (404), so Graph's handshake fails.
    await addConnections([entraConnection('entra-unreachable', 'EntraUnreachable')]);
    const { found, graph } = await load('entra-unreachable');
    const report = await subs.ensureSubscriptions(found, graph, [], { hooksBaseUrl: `${hooks.baseUrl}/not-our-api` });
    expect(report.created).toEqual([]);
    expect(report.failed).toEqual([{ resource: 'users', error: expect.stringMatching(/validation/i) }]);
    expect(await store.subscriptions.listSubscriptions('entra-unreachable')).toEqual([]);
  });
});

describe('recreateSubscription', () => {
  it('replaces the fixture users subscription: the new clientState is accepted, the old fixture clientState no longer is', async () => {
    const { found, graph } = await load('entra-a');
    const replacement = await subs.recreateSubscription(found, FIXTURE_USERS_SUBSCRIPTION, graph, settings());

    expect(replacement).toMatchObject({ resource: 'users', changeType: 'updated,deleted' });
    expect(replacement.subscriptionId).not.toBe(FIXTURE_USERS_SUBSCRIPTION);
    const held = await store.subscriptions.listSubscriptions('entra-a');
    expect(held.map(({ subscriptionId }) => subscriptionId)).not.toContain(FIXTURE_USERS_SUBSCRIPTION);
    expect(held.filter(({ resource }) => resource === 'users')).toEqual([replacement]);

    const tenant = stack.ENTRA_A_TENANT;
    expect(await notify('entra-a', tenant, replacement.subscriptionId, clientStateInGraph(replacement.subscriptionId))).toBe(202);
    expect(await notify('entra-a', tenant, replacement.subscriptionId, stack.GRAPH_CLIENT_STATE)).toBe(401);
    expect(await notify('entra-a', tenant, FIXTURE_USERS_SUBSCRIPTION, stack.GRAPH_CLIENT_STATE)).toBe(401);
  });

  it('deletes the old subscription in Graph too', async () => {
    const old = await holdSubscription('entra-fresh', 'users', 20 * DAY_MS);
    const { found, graph } = await load('entra-fresh');
    const replacement = await subs.recreateSubscription(found, old.subscriptionId, graph, settings());
    expect(fake.subscriptions.has(old.subscriptionId)).toBe(false);
    expect(fake.subscriptions.has(replacement.subscriptionId)).toBe(true);
  });

  it('drops the old one from the table even when Graph refuses to delete it, so a retry makes no third one', async () => {
    const old = await holdSubscription('entra-fresh', 'users', 20 * DAY_MS);
    const { found, graph } = await load('entra-fresh');
    fake.failNext({ method: 'DELETE', pathPrefix: `/v1.0/subscriptions/${old.subscriptionId}`, status: 500, times: 10 });
    const replacement = await subs.recreateSubscription(found, old.subscriptionId, graph, settings());
    const held = (await store.subscriptions.listSubscriptions('entra-fresh')).map(({ subscriptionId }) => subscriptionId);
    expect(held).toContain(replacement.subscriptionId);
    expect(held).not.toContain(old.subscriptionId);
  });

  it('refuses, naming it, an id the connection does not hold', async () => {
    const { found, graph } = await load('entra-fresh');
    const unknown = crypto.randomUUID();
    await expect(subs.recreateSubscription(found, unknown, graph, settings())).rejects.toThrow(unknown);
  });
});

describe('renewExpiring', () => {
  beforeAll(async () => {
    await addConnections([
      entraConnection('entra-renew', 'EntraRenew'),
      entraConnection('entra-gone', 'EntraGone'),
      entraConnection('entra-flaky', 'EntraFlaky'),
    ]);
  });

  it('renews exactly the subscriptions with less than 3 days left', async () => {
    const oneDay = await holdSubscription('entra-renew', 'users', 1 * DAY_MS);
    const almostThree = await holdSubscription('entra-renew', `groups/${GROUP_1}`, 2.9 * DAY_MS);
    const tenDays = await holdSubscription('entra-renew', `groups/${GROUP_2}`, 10 * DAY_MS);
    const { found, graph } = await load('entra-renew');
    const startedAt = Date.now();
    const report = await subs.renewExpiring(found, graph, settings());

    expect(report.failed).toEqual([]);
    expect(report.recreated).toEqual([]);
    expect(idsOf(report.renewed)).toEqual(idsOf([oneDay, almostThree]));
    expect(idsOf(report.untouched)).toEqual([tenDays.subscriptionId]);
    const patched = fake.requests.filter(({ method }) => method === 'PATCH').map(({ path }) => path);
    expect(patched).not.toContain(`/v1.0/subscriptions/${tenDays.subscriptionId}`);
    expect(fake.subscriptions.get(tenDays.subscriptionId)?.expirationDateTime).toBe(tenDays.expiresAt);

    const held = await store.subscriptions.listSubscriptions('entra-renew');
    for (const renewed of [oneDay, almostThree]) {
      const expiresInMs = Date.parse(fake.subscriptions.get(renewed.subscriptionId)?.expirationDateTime ?? '') - startedAt;
      expect(expiresInMs).toBeLessThanOrEqual(MAX_MS);
      expect(expiresInMs).toBeGreaterThan(MAX_MS - 15 * 60_000);
      const stored = held.find(({ subscriptionId }) => subscriptionId === renewed.subscriptionId);
      expect(stored?.expiresAt).toBe(new Date(fake.subscriptions.get(renewed.subscriptionId)?.expirationDateTime ?? '').toISOString());
      // Same subscription, same clientState.
      expect(stored?.clientStateHashes).toEqual(renewed.clientStateHashes);
    }
    expect(held.find(({ subscriptionId }) => subscriptionId === tenDays.subscriptionId)?.expiresAt).toBe(tenDays.expiresAt);
  });

  it('recreates, with a new id and clientState, a subscription Graph no longer knows', async () => {
    const forgotten = await holdSubscription('entra-gone', 'users', 1 * DAY_MS, false);
    const { found, graph } = await load('entra-gone');
    const report = await subs.renewExpiring(found, graph, settings());

    expect(report.failed).toEqual([]);
    expect(report.renewed).toEqual([]);
    expect(report.recreated).toHaveLength(1);
    const [{ replaced, subscription } = { replaced: '', subscription: undefined }] = report.recreated;
    expect(replaced).toBe(forgotten.subscriptionId);
    expect(subscription?.subscriptionId).not.toBe(forgotten.subscriptionId);
    expect(subscription?.resource).toBe('users');
    expect(await store.subscriptions.listSubscriptions('entra-gone')).toEqual([subscription]);
    const newClientState = clientStateInGraph(subscription?.subscriptionId ?? '');
    expect(newClientState).not.toBe(forgotten.clientState);
    expect(await notify('entra-gone', FRESH_TENANT, subscription?.subscriptionId ?? '', newClientState)).toBe(202);
    expect(await notify('entra-gone', FRESH_TENANT, forgotten.subscriptionId, forgotten.clientState)).toBe(401);
  });

  it('a Graph failure on one subscription is reported and does not stop the others', async () => {
    const first = await holdSubscription('entra-flaky', 'users', 1 * DAY_MS);
    const failing = await holdSubscription('entra-flaky', `groups/${GROUP_1}`, 1 * DAY_MS);
    const last = await holdSubscription('entra-flaky', `groups/${GROUP_2}`, 1 * DAY_MS);
    fake.failNext({ method: 'PATCH', pathPrefix: `/v1.0/subscriptions/${failing.subscriptionId}`, status: 403, code: 'Authorization_RequestDenied', times: 1 });
    const { found, graph } = await load('entra-flaky');
    const report = await subs.renewExpiring(found, graph, settings());

    expect(report.failed).toEqual([{ resource: `groups/${GROUP_1}`, subscriptionId: failing.subscriptionId, error: expect.any(String) }]);
    expect(idsOf(report.renewed)).toEqual(idsOf([first, last]));
    const held = await store.subscriptions.listSubscriptions('entra-flaky');
    expect(held.find(({ subscriptionId }) => subscriptionId === failing.subscriptionId)?.expiresAt).toBe(failing.expiresAt);
  });
});

describe('the scheduled renew-subscriptions handler', () => {
  const scheduledEvent = { 'detail-type': 'Scheduled Event', source: 'aws.events', time: new Date().toISOString() } as ScheduledEvent;

  async function runHandler() {
    const { handler } = await import('../../functions/renew-subscriptions.js');
    return handler(scheduledEvent, lambdaContext('renew-subscriptions'));
  }

  it('creates what is missing and renews what expires for every Entra connection', async () => {
    await addConnections([entraConnection('entra-scheduled', 'EntraScheduled')], [account('scheduled', 'entra-scheduled', 'EntraScheduled', [GROUP_1])]);
    const expiring = await holdSubscription('entra-scheduled', 'users', 1 * DAY_MS);
    await expect(runHandler()).resolves.toMatchObject({ connections: expect.any(Number) });

    const held = await store.subscriptions.listSubscriptions('entra-scheduled');
    expect(resourcesOf(held)).toEqual([`groups/${GROUP_1}`, 'users']);
    expect(Date.parse(held.find(({ resource }) => resource === 'users')?.expiresAt ?? '') - Date.now()).toBeGreaterThan(20 * DAY_MS);
    expect(held.find(({ resource }) => resource === 'users')?.subscriptionId).toBe(expiring.subscriptionId);
  });

  it('queues a reconciliation of a connection whose lost subscription it recreated', async () => {
    await addConnections([entraConnection('entra-lost', 'EntraLost')]);
    const lost = await holdSubscription('entra-lost', 'users', 1 * DAY_MS, false);
    await runHandler().catch(() => undefined); // other connections of this file may fail on purpose
    const held = await store.subscriptions.listSubscriptions('entra-lost');
    expect(held.map(({ subscriptionId }) => subscriptionId)).not.toContain(lost.subscriptionId);
    const queued = (await stack.itemsOf('InboxEvent')).filter((item) => item.connectionId === 'entra-lost' && String(item.eventId).startsWith('reconcile-resubscribed-'));
    expect(queued).toHaveLength(1);
  });

  it('throws, naming the connection, when one failed, after maintaining the others', async () => {
    // Its Graph app secret does not exist; it sorts before entra-scheduled.
    await addConnections([entraConnection('entra-broken', 'EntraBroken', `sso-sync/test/missing-${crypto.randomUUID()}`)]);
    const expiring = await holdSubscription('entra-scheduled', `groups/${GROUP_2}`, 1 * DAY_MS);
    await expect(runHandler()).rejects.toThrow(/entra-broken/);
    const renewed = (await store.subscriptions.listSubscriptions('entra-scheduled')).find(({ subscriptionId }) => subscriptionId === expiring.subscriptionId);
    expect(Date.parse(renewed?.expiresAt ?? '') - Date.now()).toBeGreaterThan(20 * DAY_MS);
  });
});

describe('npm run subscriptions', () => {
  const run = promisify(execFile);

  async function cli(args: string[]) {
    try {
      const { stdout, stderr } = await run('node_modules/.bin/tsx', ['scripts/subscriptions.ts', ...args], { env: process.env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  const target = () => ['--endpoint', process.env.DYNAMODB_ENDPOINT ?? '', '--table', process.env.TABLE_NAME ?? '', '--hooks-base-url', hooks.baseUrl];

  it('creates the missing subscriptions and prints resource, id and expiry', async () => {
    await addConnections([entraConnection('entra-cli', 'EntraCli')], [account('cli', 'entra-cli', 'EntraCli', [GROUP_2])]);
    const result = await cli(['entra-cli', ...target()]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const { resource, subscriptionId, expiresAt } of await store.subscriptions.listSubscriptions('entra-cli')) {
      expect(result.stdout).toMatch(new RegExp(`${resource}\\s+${subscriptionId}\\s+${expiresAt.replaceAll('.', '\\.')}\\s+created`));
    }
  });

  it('exits 1 with the error when Graph refuses', async () => {
    await addConnections([entraConnection('entra-cli-refused', 'EntraCliRefused')]);
    fake.failNext({ method: 'POST', pathPrefix: '/v1.0/subscriptions', status: 403, code: 'Authorization_RequestDenied', times: 1 });
    const result = await cli(['entra-cli-refused', ...target()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('failed: users');
  });

  it('exits 1 for an unknown connection and 2 without a connection id', async () => {
    expect((await cli(['no-such-connection', ...target()])).code).toBe(1);
    expect((await cli([])).code).toBe(2);
  });
});
