/**
 * What a Graph notification means for memberships, and reconciliation's diff: a user or a group
 * change becomes an intent, Graph's answers decide, and only evidence that a user left removes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AccountSsoConfig } from '../../shared/domain/admission.js';
import {
  decideGraphChange,
  decideUserState,
  grantingGroupsByAccount,
  reconcileRemovals,
  type LinkedUser,
  type ReconcileRemoval,
} from '../../shared/domain/graph-deprovision.js';
import { checkDelivery, type GraphChangeRecord } from '../../shared/domain/graph-notifications.js';
import { hashHookSecret } from '../../shared/domain/hook-secrets.js';
import { fixture } from '../helpers/fixtures.js';

type FixtureConfig = {
  graph: { tenantId: string; clientState: string; subscriptions: Record<'users' | 'groups', { id: string; resource: string }> };
};

const CONFIG = fixture<FixtureConfig>('fixture-config.json').graph;
const ENTRA = 'conn-entra';
const OTHER_CONNECTION = 'conn-okta';
const ALEX = '00000000-0000-4000-8000-0000000d1001';
const BLAIR = '00000000-0000-4000-8000-0000000d1002';
const FINANCE = '00000000-0000-4000-8000-0000000d2001';
const PAYROLL = '00000000-0000-4000-8000-0000000d2002';
const EVERYONE = '00000000-0000-4000-8000-0000000d2003';

/** The record checkDelivery keeps for the first notification of a fixture, as the processor receives it. */
function recordOf(name: string, changes: { changeType?: string; removeDelta?: boolean } = {}): GraphChangeRecord {
  const notification = structuredClone(fixture<{ body: { value: Record<string, unknown>[] } }>(name).body.value[0]!);
  if (changes.changeType) notification.changeType = changes.changeType;
  if (changes.removeDelta) delete (notification.resourceData as Record<string, unknown>)['members@delta'];
  const clientStateHashes = [hashHookSecret(CONFIG.clientState)];
  const { records, rejected } = checkDelivery([notification], 'change', {
    tenantId: CONFIG.tenantId,
    subscriptions: Object.values(CONFIG.subscriptions).map(({ id, resource }) => ({ subscriptionId: id, resource, clientStateHashes })),
  });
  expect(rejected).toEqual([]);
  const record = records[0];
  if (record?.kind !== 'change') throw new Error(`${name} gave no change record`);
  return record;
}

describe('decideGraphChange', () => {
  it('removes a permanently deleted user at once', () => {
    expect(decideGraphChange(recordOf('graph-user-deleted.json'))).toEqual({
      kind: 'removeUser',
      objectId: ALEX,
      reason: expect.stringMatching(/deleted/),
    });
  });

  it('asks Graph about an updated user (a soft delete arrives as updated)', () => {
    expect(decideGraphChange(recordOf('graph-user-updated.json'))).toEqual({ kind: 'checkUser', objectId: ALEX });
  });

  it('removes the members listed as removed from an updated group, naming the group in the reason', () => {
    const intent = decideGraphChange(recordOf('graph-group-member-removed.json'));
    expect(intent).toEqual({ kind: 'removeFromGroup', groupId: FINANCE, objectIds: [ALEX], addedObjectIds: [] });
  });

  it('passes every removed member on, as the record lists them', () => {
    const record: GraphChangeRecord = { ...recordOf('graph-group-member-removed.json'), removedMembers: [ALEX, BLAIR] };
    expect(decideGraphChange(record)).toMatchObject({ kind: 'removeFromGroup', objectIds: [ALEX, BLAIR] });
  });

  it('removes nobody and asks Graph nothing when the members@delta lists only additions', () => {
    const record: GraphChangeRecord = { ...recordOf('graph-group-member-removed.json'), removedMembers: [] };
    expect(decideGraphChange(record)).toMatchObject({ kind: 'removeFromGroup', groupId: FINANCE, objectIds: [] });
  });

  it('asks Graph for the members of an updated group when the notification has no members@delta', () => {
    expect(decideGraphChange(recordOf('graph-group-member-removed.json', { removeDelta: true }))).toEqual({ kind: 'checkGroup', groupId: FINANCE });
  });

  it('treats a deleted group as a group deletion, whatever its delta says', () => {
    expect(decideGraphChange(recordOf('graph-group-member-removed.json', { changeType: 'deleted' }))).toEqual({ kind: 'groupDeleted', groupId: FINANCE });
  });

  it.each([
    ['users', 'created'],
    ['groups', 'created'],
  ])('skips a %s %s notification, saying why', (collection, changeType) => {
    const name = collection === 'users' ? 'graph-user-updated.json' : 'graph-group-member-removed.json';
    const intent = decideGraphChange(recordOf(name, { changeType }));
    expect(intent.kind).toBe('skip');
    expect(intent).toEqual({ kind: 'skip', reason: expect.stringContaining(`${collection} ${changeType}`) });
  });
});

describe('decideUserState', () => {
  it('removes a user Graph answers 404 for (soft-deleted), whatever the disable option', () => {
    expect(decideUserState(undefined, false)).toMatchObject({ remove: true });
    expect(decideUserState(undefined, true)).toMatchObject({ remove: true });
  });

  it('removes a disabled user when the connection deprovisions on disable', () => {
    expect(decideUserState({ accountEnabled: false }, true)).toEqual({ remove: true, reason: expect.stringMatching(/disabled/) });
  });

  it('keeps a disabled user when the connection keeps disabled users, and says so', () => {
    expect(decideUserState({ accountEnabled: false }, false)).toEqual({ remove: false, reason: expect.stringMatching(/deprovisionOnDisable off/) });
  });

  it('keeps an enabled user, whatever the disable option', () => {
    expect(decideUserState({ accountEnabled: true }, true)).toMatchObject({ remove: false });
    expect(decideUserState({ accountEnabled: true }, false)).toMatchObject({ remove: false });
  });

  it('keeps a user whose accountEnabled Graph did not return, even when disabled users are removed', () => {
    expect(decideUserState({ accountEnabled: undefined }, true)).toMatchObject({ remove: false });
    expect(decideUserState({ accountEnabled: undefined }, false)).toMatchObject({ remove: false });
  });

  it('gives different reasons for a deleted and a disabled user', () => {
    expect(decideUserState(undefined, true).reason).not.toBe(decideUserState({ accountEnabled: false }, true).reason);
  });
});

function account(accountId: string, providers: { connectionId: string; groups: string[] }[]): AccountSsoConfig {
  return {
    accountId,
    ssoConfig: {
      active: true,
      allowedDomains: ['example.com'],
      providers: providers.map(({ connectionId, groups }) => ({
        connectionId,
        providerName: connectionId === ENTRA ? 'EntraID' : 'Okta',
        groups: groups.map((group) => ({ group, role: 'Viewer' as const })),
      })),
    },
  };
}

describe('grantingGroupsByAccount', () => {
  it("lists, per account, the groups of this connection's providers only", () => {
    const grants = grantingGroupsByAccount(
      [
        account('acct-1', [
          { connectionId: ENTRA, groups: [FINANCE] },
          { connectionId: OTHER_CONNECTION, groups: ['Finance-Approvers'] },
        ]),
        account('acct-2', [{ connectionId: ENTRA, groups: [PAYROLL, EVERYONE] }]),
      ],
      ENTRA,
    );
    expect(grants).toEqual(
      new Map([
        ['acct-1', [FINANCE]],
        ['acct-2', [PAYROLL, EVERYONE]],
      ]),
    );
  });

  it('lowercases and dedupes the groups, also across two providers of the same connection', () => {
    const grants = grantingGroupsByAccount(
      [
        account('acct-1', [
          { connectionId: ENTRA, groups: [FINANCE.toUpperCase(), PAYROLL] },
          { connectionId: ENTRA, groups: [FINANCE, PAYROLL.toUpperCase()] },
        ]),
      ],
      ENTRA,
    );
    expect(grants.get('acct-1')).toEqual([FINANCE, PAYROLL]);
  });

  it('leaves out accounts with no group for this connection', () => {
    const grants = grantingGroupsByAccount(
      [
        account('acct-okta-only', [{ connectionId: OTHER_CONNECTION, groups: ['Finance-Approvers'] }]),
        account('acct-no-groups', [{ connectionId: ENTRA, groups: [] }]),
        account('acct-no-providers', []),
        account('acct-entra', [{ connectionId: ENTRA, groups: [FINANCE] }]),
      ],
      ENTRA,
    );
    expect([...grants.keys()]).toEqual(['acct-entra']);
  });

  it('is empty when no account is given', () => {
    expect(grantingGroupsByAccount([], ENTRA).size).toBe(0);
  });
});

describe('reconcileRemovals', () => {
  const alex: LinkedUser = { userId: 'user-alex', objectId: ALEX };
  const blair: LinkedUser = { userId: 'user-blair', objectId: BLAIR };

  it("removes a user who is in none of the account's granting groups", () => {
    const removals = reconcileRemovals({
      grants: new Map([['acct-1', [FINANCE, PAYROLL]]]),
      members: new Map([
        [FINANCE, new Set([BLAIR])],
        [PAYROLL, new Set<string>()],
      ]),
      linked: [alex, blair],
      activeMemberships: [
        { userId: 'user-alex', accountId: 'acct-1' },
        { userId: 'user-blair', accountId: 'acct-1' },
      ],
    });
    expect(removals).toEqual([{ userId: 'user-alex', objectId: ALEX, accountId: 'acct-1' }]);
  });

  it('keeps a user who is still in one of several granting groups', () => {
    const removals = reconcileRemovals({
      grants: new Map([['acct-1', [FINANCE, PAYROLL, EVERYONE]]]),
      members: new Map([
        [FINANCE, new Set<string>()],
        [PAYROLL, new Set<string>()],
        [EVERYONE, new Set([ALEX])],
      ]),
      linked: [alex],
      activeMemberships: [{ userId: 'user-alex', accountId: 'acct-1' }],
    });
    expect(removals).toEqual([]);
  });

  it('judges each account by its own groups', () => {
    const removals = reconcileRemovals({
      grants: new Map([
        ['acct-finance', [FINANCE]],
        ['acct-payroll', [PAYROLL]],
      ]),
      members: new Map([
        [FINANCE, new Set([ALEX])],
        [PAYROLL, new Set<string>()],
      ]),
      linked: [alex],
      activeMemberships: [
        { userId: 'user-alex', accountId: 'acct-finance' },
        { userId: 'user-alex', accountId: 'acct-payroll' },
      ],
    });
    expect(removals).toEqual([{ userId: 'user-alex', objectId: ALEX, accountId: 'acct-payroll' }]);
  });

  it('never counts a group without a member list as evidence that the user left', () => {
    const removals = reconcileRemovals({
      grants: new Map([['acct-1', [FINANCE, PAYROLL]]]),
      members: new Map([[FINANCE, new Set([BLAIR])]]),
      linked: [alex],
      activeMemberships: [{ userId: 'user-alex', accountId: 'acct-1' }],
    });
    expect(removals).toEqual([]);
  });

  it('removes nobody when no group of the account has a member list', () => {
    const removals = reconcileRemovals({
      grants: new Map([['acct-1', [FINANCE]]]),
      members: new Map(),
      linked: [alex, blair],
      activeMemberships: [
        { userId: 'user-alex', accountId: 'acct-1' },
        { userId: 'user-blair', accountId: 'acct-1' },
      ],
    });
    expect(removals).toEqual([]);
  });

  it('ignores the memberships of users not linked to this connection', () => {
    const removals = reconcileRemovals({
      grants: new Map([['acct-1', [FINANCE]]]),
      members: new Map([[FINANCE, new Set<string>()]]),
      linked: [alex],
      activeMemberships: [
        { userId: 'user-okta-only', accountId: 'acct-1' },
        { userId: 'user-alex', accountId: 'acct-1' },
      ],
    });
    expect(removals).toEqual([{ userId: 'user-alex', objectId: ALEX, accountId: 'acct-1' }]);
  });

  it('ignores memberships in accounts this connection does not grant', () => {
    const removals = reconcileRemovals({
      grants: new Map([['acct-1', [FINANCE]]]),
      members: new Map([[FINANCE, new Set([ALEX])]]),
      linked: [alex],
      activeMemberships: [{ userId: 'user-alex', accountId: 'acct-password-only' }],
    });
    expect(removals).toEqual([]);
  });

  const objectIds = ['00000000-0000-4000-8000-0000000d1001', '00000000-0000-4000-8000-0000000d1002', '00000000-0000-4000-8000-0000000d1003', '00000000-0000-4000-8000-0000000d1004'];
  const groupIds = [FINANCE, PAYROLL, EVERYONE, '00000000-0000-4000-8000-0000000d2004'];
  const accountIds = ['acct-1', 'acct-2', 'acct-3', 'acct-4'];
  const userIds = ['user-1', 'user-2', 'user-3', 'user-4', 'user-5'];

  const scenario = fc.record({
    grants: fc
      .uniqueArray(fc.tuple(fc.constantFrom(...accountIds), fc.uniqueArray(fc.constantFrom(...groupIds), { minLength: 1 })), {
        selector: ([accountId]) => accountId,
        maxLength: accountIds.length,
      })
      .map((entries) => new Map(entries)),
    // A group may have no member list (absent from the map): it was not fetched.
    members: fc
      .uniqueArray(fc.tuple(fc.constantFrom(...groupIds), fc.uniqueArray(fc.constantFrom(...objectIds))), { selector: ([groupId]) => groupId })
      .map((entries) => new Map(entries.map(([groupId, ids]) => [groupId, new Set(ids)] as const))),
    linked: fc
      .uniqueArray(fc.tuple(fc.constantFrom(...userIds), fc.constantFrom(...objectIds)), { selector: ([userId]) => userId })
      .map((pairs) => pairs.map(([userId, objectId]): LinkedUser => ({ userId, objectId }))),
    activeMemberships: fc.uniqueArray(
      fc.record({ userId: fc.constantFrom(...userIds), accountId: fc.constantFrom(...accountIds, 'acct-not-granted') }),
      { selector: ({ userId, accountId }) => `${userId}|${accountId}`, maxLength: 20 },
    ),
  });

  type Scenario = Parameters<typeof reconcileRemovals>[0];

  /** The rule stated plainly: a linked user's membership in a granted account goes when every granting group has a member list and none lists the user. */
  function expectedRemovals(input: Scenario): ReconcileRemoval[] {
    const expected: ReconcileRemoval[] = [];
    for (const membership of input.activeMemberships) {
      const user = input.linked.find((candidate) => candidate.userId === membership.userId);
      const groups = input.grants.get(membership.accountId);
      if (!user || !groups) continue;
      let evidenceOfLeaving = true;
      for (const group of groups) {
        const members = input.members.get(group);
        if (members === undefined || members.has(user.objectId)) evidenceOfLeaving = false;
      }
      if (evidenceOfLeaving) expected.push({ userId: user.userId, objectId: user.objectId, accountId: membership.accountId });
    }
    return expected;
  }

  it("never removes a user who is in one of the account's groups, and removes exactly the memberships the rule says", () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const removals = reconcileRemovals(input);
        for (const removal of removals) {
          for (const group of input.grants.get(removal.accountId) ?? []) {
            expect(input.members.get(group)?.has(removal.objectId) ?? false).toBe(false);
          }
          expect(input.grants.has(removal.accountId)).toBe(true);
          expect(input.linked).toContainEqual({ userId: removal.userId, objectId: removal.objectId });
          expect(input.activeMemberships).toContainEqual({ userId: removal.userId, accountId: removal.accountId });
        }
        expect(removals).toEqual(expectedRemovals(input));
      }),
      { numRuns: 500 },
    );
  });

  it('removes every active membership in a granted account when every group has an empty member list', () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const emptied = new Map([...input.members.keys(), ...[...input.grants.values()].flat()].map((group) => [group, new Set<string>()] as const));
        const removals = reconcileRemovals({ ...input, members: emptied });
        const linkedIds = new Set(input.linked.map(({ userId }) => userId));
        const judged = input.activeMemberships.filter(({ userId, accountId }) => linkedIds.has(userId) && input.grants.has(accountId));
        expect(removals.map(({ userId, accountId }) => ({ userId, accountId }))).toEqual(judged);
      }),
    );
  });
});
