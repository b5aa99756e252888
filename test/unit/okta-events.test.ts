/**
 * Okta System Log events in, decisions out: which events act, which are skipped, and which are
 * refused as invalid, with the delivery schema checked against Okta's real wire format.
 */
import { describe, expect, it } from 'vitest';
import {
  decideOktaEvent,
  OKTA_GROUP_REMOVED,
  OKTA_USER_DEACTIVATED,
  OKTA_USER_DELETE_INITIATED,
  oktaDeliverySchema,
  toOktaEventRecord,
  type OktaEventRecord,
  type OktaTarget,
} from '../../shared/domain/okta-events.js';
import { fixture } from '../helpers/fixtures.js';

type DeliveryFixture = { method: string; headers: Record<string, string>; body: Record<string, unknown> };
const deliveryFixture = (name: string): DeliveryFixture => fixture<DeliveryFixture>(name);

const ACTED_ON: ReadonlySet<string> = new Set([OKTA_GROUP_REMOVED, OKTA_USER_DEACTIVATED, OKTA_USER_DELETE_INITIATED]);

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
  it('turns a successful group removal into an intent with the lowercased email and the group name', () => {
    expect(decideOktaEvent(eventRecord(), ACTED_ON)).toEqual({
      action: 'deprovision',
      intent: {
        kind: 'groupRemoval',
        email: 'alex.doe@example.com',
        group: 'Finance-Approvers',
        occurredAt: '2025-03-11T14:02:07.417Z',
        reason: 'removed from IdP group "Finance-Approvers"',
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
    [OKTA_USER_DEACTIVATED, 'IdP user deactivated'],
    [OKTA_USER_DELETE_INITIATED, 'IdP user deleted'],
  ])('turns %s into a userDeprovisioned intent with its reason', (eventType, reason) => {
    const decision = decideOktaEvent(eventRecord({ eventType, targets: [userTarget()] }), ACTED_ON);
    expect(decision).toEqual({
      action: 'deprovision',
      intent: { kind: 'userDeprovisioned', email: 'alex.doe@example.com', occurredAt: '2025-03-11T14:02:07.417Z', reason },
    });
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

describe('toOktaEventRecord', () => {
  it('keeps the uuid, type, time, outcome and targets of a LogEvent', () => {
    const event = {
      uuid: 'u-1',
      published: '2025-03-11T14:02:07.417Z',
      eventType: OKTA_GROUP_REMOVED,
      outcome: { result: 'SUCCESS' },
      target: [{ id: '00u1', type: 'User', alternateId: 'a@example.com', displayName: 'A' }],
    };
    expect(toOktaEventRecord(event)).toEqual({
      eventId: 'u-1',
      eventType: OKTA_GROUP_REMOVED,
      published: '2025-03-11T14:02:07.417Z',
      outcomeResult: 'SUCCESS',
      targets: [{ type: 'User', id: '00u1', alternateId: 'a@example.com', displayName: 'A' }],
    });
  });

  it('turns missing outcome, targets and target fields into nulls and an empty list', () => {
    expect(toOktaEventRecord({ uuid: 'u-2', published: '2025-03-11T14:02:07Z', eventType: 'x' })).toMatchObject({
      outcomeResult: null,
      targets: [],
    });
    const record = toOktaEventRecord({
      uuid: 'u-3',
      published: '2025-03-11T14:02:07Z',
      eventType: 'x',
      outcome: null,
      target: [{ type: 'User' }],
    });
    expect(record.outcomeResult).toBeNull();
    expect(record.targets).toEqual([{ type: 'User', id: null, alternateId: null, displayName: null }]);
  });

  it('normalises the published time to UTC ISO 8601 with milliseconds', () => {
    const record = toOktaEventRecord({ uuid: 'u-4', published: '2025-03-11T16:02:07+02:00', eventType: 'x' });
    expect(record.published).toBe('2025-03-11T14:02:07.000Z');
  });

  it('decides the real group-removal fixture into the removal of alex.doe from Finance-Approvers', () => {
    const delivery = oktaDeliverySchema.parse(deliveryFixture('okta-group-membership-remove.json').body);
    const [event] = delivery.data.events;
    if (!event) throw new Error('fixture has no event');
    expect(decideOktaEvent(toOktaEventRecord(event), ACTED_ON)).toEqual({
      action: 'deprovision',
      intent: {
        kind: 'groupRemoval',
        email: 'alex.doe@example.com',
        group: 'Finance-Approvers',
        occurredAt: '2025-03-11T14:02:07.417Z',
        reason: 'removed from IdP group "Finance-Approvers"',
      },
    });
  });

  it('decides the real batch fixture event by event', () => {
    const delivery = oktaDeliverySchema.parse(deliveryFixture('okta-batch.json').body);
    const decisions = delivery.data.events.map((event) => decideOktaEvent(toOktaEventRecord(event), ACTED_ON));
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
