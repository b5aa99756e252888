/**
 * Graph delta polling against the fake Graph (users and groups delta with deltaLinks that answer
 * what changed since, expired links on demand, injected faults), the cursors and the inbox in
 * DynamoDB Local, and the real stream processor applying what was stored: no notification at all.
 */
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

// Configuration is read once, at import: the fake Graph must be up before that.
const fake = await vi.hoisted(async () => {
  const { startFakeGraph } = await import('../../scripts/lib/fake-graph.js');
  const started = await startFakeGraph({ memberPageSize: 2 });
  process.env.GRAPH_BASE_URL = started.baseUrl;
  process.env.GRAPH_AUTHORITY_HOST = started.authorityHost;
  return started;
});

const { documentClient, tableName } = await import('../../shared/store/client.js');
const { keys } = await import('../../shared/store/keys.js');
const { getConnection } = await import('../../shared/store/connections.js');
const { getGraphDeltaCursor } = await import('../../shared/store/graph-delta-cursor.js');
const { addSeedUser, createSeededTable, itemsOf } = await import('../helpers/stack.js');
const { useFakeGraphForEntraA } = await import('../helpers/graph.js');
const { DELTA_EXPIRED_TRIGGER, GraphDeltaPollError, isDeltaPollable, pollAllGraphDeltas, pollConnectionDeltas } = await import('../../shared/app/graph-delta-poller.js');
const { graphAppSecret } = await import('../helpers/secrets.js');
const { DELTA_POLL_SUBSCRIPTION } = await import('../../shared/domain/graph-delta.js');

const CONNECTION = 'entra-a';
const GROUP_CONTOSO = '00000000-0000-4000-8000-0000000d2001'; // contoso: Author
const GROUP_NORTHWIND = '00000000-0000-4000-8000-0000000d2002'; // northwind: Viewer
const GROUP_CONTOSO_READERS = '00000000-0000-4000-8000-0000000d2003'; // contoso: Viewer
const settings = { retentionDays: 90, graphBaseUrl: fake.baseUrl };

let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
});

useFakeGraphForEntraA(fake);

beforeEach(async () => {
  await Promise.all(
    ['users', 'groups'].map((resource) => documentClient.send(new DeleteCommand({ TableName: tableName, Key: keys.graphDeltaCursor(CONNECTION, resource) }))),
  );
});

let counter = 0;
/** A user linked to entra-a by a fresh object id, with these memberships, and present (enabled) in the fake. */
async function entraUser(memberships: { accountId: string; role: string }[]) {
  counter += 1;
  const objectId = `00000000-0000-4000-8000-${(0xd30000 + counter).toString(16).padStart(12, '0')}`;
  const email = `delta-user-${counter}@example.com`;
  const userId = await addSeedUser({
    email,
    identities: [{ connectionId: CONNECTION, subject: objectId }],
    memberships: memberships.map((membership) => ({ ...membership, changedAt: '2025-01-01T00:00:00Z' })),
  });
  fake.setUser({ id: objectId, mail: email, userPrincipalName: email, accountEnabled: true });
  return { objectId, email, userId };
}

async function poll() {
  const connection = await getConnection(CONNECTION);
  if (!isDeltaPollable(connection)) throw new Error('entra-a is not pollable');
  const report = await pollConnectionDeltas(connection, settings);
  return Object.fromEntries(report.resources.map((resource) => [resource.resource, resource]));
}

const deltaCalls = () => fake.requests.filter((request) => request.path.endsWith('/delta'));

async function statuses(userId: string): Promise<Record<string, string>> {
  const memberships = (await itemsOf('Membership')).filter((item) => item.userId === userId);
  return Object.fromEntries(memberships.map((item) => [item.accountId as string, item.status as string]));
}

async function pollHints() {
  return (await itemsOf('InboxEvent')).filter((item) => (item.record as { subscriptionId?: string }).subscriptionId === DELTA_POLL_SUBSCRIPTION);
}

/** Runs the stream until these inbox events have left `pending` (stack.ts's processUntilSettled reads Okta events only). */
async function settle(eventIds: string[]) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await stream.drain();
    const events = (await itemsOf('InboxEvent')).filter((item) => eventIds.includes(item.eventId as string));
    if (events.length === eventIds.length && events.every((event) => event.status !== 'pending')) return;
    if (Date.now() > deadline) throw new Error(`events still pending: ${eventIds.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('graph delta polling', () => {
  it('takes the first round only for its deltaLink (all pages, no hints); then one call per resource when nothing changed', async () => {
    for (let i = 0; i < 3; i += 1) await entraUser([]);
    fake.setGroupMembers(GROUP_CONTOSO, ['00000000-0000-4000-8000-0000000d3001', '00000000-0000-4000-8000-0000000d3002', '00000000-0000-4000-8000-0000000d3003']);
    fake.setGroupMembers(GROUP_NORTHWIND, []);
    const hintsBefore = (await pollHints()).length;

    const first = await poll();
    expect(first.users).toMatchObject({ outcome: 'started', stored: 0 });
    expect(first.users!.requests).toBeGreaterThanOrEqual(2); // 3+ users on pages of 2
    expect(first.groups).toMatchObject({ outcome: 'started', stored: 0, requests: 3 }); // contoso's 3 members on pages of 2, northwind (empty) on its own
    expect((await getGraphDeltaCursor(CONNECTION, 'users'))?.deltaLink).toContain('/users/delta?$deltatoken=');
    expect((await getGraphDeltaCursor(CONNECTION, 'groups'))?.groupIds).toEqual([GROUP_CONTOSO, GROUP_NORTHWIND, GROUP_CONTOSO_READERS].sort());
    expect((await pollHints()).length).toBe(hintsBefore);

    fake.requests.length = 0;
    const second = await poll();
    expect(second.users).toMatchObject({ outcome: 'polled', requests: 1, stored: 0 });
    expect(second.groups).toMatchObject({ outcome: 'polled', requests: 1, stored: 0 });
    expect(deltaCalls()).toHaveLength(2);
    expect((await pollHints()).length).toBe(hintsBefore);
  });

  it('with no notification, a deleted user, a disabled user and a member removed from a granting group lose access', async () => {
    const deleted = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    const disabled = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    const removed = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    const stays = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.setGroupMembers(GROUP_CONTOSO, [deleted.objectId, removed.objectId, stays.objectId]);
    fake.setGroupMembers(GROUP_NORTHWIND, [disabled.objectId]);
    fake.setGroupMembers(GROUP_CONTOSO_READERS, []);
    expect((await poll()).users?.outcome).toBe('started');

    fake.deleteUser(deleted.objectId);
    fake.setUser({ id: disabled.objectId, mail: disabled.email, userPrincipalName: disabled.email, accountEnabled: false });
    fake.setGroupMembers(GROUP_CONTOSO, [deleted.objectId, stays.objectId]);
    const run = await poll();
    expect(run.users).toMatchObject({ outcome: 'polled', stored: 2 });
    expect(run.groups).toMatchObject({ outcome: 'polled', stored: 1 });

    const hints = await pollHints();
    const about = (id: string) => hints.filter((hint) => (hint.record as { resourceId: string }).resourceId === id);
    expect(about(deleted.objectId)).toHaveLength(1);
    expect(about(disabled.objectId)).toHaveLength(1);
    expect(about(GROUP_CONTOSO)[0]?.record).toMatchObject({ changeType: 'updated', removedMembers: [removed.objectId] });
    await settle(hints.map((hint) => hint.eventId as string));

    expect(await statuses(deleted.userId)).toEqual({ contoso: 'deleted' });
    expect(await statuses(disabled.userId)).toEqual({ northwind: 'deleted' });
    expect(await statuses(removed.userId)).toEqual({ contoso: 'deleted' });
    expect(await statuses(stays.userId)).toEqual({ contoso: 'active' });

    // Applied once: the next run finds nothing new.
    const again = await poll();
    expect(again.users).toMatchObject({ requests: 1, stored: 0 });
    expect(again.groups).toMatchObject({ requests: 1, stored: 0 });
  });

  it('a failing page leaves the link where it was; the next run reads the same changes', async () => {
    const users = [await entraUser([]), await entraUser([]), await entraUser([])];
    fake.setGroupMembers(GROUP_CONTOSO, []);
    await poll();
    const link = (await getGraphDeltaCursor(CONNECTION, 'users'))?.deltaLink;
    for (const user of users) fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: false });
    // Three changes on pages of two: the second page fails.
    fake.failNext({ pathPrefix: '/v1.0/users/delta?$skiptoken', status: 500, times: 1 });
    const failed = await poll();
    expect(failed.users).toMatchObject({ outcome: 'failed', stored: 0 });
    expect(failed.users?.failure).toContain('status 500');
    expect((await getGraphDeltaCursor(CONNECTION, 'users'))?.deltaLink).toBe(link);

    const retried = await poll();
    expect(retried.users).toMatchObject({ outcome: 'polled', stored: 3 });
    expect((await getGraphDeltaCursor(CONNECTION, 'users'))?.deltaLink).not.toBe(link);
  });

  it('polls every active Entra connection with a Graph app (not Okta, deactivated or app-less ones) and throws when one failed', async () => {
    await graphAppSecret('sso-sync/test/entra-b', `entra-b-secret-${crypto.randomUUID()}`);
    const entra = await getConnection(CONNECTION);
    expect(isDeltaPollable(entra)).toBe(true);
    expect(isDeltaPollable({ ...entra!, deactivatedAt: '2025-01-01T00:00:00Z' })).toBe(false);
    expect(isDeltaPollable({ ...entra!, graph: undefined })).toBe(false);
    expect(isDeltaPollable(await getConnection('okta-a'))).toBe(false);
    expect(isDeltaPollable(undefined)).toBe(false);

    const { connections, reports } = await pollAllGraphDeltas(settings);
    expect(connections).toBe(2);
    expect(reports.map((report) => report.connectionId).sort()).toEqual(['entra-a', 'entra-b']);

    fake.failNext({ pathPrefix: '/v1.0/users/delta', status: 500, times: 2 });
    await expect(pollAllGraphDeltas(settings)).rejects.toThrow(GraphDeltaPollError);
  });

  // Last: the reconcile request it stores is left pending (no stream drain follows).
  it('an expired link (410 syncStateNotFound) queues a reconciliation and takes a fresh link', async () => {
    await entraUser([]);
    fake.setGroupMembers(GROUP_CONTOSO, []);
    await poll();
    const before = { users: (await getGraphDeltaCursor(CONNECTION, 'users'))?.deltaLink, groups: (await getGraphDeltaCursor(CONNECTION, 'groups'))?.deltaLink };
    fake.expireDeltaLinks();
    const run = await poll();
    expect(run.users?.outcome).toBe('expired');
    expect(run.groups?.outcome).toBe('expired');
    const requests = (await itemsOf('InboxEvent')).filter(
      (item) => item.connectionId === CONNECTION && (item.record as { kind: string; trigger?: string }).trigger === DELTA_EXPIRED_TRIGGER,
    );
    expect(requests.length).toBeGreaterThanOrEqual(1);
    expect(requests[0]).toMatchObject({ eventType: 'reconcile', status: 'pending' });
    expect((await getGraphDeltaCursor(CONNECTION, 'users'))?.deltaLink).not.toBe(before.users);
    expect((await getGraphDeltaCursor(CONNECTION, 'groups'))?.deltaLink).not.toBe(before.groups);
    const next = await poll();
    expect(next.users).toMatchObject({ outcome: 'polled', requests: 1 });
    expect(next.groups).toMatchObject({ outcome: 'polled', requests: 1 });
  });
});
