import { describe, expect, it } from 'vitest';
import { DELTA_POLL_SUBSCRIPTION, groupDeltaRecords, userDeltaRecords } from '../../shared/domain/graph-delta.js';
import { decideGraphChange } from '../../shared/domain/graph-deprovision.js';
import { isStateBasedHint } from '../../shared/domain/graph-notifications.js';

const USER_A = '00000000-0000-4000-8000-0000000a0001';
const USER_B = '00000000-0000-4000-8000-0000000a0002';
const GROUP = '00000000-0000-4000-8000-0000000d2001';

describe('users delta → hints', () => {
  it('a removed or disabled user becomes a users updated hint (processing asks Graph); enabled or new users none', () => {
    const records = userDeltaRecords([
      { id: USER_B.toUpperCase(), removed: true, accountEnabled: undefined },
      { id: USER_A, removed: false, accountEnabled: false },
      { id: '00000000-0000-4000-8000-0000000a0003', removed: false, accountEnabled: true },
      { id: 'not-a-guid', removed: true, accountEnabled: undefined },
    ]);
    expect(records).toEqual([
      { kind: 'change', subscriptionId: DELTA_POLL_SUBSCRIPTION, changeType: 'updated', resourceType: 'users', resourceId: USER_A },
      { kind: 'change', subscriptionId: DELTA_POLL_SUBSCRIPTION, changeType: 'updated', resourceType: 'users', resourceId: USER_B },
    ]);
    expect(records.map((record) => decideGraphChange(record).kind)).toEqual(['checkUser', 'checkUser']);
    expect(records.every(isStateBasedHint)).toBe(true);
  });
});

describe('groups delta → records', () => {
  const group = (extra: Partial<Parameters<typeof groupDeltaRecords>[0][number]>) => ({ id: GROUP, removedReason: undefined, removedMembers: [], addedMembers: [], nestedChanged: false, ...extra });

  it('members removed (and added) become groups updated with the lists', () => {
    const [record] = groupDeltaRecords([group({ removedMembers: [USER_B, USER_A, USER_A], addedMembers: [USER_B.toUpperCase()] })]);
    expect(record).toMatchObject({ resourceType: 'groups', changeType: 'updated', removedMembers: [USER_A, USER_B], addedMembers: [USER_B] });
    expect(decideGraphChange(record!)).toMatchObject({ kind: 'removeFromGroup', objectIds: [USER_A, USER_B] });
  });

  it('a nested group change checks every member; a removed group is deleted; no change is no record', () => {
    expect(groupDeltaRecords([group({ nestedChanged: true, removedMembers: [USER_A] })])).toEqual([
      { kind: 'change', subscriptionId: DELTA_POLL_SUBSCRIPTION, changeType: 'updated', resourceType: 'groups', resourceId: GROUP },
    ]);
    expect(groupDeltaRecords([group({ removedReason: 'deleted' })])[0]).toMatchObject({ changeType: 'deleted' });
    expect(groupDeltaRecords([group({})])).toEqual([]);
  });
});
