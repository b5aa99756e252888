/**
 * Which items of a Graph delivery are kept (subscription held, clientState, tenant, resource), the
 * record kept of each, and the id that collapses Graph's resends into one inbox item.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkDelivery,
  GRAPH_BOUNDS,
  graphEventType,
  graphRecordId,
  isStateBasedHint,
  type GraphChangeRecord,
  type GraphReceiver,
  type GraphRecord,
} from '../../shared/domain/graph-notifications.js';
import { hashHookSecret } from '../../shared/domain/hook-secrets.js';
import { decideGraphChange } from '../../shared/domain/graph-deprovision.js';
import { fixture } from '../helpers/fixtures.js';

type FixtureConfig = {
  graph: {
    tenantId: string;
    clientState: string;
    subscriptions: Record<'users' | 'groups', { id: string; resource: string }>;
    configuredGroups: { id: string }[];
  };
};

type Notification = {
  subscriptionId: string;
  clientState?: string;
  tenantId: string;
  resource: string;
  changeType: string;
  resourceData: { id: string; organizationId?: string; eventTime?: string; 'members@delta'?: unknown[]; [field: string]: unknown };
  [field: string]: unknown;
};

type Lifecycle = { subscriptionId: string; clientState?: string; tenantId: string; lifecycleEvent: string; [field: string]: unknown };

const CONFIG = fixture<FixtureConfig>('fixture-config.json').graph;
const USERS_SUBSCRIPTION = CONFIG.subscriptions.users.id;
const GROUPS_SUBSCRIPTION = CONFIG.subscriptions.groups.id;
const FINANCE_GROUP = CONFIG.configuredGroups[0]!.id;
const PAYROLL_GROUP = CONFIG.configuredGroups[1]!.id;
const OTHER_TENANT = '00000000-0000-4000-8000-0000000e0001';
/** A subscription id no connection of these tests holds. */
const NOT_OURS = '00000000-0000-4000-8000-0000000e5999';

/** The first item of a fixture delivery, as a fresh copy to vary per test. */
function item<T>(name: string): T {
  const first = fixture<{ body: { value: T[] } }>(name).body.value[0];
  if (!first) throw new Error(`${name} has no notification`);
  return structuredClone(first);
}

const userDeleted = (): Notification => item<Notification>('graph-user-deleted.json');
const userUpdated = (): Notification => item<Notification>('graph-user-updated.json');
const memberRemoved = (): Notification => item<Notification>('graph-group-member-removed.json');

function receiver(groupsResource = CONFIG.subscriptions.groups.resource): GraphReceiver {
  const clientStateHashes = [hashHookSecret(CONFIG.clientState)];
  return {
    tenantId: CONFIG.tenantId,
    subscriptions: [
      { subscriptionId: USERS_SUBSCRIPTION, resource: CONFIG.subscriptions.users.resource, clientStateHashes },
      { subscriptionId: GROUPS_SUBSCRIPTION, resource: groupsResource, clientStateHashes },
    ],
  };
}

/** The same notification about another object (resource, @odata.id and resourceData.id agree). */
function about(notification: Notification, objectId: string): Notification {
  const [collection] = notification.resource.split('/');
  return {
    ...notification,
    resource: `${collection}/${objectId}`,
    resourceData: { ...notification.resourceData, id: objectId, '@odata.id': `${collection}/${objectId}` },
  };
}

function withDelta(delta: unknown[] | undefined): Notification {
  const notification = memberRemoved();
  if (delta === undefined) delete notification.resourceData['members@delta'];
  else notification.resourceData['members@delta'] = delta;
  return notification;
}

function onlyChangeRecord(items: unknown[]): GraphChangeRecord {
  const { records, rejected } = checkDelivery(items, 'change', receiver());
  expect(rejected).toEqual([]);
  expect(records).toHaveLength(1);
  const record = records[0]!;
  if (record.kind !== 'change') throw new Error(`expected a change record, got ${record.kind}`);
  return record;
}

describe('checkDelivery: the fixtures as Graph sends them', () => {
  it('keeps a permanent user delete as a users.deleted record with the object id and the event time', () => {
    const notification = userDeleted();
    expect(checkDelivery([notification], 'change', receiver())).toEqual({
      records: [
        {
          kind: 'change',
          subscriptionId: USERS_SUBSCRIPTION,
          changeType: 'deleted',
          resourceType: 'users',
          resourceId: notification.resourceData.id,
          eventTime: notification.resourceData.eventTime,
        },
      ],
      rejected: [],
    });
  });

  it('keeps a user update (a soft delete) as a users.updated record', () => {
    const record = onlyChangeRecord([userUpdated()]);
    expect(record).toMatchObject({ changeType: 'updated', resourceType: 'users', subscriptionId: USERS_SUBSCRIPTION });
    expect(record.eventTime).toBe('2025-03-11T14:16:07.0001234Z');
    expect(record).not.toHaveProperty('removedMembers');
  });

  it('keeps a group member removal with the removed member, and no event time when Graph sent none', () => {
    const record = onlyChangeRecord([memberRemoved()]);
    expect(record).toEqual({
      kind: 'change',
      subscriptionId: GROUPS_SUBSCRIPTION,
      changeType: 'updated',
      resourceType: 'groups',
      resourceId: FINANCE_GROUP,
      removedMembers: ['00000000-0000-4000-8000-0000000d1001'],
    });
    expect(record).not.toHaveProperty('eventTime');
  });

  it('lowercases the object id taken from "Users/{ID}" written in upper case', () => {
    const upper = '00000000-0000-4000-8000-0000000D1ABC';
    const record = onlyChangeRecord([about(userDeleted(), upper)]);
    expect(record.resourceId).toBe(upper.toLowerCase());
  });

  it('accepts a clientState matching the second hash during a rotation', () => {
    const next = 'dev-clientstate-1111111111111111';
    const rotating: GraphReceiver = {
      tenantId: CONFIG.tenantId,
      subscriptions: [{ subscriptionId: USERS_SUBSCRIPTION, resource: 'users', clientStateHashes: [hashHookSecret(CONFIG.clientState), hashHookSecret(next)] }],
    };
    const { records, rejected } = checkDelivery([{ ...userDeleted(), clientState: next }], 'change', rotating);
    expect(rejected).toEqual([]);
    expect(records).toHaveLength(1);
  });
});

describe('checkDelivery: rejections', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'Users/00000000-0000-4000-8000-0000000d1001'],
    ['an empty object', {}],
    ['no resourceData', (({ resourceData: _resourceData, ...rest }) => rest)(userDeleted())],
    ['no subscriptionId', (({ subscriptionId: _subscriptionId, ...rest }) => rest)(userDeleted())],
    ['no tenantId', (({ tenantId: _tenantId, ...rest }) => rest)(userDeleted())],
    ['an empty changeType', { ...userDeleted(), changeType: '' }],
    ['a numeric resourceData.id', { ...userDeleted(), resourceData: { ...userDeleted().resourceData, id: 42 } }],
    ['a clientState over 255 characters', { ...userDeleted(), clientState: 'x'.repeat(256) }],
    ['members@delta that is not an array', withDelta({ id: '00000000-0000-4000-8000-0000000d1001' } as unknown as unknown[])],
    ['a members@delta entry without an id', withDelta([{ '@removed': 'deleted' }])],
    ['a lifecycle notification sent to the change URL', item<Lifecycle>('graph-lifecycle-reauthorization.json')],
  ])('rejects an item that is %s as malformed', (_case, malformed) => {
    expect(checkDelivery([malformed], 'change', receiver())).toEqual({ records: [], rejected: [{ index: 0, reason: 'malformed' }] });
  });

  it('rejects a notification of a subscription this connection does not hold', () => {
    const foreign = { ...userDeleted(), subscriptionId: '00000000-0000-4000-8000-0000000d5999' };
    expect(checkDelivery([foreign], 'change', receiver())).toEqual({ records: [], rejected: [{ index: 0, reason: 'unknown subscription' }] });
  });

  it('rejects every notification when the connection holds no subscription', () => {
    const none: GraphReceiver = { tenantId: CONFIG.tenantId, subscriptions: [] };
    expect(checkDelivery([userDeleted()], 'change', none).rejected).toEqual([{ index: 0, reason: 'unknown subscription' }]);
  });

  it.each<[string, Partial<Notification>]>([
    ['a wrong clientState', { clientState: 'dev-clientstate-9999999999999999' }],
    ['the clientState in another case', { clientState: CONFIG.clientState.toUpperCase() }],
    ['the stored hash presented as the clientState', { clientState: hashHookSecret(CONFIG.clientState) }],
    ['an empty clientState', { clientState: '' }],
  ])('rejects %s as a clientState mismatch', (_case, changes) => {
    expect(checkDelivery([{ ...userDeleted(), ...changes }], 'change', receiver()).rejected).toEqual([{ index: 0, reason: 'clientState mismatch' }]);
  });

  it('rejects a notification without a clientState as a clientState mismatch', () => {
    const { clientState: _clientState, ...withoutClientState } = userDeleted();
    expect(checkDelivery([withoutClientState], 'change', receiver())).toEqual({ records: [], rejected: [{ index: 0, reason: 'clientState mismatch' }] });
  });

  it("checks the clientState against the notification's own subscription, not any subscription of the connection", () => {
    const split: GraphReceiver = {
      tenantId: CONFIG.tenantId,
      subscriptions: [
        { subscriptionId: USERS_SUBSCRIPTION, resource: 'users', clientStateHashes: [hashHookSecret('dev-clientstate-users-00000000')] },
        { subscriptionId: GROUPS_SUBSCRIPTION, resource: 'groups', clientStateHashes: [hashHookSecret(CONFIG.clientState)] },
      ],
    };
    expect(checkDelivery([userDeleted()], 'change', split).rejected).toEqual([{ index: 0, reason: 'clientState mismatch' }]);
    expect(checkDelivery([memberRemoved()], 'change', split).rejected).toEqual([]);
  });

  it('rejects a notification from another tenant', () => {
    const foreign = { ...userDeleted(), tenantId: OTHER_TENANT };
    expect(checkDelivery([foreign], 'change', receiver())).toEqual({ records: [], rejected: [{ index: 0, reason: 'wrong tenant' }] });
  });

  it('accepts the tenant id written in another case, in the notification or in the connection', () => {
    const upperInNotification = { ...userDeleted(), tenantId: CONFIG.tenantId.toUpperCase() };
    expect(checkDelivery([upperInNotification], 'change', receiver()).records).toHaveLength(1);
    const upperInConnection = { ...receiver(), tenantId: CONFIG.tenantId.toUpperCase() };
    expect(checkDelivery([userDeleted()], 'change', upperInConnection).records).toHaveLength(1);
  });

  it('rejects a notification whose resource and resourceData.id name different objects', () => {
    const notification = userDeleted();
    notification.resourceData.id = '00000000-0000-4000-8000-0000000d1002';
    expect(checkDelivery([notification], 'change', receiver())).toEqual({ records: [], rejected: [{ index: 0, reason: 'resource mismatch' }] });
  });

  it('accepts resource and resourceData.id that differ only in case', () => {
    const notification = userDeleted();
    notification.resourceData.id = notification.resourceData.id.toUpperCase();
    expect(checkDelivery([notification], 'change', receiver()).records).toHaveLength(1);
  });

  it("rejects a notification whose organizationId is another tenant's", () => {
    const notification = userDeleted();
    notification.resourceData.organizationId = OTHER_TENANT;
    expect(checkDelivery([notification], 'change', receiver()).rejected).toEqual([{ index: 0, reason: 'resource mismatch' }]);
  });

  it('accepts a notification without an organizationId, or with it in upper case', () => {
    const without = userDeleted();
    delete without.resourceData.organizationId;
    const upper = userDeleted();
    upper.resourceData.organizationId = CONFIG.tenantId.toUpperCase();
    expect(checkDelivery([without, upper], 'change', receiver()).rejected).toEqual([]);
  });

  it.each([
    ['a resource of another collection', 'Applications/00000000-0000-4000-8000-0000000d1001'],
    ['a resource that is not "<collection>/<object id>"', 'Users'],
    ['a resource with a path after the id', 'Users/00000000-0000-4000-8000-0000000d1001/manager'],
  ])('rejects %s as a resource mismatch', (_case, resource) => {
    expect(checkDelivery([{ ...userDeleted(), resource }], 'change', receiver()).rejected).toEqual([{ index: 0, reason: 'resource mismatch' }]);
  });

  it('rejects a users notification sent under a groups/<id> subscription', () => {
    const single = receiver(`groups/${FINANCE_GROUP}`);
    const userUnderGroups = { ...userDeleted(), subscriptionId: GROUPS_SUBSCRIPTION };
    expect(checkDelivery([userUnderGroups], 'change', single).rejected).toEqual([{ index: 0, reason: 'resource mismatch' }]);
  });

  it('rejects a group notification sent under the users subscription', () => {
    const groupUnderUsers = { ...memberRemoved(), subscriptionId: USERS_SUBSCRIPTION };
    expect(checkDelivery([groupUnderUsers], 'change', receiver()).rejected).toEqual([{ index: 0, reason: 'resource mismatch' }]);
  });

  it('under a groups/<id> subscription, accepts that group and rejects another group', () => {
    const single = receiver(`Groups/${FINANCE_GROUP.toUpperCase()}`);
    const { records, rejected } = checkDelivery([memberRemoved(), about(memberRemoved(), PAYROLL_GROUP)], 'change', single);
    expect(records.map((record) => record.kind === 'change' && record.resourceId)).toEqual([FINANCE_GROUP]);
    expect(rejected).toEqual([{ index: 1, reason: 'resource mismatch' }]);
  });

  it('under the "groups" subscription (all groups), accepts a notification about any group', () => {
    const { records, rejected } = checkDelivery([memberRemoved(), about(memberRemoved(), PAYROLL_GROUP)], 'change', receiver('groups'));
    expect(rejected).toEqual([]);
    expect(records.map((record) => record.kind === 'change' && record.resourceId)).toEqual([FINANCE_GROUP, PAYROLL_GROUP]);
  });

  it('gives the first failing check: an unknown subscription before a wrong clientState and tenant', () => {
    const everythingWrong = { ...userDeleted(), subscriptionId: NOT_OURS, clientState: 'wrong', tenantId: OTHER_TENANT };
    const wrongSecretAndTenant = { ...userDeleted(), clientState: 'wrong', tenantId: OTHER_TENANT };
    expect(checkDelivery([everythingWrong, wrongSecretAndTenant], 'change', receiver()).rejected).toEqual([
      { index: 0, reason: 'unknown subscription' },
      { index: 1, reason: 'clientState mismatch' },
    ]);
  });
});

describe('checkDelivery: a delivery with several items', () => {
  it('keeps only the verified items, in delivery order, and names each rejected one by its index', () => {
    const second = about(userDeleted(), '00000000-0000-4000-8000-0000000d1002');
    const items: unknown[] = [
      userUpdated(),
      { ...userDeleted(), clientState: 'stolen' },
      memberRemoved(),
      null,
      { ...userDeleted(), tenantId: OTHER_TENANT },
      second,
      { ...userDeleted(), subscriptionId: NOT_OURS },
    ];
    const { records, rejected } = checkDelivery(items, 'change', receiver());
    expect(records.map((record) => record.kind === 'change' && `${record.resourceType}.${record.changeType}/${record.resourceId}`)).toEqual([
      'users.updated/00000000-0000-4000-8000-0000000d1001',
      `groups.updated/${FINANCE_GROUP}`,
      'users.deleted/00000000-0000-4000-8000-0000000d1002',
    ]);
    expect(rejected).toEqual([
      { index: 1, reason: 'clientState mismatch' },
      { index: 3, reason: 'malformed' },
      { index: 4, reason: 'wrong tenant' },
      { index: 6, reason: 'unknown subscription' },
    ]);
  });

  it('returns nothing for an empty list', () => {
    expect(checkDelivery([], 'change', receiver())).toEqual({ records: [], rejected: [] });
  });
});

describe('checkDelivery: lifecycle notifications', () => {
  it.each([
    ['graph-lifecycle-reauthorization.json', 'reauthorizationRequired'],
    ['graph-lifecycle-subscription-removed.json', 'subscriptionRemoved'],
    ['graph-lifecycle-missed.json', 'missed'],
  ])('keeps %s as a lifecycle record of its subscription', (name, lifecycleEvent) => {
    const notification = item<Lifecycle>(name);
    expect(checkDelivery([notification], 'lifecycle', receiver())).toEqual({
      records: [{ kind: 'lifecycle', subscriptionId: notification.subscriptionId, lifecycleEvent }],
      rejected: [],
    });
  });

  it('applies the subscription, clientState and tenant checks to lifecycle notifications too', () => {
    const base = item<Lifecycle>('graph-lifecycle-reauthorization.json');
    const { clientState: _clientState, ...withoutClientState } = base;
    const items: unknown[] = [
      { ...base, subscriptionId: NOT_OURS },
      { ...base, clientState: 'wrong' },
      withoutClientState,
      { ...base, tenantId: OTHER_TENANT },
      { ...base, tenantId: base.tenantId.toUpperCase() },
      (({ lifecycleEvent: _event, ...rest }) => rest)(base),
    ];
    const { records, rejected } = checkDelivery(items, 'lifecycle', receiver());
    expect(records).toEqual([{ kind: 'lifecycle', subscriptionId: base.subscriptionId, lifecycleEvent: 'reauthorizationRequired' }]);
    expect(rejected).toEqual([
      { index: 0, reason: 'unknown subscription' },
      { index: 1, reason: 'clientState mismatch' },
      { index: 2, reason: 'clientState mismatch' },
      { index: 3, reason: 'wrong tenant' },
      { index: 5, reason: 'malformed' },
    ]);
  });

  it('rejects a change notification sent to the lifecycle URL as malformed', () => {
    expect(checkDelivery([userDeleted()], 'lifecycle', receiver()).rejected).toEqual([{ index: 0, reason: 'malformed' }]);
  });
});

describe('checkDelivery: members@delta', () => {
  const ALEX = '00000000-0000-4000-8000-0000000d1001';
  const BLAIR = '00000000-0000-4000-8000-0000000d1002';
  const CASEY = '00000000-0000-4000-8000-0000000d1003';

  it('lists as removed only the entries marked @removed, as a string or as a {reason} object', () => {
    const record = onlyChangeRecord([
      withDelta([{ id: CASEY, '@removed': { reason: 'deleted' } }, { id: BLAIR }, { id: ALEX, '@removed': 'deleted' }]),
    ]);
    expect(record.removedMembers).toEqual([ALEX, CASEY]);
  });

  it('lowercases, dedupes and sorts the removed members', () => {
    const record = onlyChangeRecord([
      withDelta([
        { id: CASEY.toUpperCase(), '@removed': 'deleted' },
        { id: ALEX, '@removed': 'deleted' },
        { id: CASEY, '@removed': { reason: 'changed' } },
        { id: ALEX.toUpperCase(), '@removed': 'deleted' },
      ]),
    ]);
    expect(record.removedMembers).toEqual([ALEX, CASEY]);
  });

  it('treats an explicit "@removed": null as not removed', () => {
    const record = onlyChangeRecord([withDelta([{ id: ALEX, '@removed': null }, { id: BLAIR, '@removed': 'deleted' }])]);
    expect(record.removedMembers).toEqual([BLAIR]);
  });

  it('gives an empty removedMembers list for a delta of additions only', () => {
    const record = onlyChangeRecord([withDelta([{ id: ALEX }, { id: BLAIR }])]);
    expect(record.removedMembers).toEqual([]);
  });

  it('has no removedMembers key when Graph sent no members@delta', () => {
    const record = onlyChangeRecord([withDelta(undefined)]);
    expect(record).not.toHaveProperty('removedMembers');
    expect(Object.keys(record)).not.toContain('removedMembers');
  });

  it('has no removedMembers key on a user notification', () => {
    expect(Object.keys(onlyChangeRecord([userUpdated()]))).not.toContain('removedMembers');
  });
});

describe('graphRecordId', () => {
  const record: GraphChangeRecord = {
    kind: 'change',
    subscriptionId: USERS_SUBSCRIPTION,
    changeType: 'updated',
    resourceType: 'users',
    resourceId: '00000000-0000-4000-8000-0000000d1001',
    eventTime: '2025-03-11T14:16:07.0001234Z',
  };
  const morning = new Date('2025-03-11T00:00:01.000Z');
  const evening = new Date('2025-03-11T23:59:59.999Z');
  const nextDay = new Date('2025-03-12T00:00:00.000Z');

  it('gives a resend of the same record on the same UTC day the same id', () => {
    expect(graphRecordId(structuredClone(record), evening)).toBe(graphRecordId(record, morning));
  });

  it('gives the same record received on another UTC day another id', () => {
    expect(graphRecordId(record, nextDay)).not.toBe(graphRecordId(record, evening));
  });

  it('is the same for the records checkDelivery builds from two copies of one notification', () => {
    const [first] = checkDelivery([userUpdated()], 'change', receiver()).records;
    const [second] = checkDelivery([userUpdated()], 'change', receiver()).records;
    expect(graphRecordId(second!, evening)).toBe(graphRecordId(first!, morning));
  });

  it.each<[string, Partial<GraphChangeRecord>]>([
    ['subscriptionId', { subscriptionId: USERS_SUBSCRIPTION.replace('5001', '5003') }],
    ['changeType', { changeType: 'deleted' }],
    ['resourceType', { resourceType: 'groups' }],
    ['resourceId', { resourceId: '00000000-0000-4000-8000-0000000d1002' }],
    ['eventTime', { eventTime: '2025-03-11T14:16:08.0001234Z' }],
    ['removedMembers (added)', { removedMembers: [] }],
  ])('changes when %s changes', (_field, changes) => {
    expect(graphRecordId({ ...record, ...changes }, morning)).not.toBe(graphRecordId(record, morning));
  });

  it('changes when the removed members differ', () => {
    const group: GraphChangeRecord = { ...record, resourceType: 'groups', removedMembers: ['00000000-0000-4000-8000-0000000d1001'] };
    expect(graphRecordId({ ...group, removedMembers: ['00000000-0000-4000-8000-0000000d1002'] }, morning)).not.toBe(graphRecordId(group, morning));
  });

  it('changes when eventTime is dropped', () => {
    const { eventTime: _eventTime, ...withoutEventTime } = record;
    expect(graphRecordId(withoutEventTime, morning)).not.toBe(graphRecordId(record, morning));
  });

  it('tells lifecycle events of one subscription apart', () => {
    const reauthorize: GraphRecord = { kind: 'lifecycle', subscriptionId: USERS_SUBSCRIPTION, lifecycleEvent: 'reauthorizationRequired' };
    const missed: GraphRecord = { ...reauthorize, lifecycleEvent: 'missed' };
    expect(graphRecordId(missed, morning)).not.toBe(graphRecordId(reauthorize, morning));
  });

  it('is 40 lowercase hex characters', () => {
    expect(graphRecordId(record, morning)).toMatch(/^[0-9a-f]{40}$/);
  });

  const objectId = fc.uuid().map((id) => id.toLowerCase());
  const changeRecord: fc.Arbitrary<GraphChangeRecord> = fc.record(
    {
      kind: fc.constant('change' as const),
      subscriptionId: fc.uuid(),
      changeType: fc.constantFrom('updated', 'deleted'),
      resourceType: fc.constantFrom('users' as const, 'groups' as const),
      resourceId: objectId,
      removedMembers: fc.uniqueArray(objectId, { maxLength: 4 }).map((ids) => ids.sort()),
      eventTime: fc.date({ noInvalidDate: true, min: new Date('2020-01-01'), max: new Date('2030-01-01') }).map((date) => date.toISOString()),
    },
    { requiredKeys: ['kind', 'subscriptionId', 'changeType', 'resourceType', 'resourceId'] },
  );
  const lifecycleRecord: fc.Arbitrary<GraphRecord> = fc.record({
    kind: fc.constant('lifecycle' as const),
    subscriptionId: fc.uuid(),
    lifecycleEvent: fc.constantFrom('reauthorizationRequired', 'subscriptionRemoved', 'missed'),
  });
  const anyRecord = fc.oneof(changeRecord, lifecycleRecord);
  const receivedAt = fc.date({ noInvalidDate: true, min: new Date('2020-01-01'), max: new Date('2030-01-01') });

  /** The same fields, inserted in the order given by `order` (a permutation source). */
  function reordered(source: GraphRecord, order: number[]): GraphRecord {
    const entries = Object.entries(source);
    const shuffled = entries.map((entry, index) => ({ entry, rank: order[index % order.length] ?? 0, index }));
    shuffled.sort((a, b) => a.rank - b.rank || b.index - a.index);
    return Object.fromEntries(shuffled.map(({ entry }) => entry)) as GraphRecord;
  }

  it('does not depend on the key order of the record object', () => {
    fc.assert(
      fc.property(anyRecord, fc.array(fc.integer(), { minLength: 1, maxLength: 8 }), receivedAt, (source, order, at) => {
        const other = reordered(source, order);
        expect(other).toEqual(source);
        expect(graphRecordId(other, at)).toBe(graphRecordId(source, at));
      }),
    );
  });

  it('the key-order property is not vacuous: a reversed record really has another key order', () => {
    const reversed = Object.fromEntries(Object.entries(record).reverse()) as GraphRecord;
    expect(Object.keys(reversed)).not.toEqual(Object.keys(record));
    expect(graphRecordId(reversed, morning)).toBe(graphRecordId(record, morning));
  });

  it('gives distinct records distinct ids on the same day', () => {
    fc.assert(
      fc.property(anyRecord, anyRecord, receivedAt, (a, b, at) => {
        fc.pre(JSON.stringify(Object.entries(a).sort()) !== JSON.stringify(Object.entries(b).sort()));
        expect(graphRecordId(a, at)).not.toBe(graphRecordId(b, at));
      }),
    );
  });

  it('gives records that differ only in resourceId distinct ids', () => {
    fc.assert(
      fc.property(changeRecord, objectId, receivedAt, (source, resourceId, at) => {
        fc.pre(resourceId !== source.resourceId);
        expect(graphRecordId({ ...source, resourceId }, at)).not.toBe(graphRecordId(source, at));
      }),
    );
  });
});

describe('graphEventType', () => {
  it('names a change record "<collection>.<changeType>"', () => {
    const [deleted] = checkDelivery([userDeleted()], 'change', receiver()).records;
    const [groupUpdated] = checkDelivery([memberRemoved()], 'change', receiver()).records;
    expect(graphEventType(deleted!)).toBe('users.deleted');
    expect(graphEventType(groupUpdated!)).toBe('groups.updated');
  });

  it('names a lifecycle record "lifecycle.<event>"', () => {
    const [missed] = checkDelivery([item<Lifecycle>('graph-lifecycle-missed.json')], 'lifecycle', receiver()).records;
    expect(graphEventType(missed!)).toBe('lifecycle.missed');
    expect(graphEventType({ kind: 'lifecycle', subscriptionId: USERS_SUBSCRIPTION, lifecycleEvent: 'reauthorizationRequired' })).toBe(
      'lifecycle.reauthorizationRequired',
    );
  });
});

describe('isStateBasedHint', () => {
  const change = (changes: Partial<GraphChangeRecord>): GraphChangeRecord => ({
    kind: 'change',
    subscriptionId: 's',
    changeType: 'updated',
    resourceType: 'users',
    resourceId: '00000000-0000-4000-8000-0000000d1001',
    ...changes,
  });

  it('is true for what processing checks with Graph: user and group updates (with or without members@delta), lifecycle events', () => {
    expect(isStateBasedHint(change({}))).toBe(true);
    expect(isStateBasedHint(change({ resourceType: 'groups' }))).toBe(true);
    expect(isStateBasedHint(change({ resourceType: 'groups', removedMembers: ['00000000-0000-4000-8000-0000000d1002'] }))).toBe(true);
    expect(isStateBasedHint({ kind: 'lifecycle', subscriptionId: 's', lifecycleEvent: 'missed' })).toBe(true);
  });

  it('is false for deletions, which are final', () => {
    expect(isStateBasedHint(change({ changeType: 'deleted' }))).toBe(false);
    expect(isStateBasedHint(change({ resourceType: 'groups', changeType: 'deleted' }))).toBe(false);
  });
});

describe('checkDelivery: bounds', () => {
  const guidOf = (index: number) => `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;

  it.each([
    ['a subscriptionId that is not a GUID', { ...userDeleted(), subscriptionId: 'not-a-guid' }],
    ['a tenantId that is not a GUID', { ...userDeleted(), tenantId: 'contoso.onmicrosoft.com' }],
    ['a resourceData.id that is not a GUID', about(userDeleted(), 'x'.repeat(36))],
    ['an organizationId that is not a GUID', { ...userDeleted(), resourceData: { ...userDeleted().resourceData, organizationId: 'o'.repeat(10_000) } }],
    ['a changeType over 64 characters', { ...userDeleted(), changeType: 'd'.repeat(65) }],
    ['a resource over 512 characters', { ...userDeleted(), resource: `users/${'a'.repeat(600)}` }],
    ['a clientState over 255 characters', { ...userDeleted(), clientState: 'c'.repeat(256) }],
  ])('rejects %s as malformed', (_, notification) => {
    expect(checkDelivery([notification], 'change', receiver())).toEqual({ records: [], rejected: [{ index: 0, reason: 'malformed' }] });
  });

  it('rejects a lifecycle event name over 64 characters as malformed', () => {
    const lifecycle = { ...item<Lifecycle>('graph-lifecycle-missed.json'), lifecycleEvent: 'm'.repeat(65) };
    expect(checkDelivery([lifecycle], 'lifecycle', receiver()).rejected).toEqual([{ index: 0, reason: 'malformed' }]);
  });

  it(`keeps up to ${GRAPH_BOUNDS.removedMembers} removed members`, () => {
    const delta = Array.from({ length: GRAPH_BOUNDS.removedMembers }, (_, index) => ({ id: guidOf(index), '@removed': 'deleted' }));
    expect(onlyChangeRecord([withDelta(delta)]).removedMembers).toHaveLength(GRAPH_BOUNDS.removedMembers);
  });

  it('keeps a group change whose delta removes more members than that, without the list: the whole group is then checked', () => {
    const delta = Array.from({ length: GRAPH_BOUNDS.removedMembers + 1 }, (_, index) => ({ id: guidOf(index), '@removed': 'deleted' }));
    const record = onlyChangeRecord([withDelta(delta)]);
    expect(record).not.toHaveProperty('removedMembers');
    expect(decideGraphChange(record)).toEqual({ kind: 'checkGroup', groupId: record.resourceId });
  });

  it('keeps a group change whose delta names a member id that is not a GUID, without the list', () => {
    const record = onlyChangeRecord([withDelta([{ id: guidOf(1), '@removed': 'deleted' }, { id: 'm'.repeat(10_000), '@removed': 'deleted' }])]);
    expect(record).not.toHaveProperty('removedMembers');
  });
});
