/**
 * The Graph webhook receiver against DynamoDB Local with Graph's wire format: the validation
 * handshake, the per-notification checks (subscription, clientState, tenant), and storage.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { createSeededTable, itemsOf } from '../helpers/stack.js';
import { about, graphNotification, lifecycleNotification, postToGraphHook } from '../helpers/graph.js';

const validation = fixture<{ rawQueryString: string; query: { validationToken: string } }>('graph-validation.json');

async function graphInbox(): Promise<Record<string, unknown>[]> {
  return (await itemsOf('InboxEvent')).filter((item) => item.source === 'graph');
}

let objectCounter = 0;
/** A fresh object id per test, so stored notifications never collide across tests. */
function newObjectId(): string {
  objectCounter += 1;
  return `00000000-0000-4000-8000-${(0x1d0000 + objectCounter).toString(16).padStart(12, '0')}`;
}

beforeAll(async () => {
  await createSeededTable();
});

describe('validation handshake', () => {
  it('answers 200 text/plain with the decoded token on the notification URL', async () => {
    const response = await postToGraphHook('entra-a', '', { rawQueryString: validation.rawQueryString, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('text/plain');
    expect(response.body).toBe(validation.query.validationToken);
  });

  it('answers the same on the lifecycle URL', async () => {
    const response = await postToGraphHook('entra-a', '', { lifecycle: true, rawQueryString: validation.rawQueryString });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(validation.query.validationToken);
  });

  it('refuses an unknown or non-Entra connection with 404 and does not echo', async () => {
    for (const connectionId of ['no-such-tenant', 'okta-a']) {
      const response = await postToGraphHook(connectionId, '', { rawQueryString: validation.rawQueryString });
      expect(response.statusCode).toBe(404);
      expect(response.body).not.toContain('Validation');
    }
  });

  it('refuses a token over 1024 characters with 400', async () => {
    const response = await postToGraphHook('entra-a', '', { rawQueryString: `validationToken=${'a'.repeat(1025)}` });
    expect(response.statusCode).toBe(400);
  });
});

describe('deliveries that are refused store nothing', () => {
  let before = 0;
  beforeEach(async () => {
    before = (await graphInbox()).length;
  });

  it('401 for a forged clientState', async () => {
    const notification = about(graphNotification('graph-user-deleted.json', { clientState: 'forged-clientstate-000000000000' }), newObjectId());
    expect((await postToGraphHook('entra-a', { value: [notification] })).statusCode).toBe(401);
    expect((await graphInbox()).length).toBe(before);
  });

  it('401 without a clientState', async () => {
    const { clientState: _, ...notification } = about(graphNotification('graph-user-deleted.json'), newObjectId());
    expect((await postToGraphHook('entra-a', { value: [notification] })).statusCode).toBe(401);
    expect((await graphInbox()).length).toBe(before);
  });

  it('401 for a subscription this connection does not hold (another tenant\'s)', async () => {
    const notification = about(graphNotification('graph-user-deleted.json', { subscriptionId: '00000000-0000-4000-8000-0000000e5001' }), newObjectId());
    expect((await postToGraphHook('entra-a', { value: [notification] })).statusCode).toBe(401);
    expect((await graphInbox()).length).toBe(before);
  });

  it('401 for the wrong tenant, even with the right subscription and clientState', async () => {
    const notification = about(graphNotification('graph-user-deleted.json', { tenantId: '00000000-0000-4000-8000-0000000e0001' }), newObjectId());
    expect((await postToGraphHook('entra-a', { value: [notification] })).statusCode).toBe(401);
    expect((await graphInbox()).length).toBe(before);
  });

  it('401 when a valid entra-a notification is sent to entra-b', async () => {
    const notification = about(graphNotification('graph-user-deleted.json'), newObjectId());
    expect((await postToGraphHook('entra-b', { value: [notification] })).statusCode).toBe(401);
    expect((await graphInbox()).length).toBe(before);
  });

  it('400 for a body that is not JSON, has no value array, or only malformed items', async () => {
    for (const body of ['{not json', { notifications: [] }, { value: [] }, { value: [{ changeType: 'deleted' }] }]) {
      expect((await postToGraphHook('entra-a', body)).statusCode).toBe(400);
    }
    expect((await graphInbox()).length).toBe(before);
  });

  it('404 for a delivery to an Okta connection', async () => {
    const notification = about(graphNotification('graph-user-deleted.json'), newObjectId());
    expect((await postToGraphHook('okta-a', { value: [notification] })).statusCode).toBe(404);
    expect((await graphInbox()).length).toBe(before);
  });
});

describe('deliveries that are accepted', () => {
  it('stores a user deletion and answers 202 with an empty body', async () => {
    const objectId = newObjectId();
    const response = await postToGraphHook('entra-a', { value: [about(graphNotification('graph-user-deleted.json'), objectId)] });
    expect(response.statusCode).toBe(202);
    expect(response.body).toBe('');
    const stored = (await graphInbox()).filter((item) => (item.record as { resourceId?: string }).resourceId === objectId);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ status: 'pending', eventType: 'users.deleted', connectionId: 'entra-a', published: '2025-03-11T14:17:07.000Z' });
    // Never the clientState.
    expect(JSON.stringify(stored[0])).not.toContain('dev-clientstate');
  });

  it('stores only the verified part of a mixed delivery', async () => {
    const good = newObjectId();
    const forged = newObjectId();
    const wrongTenant = newObjectId();
    const response = await postToGraphHook('entra-a', {
      value: [
        about(graphNotification('graph-user-deleted.json'), good),
        about(graphNotification('graph-user-deleted.json', { clientState: 'forged-clientstate-000000000000' }), forged),
        about(graphNotification('graph-user-deleted.json', { tenantId: '00000000-0000-4000-8000-0000000e0001' }), wrongTenant),
        { changeType: 'deleted' },
      ],
    });
    expect(response.statusCode).toBe(202);
    const ids = (await graphInbox()).map((item) => (item.record as { resourceId?: string }).resourceId);
    expect(ids).toContain(good);
    expect(ids).not.toContain(forged);
    expect(ids).not.toContain(wrongTenant);
  });

  it('stores a duplicate delivery once', async () => {
    const objectId = newObjectId();
    const body = { value: [about(graphNotification('graph-user-updated.json'), objectId)] };
    const before = (await graphInbox()).length;
    expect((await postToGraphHook('entra-a', body)).statusCode).toBe(202);
    expect((await postToGraphHook('entra-a', body)).statusCode).toBe(202);
    expect((await graphInbox()).length).toBe(before + 1);
    // Re-armed rather than dropped (a user update is a state-based hint), and the flag is not stored.
    const stored = (await graphInbox()).find((item) => (item.record as { resourceId?: string }).resourceId === objectId);
    expect(stored).toMatchObject({ status: 'pending', eventType: 'users.updated' });
    expect(stored).not.toHaveProperty('rearm');
  });

  it('keeps the removed members of a group notification, not the added ones', async () => {
    const groupId = newObjectId();
    const notification = about(graphNotification('graph-group-member-removed.json'), groupId);
    notification.resourceData['members@delta'] = [
      { id: '00000000-0000-4000-8000-0000000d1001', '@removed': 'deleted' },
      { id: '00000000-0000-4000-8000-0000000D1002', '@removed': { reason: 'deleted' } },
      { id: '00000000-0000-4000-8000-0000000d1003' },
    ];
    expect((await postToGraphHook('entra-a', { value: [notification] })).statusCode).toBe(202);
    const stored = (await graphInbox()).find((item) => (item.record as { resourceId?: string }).resourceId === groupId);
    expect(stored?.record).toMatchObject({
      kind: 'change',
      resourceType: 'groups',
      changeType: 'updated',
      removedMembers: ['00000000-0000-4000-8000-0000000d1001', '00000000-0000-4000-8000-0000000d1002'],
    });
  });

  it('stores lifecycle notifications from the lifecycle route, as lifecycle events', async () => {
    const response = await postToGraphHook('entra-a', { value: [lifecycleNotification('graph-lifecycle-missed.json')] }, { lifecycle: true });
    expect(response.statusCode).toBe(202);
    const stored = (await graphInbox()).filter((item) => item.eventType === 'lifecycle.missed');
    expect(stored).toHaveLength(1);
  });

  it('refuses a lifecycle notification with a forged clientState', async () => {
    const notification = lifecycleNotification('graph-lifecycle-reauthorization.json', { clientState: 'forged-clientstate-000000000000' });
    expect((await postToGraphHook('entra-a', { value: [notification] }, { lifecycle: true })).statusCode).toBe(401);
  });
});

describe('bounds', () => {
  it('keeps a group change whose members@delta is over its bounds without the list, and stores the rest of the delivery', async () => {
    const deletedUser = newObjectId();
    const groupId = newObjectId();
    const group = about(graphNotification('graph-group-member-removed.json'), groupId);
    // 10,000 removals with 64-character ids: 650 KB as a list, over DynamoDB's 400 KB item limit.
    group.resourceData['members@delta'] = Array.from({ length: 10_000 }, (_, index) => ({ id: index.toString(16).padStart(64, '0'), '@removed': 'deleted' }));
    const notGuid = about(graphNotification('graph-user-deleted.json', { subscriptionId: 'x'.repeat(128) }), newObjectId());
    const response = await postToGraphHook('entra-a', {
      value: [about(graphNotification('graph-user-deleted.json'), deletedUser), group, notGuid],
    });

    expect(response.statusCode).toBe(202);
    const inbox = await graphInbox();
    const resourceIdOf = (item: Record<string, unknown>) => (item.record as { resourceId?: string }).resourceId;
    expect(inbox.find((item) => resourceIdOf(item) === deletedUser)).toMatchObject({ status: 'pending', eventType: 'users.deleted' });
    // Without the list it is processed as a group change without members@delta: every linked member is checked.
    const storedGroup = inbox.find((item) => resourceIdOf(item) === groupId);
    expect(storedGroup).toMatchObject({ status: 'pending', eventType: 'groups.updated' });
    expect(storedGroup?.record).not.toHaveProperty('removedMembers');
    expect(inbox.some((item) => resourceIdOf(item) === notGuid.resourceData.id)).toBe(false);
  });

  it('answers 400, not 5xx, when every notification is over a bound, and stores nothing', async () => {
    const before = (await graphInbox()).length;
    const user = about(graphNotification('graph-user-deleted.json'), newObjectId());
    const response = await postToGraphHook('entra-a', {
      value: [
        { ...user, changeType: 'd'.repeat(65) },
        { ...user, tenantId: `${'t'.repeat(10_000)}` },
        { ...user, resourceData: { ...user.resourceData, eventTime: `2025-03-11T14:17:07${'0'.repeat(10_000)}Z` } },
      ],
    });
    expect(response.statusCode).toBe(400);
    expect((await graphInbox()).length).toBe(before);
  });
});
