/**
 * Okta System Log events in, decisions out: which events act, which are skipped, and which are
 * refused as invalid, with the delivery schema checked against Okta's real wire format.
 */
import { describe, expect, it } from 'vitest';
import {
  decideOktaEvent,
  OKTA_GROUP_REMOVED,
  OKTA_USER_DEACTIVATED,
  OKTA_BOUNDS,
  OKTA_USER_DELETE_INITIATED,
  OKTA_USER_SUSPENDED,
  OKTA_USER_UNSUSPENDED,
  OKTA_USER_ACTIVATED,
  OKTA_USER_REACTIVATED,
  oktaDeliverySchema,
  toOktaEventRecord,
  type OktaEventRecord,
  type OktaTarget,
} from '../../shared/domain/okta-events.js';
import { fixture } from '../helpers/fixtures.js';
import { DEFAULT_OKTA_EVENT_TYPES } from '../../shared/config.js';

type DeliveryFixture = { method: string; headers: Record<string, string>; body: Record<string, unknown> };
const deliveryFixture = (name: string): DeliveryFixture => fixture<DeliveryFixture>(name);

const ACTED_ON: ReadonlySet<string> = new Set([OKTA_GROUP_REMOVED, OKTA_USER_DEACTIVATED, OKTA_USER_DELETE_INITIATED, OKTA_USER_SUSPENDED]);

const userTarget = (alternateId: string | null = 'Alex.Doe@Example.COM'): OktaTarget => ({
  type: 'User',
  id: '00u0000000000000DEV1',
  alternateId,
  displayName: 'Alex Doe',
});

const groupTarget = (displayName: string | null = 'Finance-Approvers'): OktaTarget => ({
  type: 'UserGroup',
  id: '00g0000000000000DEV1',
  alternateId: 'unknown',
  displayName,
});

function eventRecord(changes: Partial<OktaEventRecord> = {}): OktaEventRecord {
  return {
    eventId: '00001001-0000-11f0-8000-0000000000d1',
    eventType: OKTA_GROUP_REMOVED,
    published: '2025-03-11T14:02:07.417Z',
    outcomeResult: 'SUCCESS',
    targets: [userTarget(), groupTarget()],
    ...changes,
  };
}

describe('decideOktaEvent: group removal', () => {
  it("carries the User target's Okta id only when the event has one", () => {
    const record = eventRecord();
    const withoutId = { ...record, targets: record.targets.map((target) => (target.type === 'User' ? { ...target, id: null } : target)) };
    const decision = decideOktaEvent(withoutId, ACTED_ON);
    expect(decision.action === 'deprovision' && 'oktaUserId' in decision.intent).toBe(false);
  });


  it('turns a successful group removal into an intent with the lowercased email and the group name', () => {
    expect(decideOktaEvent(eventRecord(), ACTED_ON)).toEqual({
      action: 'deprovision',
      intent: {
        kind: 'groupRemoval',
        email: 'alex.doe@example.com',
        group: 'Finance-Approvers',
        occurredAt: '2025-03-11T14:02:07.417Z',
        reason: 'removed from IdP group "Finance-Approvers"',
        oktaUserId: '00u0000000000000DEV1',
      },
    });
  });

  it('trims the login before lowercasing it', () => {
    const decision = decideOktaEvent(eventRecord({ targets: [userTarget('  Alex.Doe@Example.com '), groupTarget()] }), ACTED_ON);
    expect(decision).toMatchObject({ action: 'deprovision', intent: { email: 'alex.doe@example.com' } });
  });

  it('picks the targets by type whatever their order', () => {
    const userFirst = decideOktaEvent(eventRecord({ targets: [userTarget(), groupTarget()] }), ACTED_ON);
    const groupFirst = decideOktaEvent(eventRecord({ targets: [groupTarget(), userTarget()] }), ACTED_ON);
    expect(groupFirst).toEqual(userFirst);
    expect(groupFirst).toMatchObject({ action: 'deprovision', intent: { email: 'alex.doe@example.com', group: 'Finance-Approvers' } });
  });

  it('ignores targets of other types beside the User and the UserGroup', () => {
    const app: OktaTarget = { type: 'AppInstance', id: '0oa0000000000000DEVX', alternateId: 'x@example.com', displayName: 'Dashboard' };
    const decision = decideOktaEvent(eventRecord({ targets: [app, groupTarget(), userTarget()] }), ACTED_ON);
    expect(decision).toMatchObject({ action: 'deprovision', intent: { kind: 'groupRemoval', email: 'alex.doe@example.com' } });
  });
});

describe('decideOktaEvent: skipped events', () => {
  it('skips a FAILURE outcome, naming it', () => {
    const decision = decideOktaEvent(eventRecord({ outcomeResult: 'FAILURE' }), ACTED_ON);
    expect(decision.action).toBe('skip');
    expect(decision).toMatchObject({ reason: expect.stringContaining('FAILURE') });
  });

  it('skips an event without an outcome rather than treating it as a success', () => {
    const decision = decideOktaEvent(eventRecord({ outcomeResult: null }), ACTED_ON);
    expect(decision).toEqual({ action: 'skip', reason: 'outcome is missing, not SUCCESS' });
  });

  it('skips an event type outside the acted-on set, even a deprovisioning one', () => {
    const onlyDeactivate = new Set([OKTA_USER_DEACTIVATED]);
    expect(decideOktaEvent(eventRecord(), onlyDeactivate)).toEqual({
      action: 'skip',
      reason: `event type ${OKTA_GROUP_REMOVED} is not acted on`,
    });
  });

  it('skips an unrelated event type such as a membership add', () => {
    const decision = decideOktaEvent(eventRecord({ eventType: 'group.user_membership.add' }), ACTED_ON);
    expect(decision.action).toBe('skip');
  });

  it('skips an acted-on type that has no deprovisioning rule instead of acting on it', () => {
    const types = new Set([...ACTED_ON, 'user.session.start']);
    const decision = decideOktaEvent(eventRecord({ eventType: 'user.session.start', targets: [userTarget()] }), types);
    expect(decision).toEqual({ action: 'skip', reason: 'no deprovisioning rule for event type user.session.start' });
  });
});

describe('decideOktaEvent: invalid events', () => {
  it('refuses an event without a User target', () => {
    expect(decideOktaEvent(eventRecord({ targets: [groupTarget()] }), ACTED_ON)).toEqual({
      action: 'invalid',
      reason: 'expected exactly one User target, found 0',
    });
  });

  it('refuses an event without any targets', () => {
    expect(decideOktaEvent(eventRecord({ targets: [] }), ACTED_ON)).toMatchObject({ action: 'invalid' });
  });

  it('refuses an event with two User targets rather than guessing which one was removed', () => {
    const second = { ...userTarget('riley.chen@example.com'), id: '00u0000000000000DEV2' };
    expect(decideOktaEvent(eventRecord({ targets: [userTarget(), second, groupTarget()] }), ACTED_ON)).toEqual({
      action: 'invalid',
      reason: 'expected exactly one User target, found 2',
    });
  });

  it.each([
    ['a missing alternateId', null],
    ['an empty alternateId', ''],
    ['a blank alternateId', '   '],
    ['a login that is not an email', '00u0000000000000DEV1'],
  ])('refuses a User target with %s', (_case, alternateId) => {
    expect(decideOktaEvent(eventRecord({ targets: [userTarget(alternateId), groupTarget()] }), ACTED_ON)).toEqual({
      action: 'invalid',
      reason: 'the User target has no email login (alternateId)',
    });
  });

  it('refuses a group removal without a UserGroup target', () => {
    expect(decideOktaEvent(eventRecord({ targets: [userTarget()] }), ACTED_ON)).toEqual({
      action: 'invalid',
      reason: 'expected exactly one UserGroup target, found 0',
    });
  });

  it('refuses a group removal with two UserGroup targets', () => {
    const decision = decideOktaEvent(eventRecord({ targets: [userTarget(), groupTarget('A'), groupTarget('B')] }), ACTED_ON);
    expect(decision).toEqual({ action: 'invalid', reason: 'expected exactly one UserGroup target, found 2' });
  });

  it.each([
    ['no displayName', null],
    ['an empty displayName', ''],
    ['a blank displayName', '  '],
  ])('refuses a UserGroup target with %s', (_case, displayName) => {
    expect(decideOktaEvent(eventRecord({ targets: [userTarget(), groupTarget(displayName)] }), ACTED_ON)).toEqual({
      action: 'invalid',
      reason: 'the UserGroup target has no displayName',
    });
  });
});

describe('decideOktaEvent: user lifecycle', () => {
  it.each([
    [OKTA_USER_DEACTIVATED, 'deactivated', 'IdP user deactivated'],
    [OKTA_USER_DELETE_INITIATED, 'deleted', 'IdP user deleted'],
    [OKTA_USER_SUSPENDED, 'suspended', 'IdP user suspended'],
  ])('turns %s into a userDeprovisioned intent with its cause and reason', (eventType, cause, reason) => {
    const decision = decideOktaEvent(eventRecord({ eventType, targets: [userTarget()] }), ACTED_ON);
    expect(decision).toEqual({
      action: 'deprovision',
      intent: { kind: 'userDeprovisioned', cause, email: 'alex.doe@example.com', occurredAt: '2025-03-11T14:02:07.417Z', reason },
    });
  });

  it('acts by default on a suspension and on the person becoming active again (DEFAULT_OKTA_EVENT_TYPES lists them)', () => {
    expect(DEFAULT_OKTA_EVENT_TYPES).toEqual(expect.arrayContaining([OKTA_USER_SUSPENDED, OKTA_USER_UNSUSPENDED, OKTA_USER_ACTIVATED, OKTA_USER_REACTIVATED]));
  });

  it.each([
    [OKTA_USER_ACTIVATED, 'IdP user activated'],
    [OKTA_USER_REACTIVATED, 'IdP user reactivated'],
    [OKTA_USER_UNSUSPENDED, 'IdP user unsuspended'],
  ])('turns %s into a userReinstated intent (recorded, it gives nothing back by itself)', (eventType, reason) => {
    const decision = decideOktaEvent(eventRecord({ eventType, targets: [userTarget()] }), new Set([...ACTED_ON, eventType]));
    expect(decision).toEqual({ action: 'reinstate', intent: { kind: 'userReinstated', email: 'alex.doe@example.com', occurredAt: '2025-03-11T14:02:07.417Z', reason } });
  });

  it('does not require a UserGroup target for a deactivation', () => {
    const decision = decideOktaEvent(eventRecord({ eventType: OKTA_USER_DEACTIVATED, targets: [userTarget()] }), ACTED_ON);
    expect(decision.action).toBe('deprovision');
  });

  it('still refuses a deactivation without a User target', () => {
    const decision = decideOktaEvent(eventRecord({ eventType: OKTA_USER_DEACTIVATED, targets: [groupTarget()] }), ACTED_ON);
    expect(decision).toMatchObject({ action: 'invalid', reason: expect.stringContaining('User target') });
  });
});

/** When the test events arrive: after every published time the fixtures carry. */
const ARRIVAL = new Date('2026-01-01T00:00:00.000Z');

describe('toOktaEventRecord', () => {
  it('keeps the uuid, type, time, outcome and targets of a LogEvent', () => {
    const event = {
      uuid: 'u-1',
      published: '2025-03-11T14:02:07.417Z',
      eventType: OKTA_GROUP_REMOVED,
      outcome: { result: 'SUCCESS' },
      target: [{ id: '00u1', type: 'User', alternateId: 'a@example.com', displayName: 'A' }],
    };
    expect(toOktaEventRecord(event, ARRIVAL)).toEqual({
      eventId: 'u-1',
      eventType: OKTA_GROUP_REMOVED,
      published: '2025-03-11T14:02:07.417Z',
      outcomeResult: 'SUCCESS',
      targets: [{ type: 'User', id: '00u1', alternateId: 'a@example.com', displayName: 'A' }],
    });
  });

  it('turns missing outcome, targets and target fields into nulls and an empty list', () => {
    expect(toOktaEventRecord({ uuid: 'u-2', published: '2025-03-11T14:02:07Z', eventType: 'x' }, ARRIVAL)).toMatchObject({
      outcomeResult: null,
      targets: [],
    });
    const record = toOktaEventRecord({
      uuid: 'u-3',
      published: '2025-03-11T14:02:07Z',
      eventType: 'x',
      outcome: null,
      target: [{ type: 'User' }],
    }, ARRIVAL);
    expect(record.outcomeResult).toBeNull();
    expect(record.targets).toEqual([{ type: 'User', id: null, alternateId: null, displayName: null }]);
  });

  it('normalises the published time to UTC ISO 8601 with milliseconds', () => {
    const record = toOktaEventRecord({ uuid: 'u-4', published: '2025-03-11T16:02:07+02:00', eventType: 'x' }, ARRIVAL);
    expect(record.published).toBe('2025-03-11T14:02:07.000Z');
  });

  it('decides the real group-removal fixture into the removal of alex.doe from Finance-Approvers', () => {
    const delivery = oktaDeliverySchema.parse(deliveryFixture('okta-group-membership-remove.json').body);
    const [event] = delivery.data.events;
    if (!event) throw new Error('fixture has no event');
    expect(decideOktaEvent(toOktaEventRecord(event, ARRIVAL), ACTED_ON)).toEqual({
      action: 'deprovision',
      intent: {
        kind: 'groupRemoval',
        email: 'alex.doe@example.com',
        group: 'Finance-Approvers',
        occurredAt: '2025-03-11T14:02:07.417Z',
        reason: 'removed from IdP group "Finance-Approvers"',
        oktaUserId: '00u0000000000000DEV1',
      },
    });
  });

  it('decides the real batch fixture event by event', () => {
    const delivery = oktaDeliverySchema.parse(deliveryFixture('okta-batch.json').body);
    const decisions = delivery.data.events.map((event) => decideOktaEvent(toOktaEventRecord(event, ARRIVAL), ACTED_ON));
    expect(decisions.map((decision) => decision.action)).toEqual(['skip', 'deprovision', 'skip', 'deprovision']);
    expect(decisions[1]).toMatchObject({ intent: { kind: 'groupRemoval', email: 'riley.chen@example.com', group: 'Payroll-Admins' } });
    expect(decisions[3]).toMatchObject({ intent: { kind: 'userDeprovisioned', email: 'riley.chen@example.com' } });
  });
});

describe('oktaDeliverySchema', () => {
  it.each([
    ['okta-group-membership-remove.json', 1],
    ['okta-user-deactivate.json', 1],
    ['okta-user-delete.json', 1],
    ['okta-batch.json', 4],
  ])('accepts the real delivery %s', (name, eventCount) => {
    const parsed = oktaDeliverySchema.safeParse(deliveryFixture(name).body);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.data.events).toHaveLength(eventCount);
  });

  it('keeps only the fields it names: no IP addresses, user agents or geography survive', () => {
    const fixtureBody = deliveryFixture('okta-user-deactivate.json').body;
    expect(JSON.stringify(fixtureBody)).toContain('ipAddress');
    const parsed = oktaDeliverySchema.parse(fixtureBody);
    const serialised = JSON.stringify(parsed);
    for (const leaked of ['ipAddress', '192.0.2.10', 'userAgent', 'geographicalContext', 'actor', 'okta.admin@example.com']) {
      expect(serialised).not.toContain(leaked);
    }
    expect(Object.keys(parsed).sort()).toEqual(['data', 'eventId', 'eventType']);
    expect(Object.keys(parsed.data.events[0] ?? {}).sort()).toEqual(['eventType', 'outcome', 'published', 'target', 'uuid']);
    expect(parsed.data.events[0]?.outcome).toEqual({ result: 'SUCCESS' });
    expect(parsed.data.events[0]?.target?.[0]).toEqual({
      id: '00u0000000000000DEV2',
      type: 'User',
      alternateId: 'riley.chen@example.com',
      displayName: 'Riley Chen',
    });
  });

  function groupRemovalBody(): { eventType: unknown; data: { events: Record<string, unknown>[] } } {
    return structuredClone(deliveryFixture('okta-group-membership-remove.json').body) as never;
  }

  it('rejects an envelope whose eventType is not com.okta.event_hook', () => {
    const body = groupRemovalBody();
    body.eventType = 'com.okta.inline_hook';
    expect(oktaDeliverySchema.safeParse(body).success).toBe(false);
  });

  it('rejects a LogEvent without a uuid', () => {
    const body = groupRemovalBody();
    delete body.data.events[0]!.uuid;
    const parsed = oktaDeliverySchema.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain('data.events.0.uuid');
  });

  it('rejects a LogEvent with an empty uuid', () => {
    const body = groupRemovalBody();
    body.data.events[0]!.uuid = '';
    expect(oktaDeliverySchema.safeParse(body).success).toBe(false);
  });

  it.each(['yesterday', '2025-03-11', '2025-13-11T14:02:07.417Z', '', 1741701727417])(
    'rejects a LogEvent whose published is %j',
    (published) => {
      const body = groupRemovalBody();
      body.data.events[0]!.published = published;
      const parsed = oktaDeliverySchema.safeParse(body);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.map((issue) => issue.path.join('.'))).toContain('data.events.0.published');
    },
  );

  it('accepts a published time with an offset', () => {
    const body = groupRemovalBody();
    body.data.events[0]!.published = '2025-03-11T16:02:07.417+02:00';
    expect(oktaDeliverySchema.safeParse(body).success).toBe(true);
  });

  it('rejects a delivery without data.events', () => {
    expect(oktaDeliverySchema.safeParse({ eventType: 'com.okta.event_hook', data: {} }).success).toBe(false);
  });
});

describe('toOktaEventRecord: the time is capped at arrival', () => {
  const removalAt = (published: string) => ({
    uuid: 'u-cap',
    published,
    eventType: OKTA_GROUP_REMOVED,
    outcome: { result: 'SUCCESS' },
    target: [
      { type: 'User', alternateId: 'a@example.com' },
      { type: 'UserGroup', displayName: 'Finance-Approvers' },
    ],
  });

  it('takes the arrival time for an event published in the future, and keeps what Okta sent beside it', () => {
    const record = toOktaEventRecord(removalAt('2099-01-01T00:00:00Z'), ARRIVAL);
    expect(record.published).toBe(ARRIVAL.toISOString());
    expect(record.publishedAsSent).toBe('2099-01-01T00:00:00.000Z');
    expect(decideOktaEvent(record, ACTED_ON)).toMatchObject({ intent: { occurredAt: ARRIVAL.toISOString() } });
  });

  it('keeps a time at or before arrival as it is, with no publishedAsSent', () => {
    expect(toOktaEventRecord(removalAt(ARRIVAL.toISOString()), ARRIVAL)).not.toHaveProperty('publishedAsSent');
    const earlier = toOktaEventRecord(removalAt('2025-12-31T23:59:59.000Z'), ARRIVAL);
    expect(earlier).toMatchObject({ published: '2025-12-31T23:59:59.000Z' });
    expect(earlier).not.toHaveProperty('publishedAsSent');
  });
});

describe('toOktaEventRecord: every stored field is bounded', () => {
  const removal = (target: Record<string, unknown>[], changes: Record<string, unknown> = {}) => ({
    uuid: 'u-bounds',
    published: '2025-03-11T14:02:07Z',
    eventType: OKTA_GROUP_REMOVED,
    outcome: { result: 'SUCCESS' },
    target,
    ...changes,
  });
  const user = { type: 'User', id: '00u0000000000000DEV1', alternateId: 'a@example.com', displayName: 'A' };
  const group = { type: 'UserGroup', id: '00g0000000000000DEV1', alternateId: 'unknown', displayName: 'Finance-Approvers' };

  it('keeps an event within every bound as it is, without a reason', () => {
    const longest = { ...group, displayName: 'g'.repeat(OKTA_BOUNDS.displayNameLength) };
    const record = toOktaEventRecord(removal([{ ...user, alternateId: `${'a'.repeat(242)}@example.com` }, longest]), ARRIVAL);
    expect(record).not.toHaveProperty('invalidReason');
    expect(decideOktaEvent(record, ACTED_ON).action).toBe('deprovision');
  });

  it('marks a 50 KB group name invalid, naming the field and the bound, and does not keep the name', () => {
    const record = toOktaEventRecord(removal([user, { ...group, displayName: 'G'.repeat(50_000) }]), ARRIVAL);
    expect(record.invalidReason).toBe('over a bound: target[1].displayName: Too big: expected string to have <=255 characters');
    expect(record.targets[1]).toEqual({ ...group, displayName: null });
    expect(JSON.stringify(record).length).toBeLessThan(1_000);
    expect(decideOktaEvent(record, ACTED_ON)).toEqual({ action: 'invalid', reason: record.invalidReason });
  });

  it('marks a 10 KB alternateId invalid and keeps the rest of the user target', () => {
    const record = toOktaEventRecord(removal([{ ...user, alternateId: `${'a'.repeat(10_000)}@example.com` }, group]), ARRIVAL);
    expect(record.invalidReason).toMatch(/^over a bound: target\[0\]\.alternateId: .*<=254 characters$/);
    expect(record.targets[0]).toEqual({ ...user, alternateId: null });
  });

  it('keys an event whose uuid is over its bound by a hash of it, so a redelivery is still the same event', () => {
    const uuid = 'u'.repeat(10_000);
    const record = toOktaEventRecord(removal([user, group], { uuid }), ARRIVAL);
    expect(record.eventId).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(toOktaEventRecord(removal([user, group], { uuid }), ARRIVAL).eventId).toBe(record.eventId);
    expect(record.invalidReason).toMatch(/^over a bound: uuid: .*<=128 characters$/);
  });

  it('keeps at most 50 targets, and ids, types and outcomes within their bounds', () => {
    const many = toOktaEventRecord(removal(Array.from({ length: 60 }, () => group)), ARRIVAL);
    expect(many.targets).toHaveLength(OKTA_BOUNDS.targetsPerEvent);
    expect(many.invalidReason).toMatch(/^over a bound: target: /);
    const odd = toOktaEventRecord(
      removal([{ ...user, id: 'i'.repeat(65), type: 'T'.repeat(65) }], { outcome: { result: 'S'.repeat(33) } }),
      ARRIVAL,
    );
    expect(odd).toMatchObject({ outcomeResult: null, targets: [{ id: null, type: null, alternateId: 'a@example.com' }] });
    expect(odd.invalidReason).toContain('outcome.result');
    expect(odd.invalidReason).toContain('target[0].id');
  });

  it('accepts a delivery with an over-long event instead of refusing the whole delivery', () => {
    const body = structuredClone(deliveryFixture('okta-group-membership-remove.json').body) as { data: { events: Record<string, unknown>[] } };
    body.data.events[0]!.uuid = 'u'.repeat(500);
    body.data.events[0]!.target = Array.from({ length: 60 }, () => group);
    expect(oktaDeliverySchema.safeParse(body).success).toBe(true);
  });
});
