/**
 * Okta reconciliation's diff: group listings (with statuses) and, for those they leave out, one
 * status read per user decide; only evidence that a user left removes, and a removal of the
 * person (deactivated, deleted, suspended) takes every account of the connection.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grantingGroupsByAccount } from '../../shared/domain/graph-deprovision.js';
import { GROUP_REMOVAL_REASON, personRemovalReason, planOktaReconcile, type OktaReconcileInput, type OktaUserState } from '../../shared/domain/okta-reconcile.js';
import { groupNameSearch } from '../../shared/idp/okta-directory.js';

const base: OktaReconcileInput = {
  grants: new Map([
    ['acme', ['Finance-Approvers', 'Payroll-Admins']],
    ['globex', ['Payroll-Admins']],
  ]),
  servedAccountIds: ['acme', 'globex', 'no-groups'],
  members: new Map([
    ['Finance-Approvers', new Map([['00uA', 'ACTIVE']])],
    ['Payroll-Admins', new Map([['00uB', 'ACTIVE']])],
  ]),
  linked: [
    { userId: 'user-a', oktaUserId: '00uA' },
    { userId: 'user-b', oktaUserId: '00uB' },
  ],
  activeMemberships: [
    { userId: 'user-a', accountId: 'acme' },
    { userId: 'user-a', accountId: 'globex' },
    { userId: 'user-b', accountId: 'acme' },
    { userId: 'user-b', accountId: 'no-groups' },
  ],
  deprovisionOnSuspend: true,
};

const accountsOf = (plan: ReturnType<typeof planOktaReconcile>) => plan.removals.map(({ userId, accountId, removal }) => `${userId}:${accountId}:${removal}`);

describe('planOktaReconcile', () => {
  it('names the users left out of a granting group for a status read, and removes nothing before', () => {
    const plan = planOktaReconcile(base);
    expect(plan).toEqual({ removals: [], usersToCheck: ['00uA'] });
  });

  it('an active user who left every group of an account loses only that account, as a group removal', () => {
    const plan = planOktaReconcile({ ...base, userStates: new Map([['00uA', { status: 'ACTIVE' }]]) });
    expect(plan.removals).toEqual([{ userId: 'user-a', objectId: '00uA', accountId: 'globex', removal: 'group', reason: GROUP_REMOVAL_REASON }]);
  });

  it.each<[string, OktaUserState]>([
    ['deactivated', { status: 'DEPROVISIONED' }],
    ['deleted', 'deleted'],
    ['suspended', { status: 'SUSPENDED' }],
  ])('a candidate whose status says %s loses every account of the connection, as a removal of the person', (word, state) => {
    const plan = planOktaReconcile({ ...base, userStates: new Map([['00uA', state]]) });
    expect(accountsOf(plan)).toEqual(['user-a:acme:user', 'user-a:globex:user']);
    expect(plan.removals[0]?.reason).toBe(`reconcile: user ${word} in Okta`);
  });

  it('a suspended candidate keeps access when the connection keeps suspended users; the groups they left still go', () => {
    const plan = planOktaReconcile({ ...base, deprovisionOnSuspend: false, userStates: new Map([['00uA', { status: 'SUSPENDED' }]]) });
    expect(accountsOf(plan)).toEqual(['user-a:globex:group']);
  });

  it('a user listed as DEPROVISIONED in a granting group loses everything without a status read, accounts without groups too', () => {
    const members = new Map(base.members);
    members.set('Payroll-Admins', new Map([['00uB', 'DEPROVISIONED']]));
    const plan = planOktaReconcile({ ...base, members });
    expect(accountsOf(plan)).toEqual(['user-b:acme:user', 'user-b:no-groups:user']);
    expect(plan.usersToCheck).toEqual(['00uA']);
  });

  it('a removal of the person also covers memberships an earlier group removal took (recorded as one of the person)', () => {
    const members = new Map(base.members);
    members.set('Payroll-Admins', new Map([['00uB', 'DEPROVISIONED']]));
    const groupRemovedMemberships = [{ userId: 'user-b', accountId: 'globex' }];
    expect(accountsOf(planOktaReconcile({ ...base, members, groupRemovedMemberships }))).toEqual(['user-b:acme:user', 'user-b:no-groups:user', 'user-b:globex:user']);
    // A candidate whose status is read as gone: the same.
    const plan = planOktaReconcile({ ...base, groupRemovedMemberships: [{ userId: 'user-a', accountId: 'no-groups' }], userStates: new Map([['00uA', { status: 'DEPROVISIONED' }]]) });
    expect(accountsOf(plan)).toEqual(['user-a:acme:user', 'user-a:globex:user', 'user-a:no-groups:user']);
    // Still active in Okta: a group removal never takes what is already deleted.
    const active = planOktaReconcile({ ...base, groupRemovedMemberships, userStates: new Map([['00uA', { status: 'ACTIVE' }]]) });
    expect(accountsOf(active)).toEqual(['user-a:globex:group']);
  });

  it('a user with only group-removed memberships is judged by a group listing\'s status alone, never read', () => {
    const onlyRemoved: OktaReconcileInput = { ...base, activeMemberships: [], groupRemovedMemberships: [{ userId: 'user-b', accountId: 'globex' }] };
    expect(planOktaReconcile(onlyRemoved)).toEqual({ removals: [], usersToCheck: [] });
    const members = new Map(base.members);
    members.set('Payroll-Admins', new Map([['00uB', 'SUSPENDED']]));
    expect(accountsOf(planOktaReconcile({ ...onlyRemoved, members }))).toEqual(['user-b:globex:user']);
    expect(planOktaReconcile({ ...onlyRemoved, members, deprovisionOnSuspend: false })).toEqual({ removals: [], usersToCheck: [] });
  });

  it('a user listed as SUSPENDED is kept as a member when deprovisionOnSuspend is off', () => {
    const members = new Map(base.members);
    members.set('Payroll-Admins', new Map([['00uB', 'SUSPENDED']]));
    expect(planOktaReconcile({ ...base, members, deprovisionOnSuspend: false, userStates: new Map([['00uA', { status: 'ACTIVE' }]]) }).removals.map(({ userId }) => userId)).toEqual(['user-a']);
    expect(accountsOf(planOktaReconcile({ ...base, members, userStates: new Map([['00uA', { status: 'ACTIVE' }]]) }))).toContain('user-b:acme:user');
  });

  it('a group name Okta has no group of grants nobody; one that was not read is no evidence', () => {
    const noPayroll = new Map(base.members);
    noPayroll.set('Payroll-Admins', new Map());
    expect(planOktaReconcile({ ...base, members: noPayroll }).usersToCheck).toEqual(['00uA', '00uB']);
    noPayroll.delete('Payroll-Admins');
    expect(planOktaReconcile({ ...base, members: noPayroll }).usersToCheck).toEqual([]);
  });

  it('ignores memberships of users not linked through the connection and accounts it does not serve', () => {
    const plan = planOktaReconcile({
      ...base,
      activeMemberships: [...base.activeMemberships, { userId: 'stranger', accountId: 'globex' }, { userId: 'user-a', accountId: 'initech' }],
      userStates: new Map([['00uA', { status: 'DEPROVISIONED' }]]),
    });
    expect(accountsOf(plan)).toEqual(['user-a:acme:user', 'user-a:globex:user']);
  });

  const statuses = ['ACTIVE', 'PROVISIONED', 'RECOVERY', 'PASSWORD_EXPIRED', 'LOCKED_OUT', 'STAGED', 'SUSPENDED', 'DEPROVISIONED'];
  const oktaIds = ['00u1', '00u2', '00u3', '00u4'];
  const names = ['G1', 'G2', 'G3'];
  const accounts = ['a1', 'a2', 'a3'];
  const state = fc.oneof(fc.constant<OktaUserState>('deleted'), fc.constantFrom(...statuses).map((status): OktaUserState => ({ status })));
  const scenario = fc.record({
    grants: fc
      .uniqueArray(fc.tuple(fc.constantFrom(...accounts), fc.uniqueArray(fc.constantFrom(...names), { minLength: 1 })), { selector: ([accountId]) => accountId })
      .map((entries) => new Map(entries)),
    // A user has one status, whichever group lists them.
    members: fc
      .tuple(
        fc.uniqueArray(fc.tuple(fc.constantFrom(...names), fc.uniqueArray(fc.constantFrom(...oktaIds))), { selector: ([name]) => name }),
        fc.array(fc.constantFrom(...statuses), { minLength: oktaIds.length, maxLength: oktaIds.length }),
      )
      .map(([entries, listedStatus]) => new Map(entries.map(([name, ids]) => [name, new Map(ids.map((id) => [id, listedStatus[oktaIds.indexOf(id)] as string]))] as const))),
    linked: fc.constant(oktaIds.map((oktaUserId, index) => ({ userId: `user-${index}`, oktaUserId }))),
    activeMemberships: fc.uniqueArray(fc.record({ userId: fc.constantFrom('user-0', 'user-1', 'user-2', 'user-3'), accountId: fc.constantFrom(...accounts) }), {
      selector: ({ userId, accountId }) => `${userId}|${accountId}`,
    }),
    deprovisionOnSuspend: fc.boolean(),
    states: fc.array(state, { minLength: oktaIds.length, maxLength: oktaIds.length }),
  });

  it('removes only with evidence: each removal is an active membership of a linked user, and a group removal only where no read group lists them', () => {
    fc.assert(
      fc.property(scenario, ({ states, ...rest }) => {
        const input: OktaReconcileInput = { ...rest, servedAccountIds: accounts };
        const first = planOktaReconcile(input);
        const userStates = new Map(oktaIds.map((id, index) => [id, states[index] as OktaUserState]));
        const { removals, usersToCheck } = planOktaReconcile({ ...input, userStates });
        expect(usersToCheck).toEqual([]);
        // Reading statuses never adds candidates: it only decides those the listings named.
        const checked = new Set(first.usersToCheck);
        for (const removal of removals) {
          expect(input.activeMemberships).toContainEqual({ userId: removal.userId, accountId: removal.accountId });
          if (removal.removal === 'group') {
            for (const group of input.grants.get(removal.accountId) ?? []) expect(input.members.get(group)?.has(removal.objectId) ?? true).toBe(false);
            expect(checked.has(removal.objectId)).toBe(true);
          } else {
            const listed = [...input.members.values()].find((group) => group.has(removal.objectId))?.get(removal.objectId);
            const bySomeone = (listed && personRemovalReason({ status: listed }, input.deprovisionOnSuspend)) || (checked.has(removal.objectId) && personRemovalReason(userStates.get(removal.objectId) as OktaUserState, input.deprovisionOnSuspend));
            expect(bySomeone).toBeTruthy();
          }
        }
        // A membership is removed at most once.
        expect(new Set(removals.map(({ userId, accountId }) => `${userId}|${accountId}`)).size).toBe(removals.length);
      }),
      { numRuns: 300 },
    );
  });

  it('an active user in every granting group keeps everything, whatever else', () => {
    fc.assert(
      fc.property(scenario, ({ states: _states, ...rest }) => {
        const everyone = new Map(names.map((name) => [name, new Map(oktaIds.map((id) => [id, 'ACTIVE']))] as const));
        expect(planOktaReconcile({ ...rest, members: everyone, servedAccountIds: accounts })).toEqual({ removals: [], usersToCheck: [] });
      }),
    );
  });
});

describe('grantingGroupsByAccount for Okta', () => {
  it('keeps group names exactly as written (sign-in compares them exactly); Entra ids are lowercased', () => {
    const configs = [
      {
        accountId: 'acme',
        ssoConfig: { active: true, allowedDomains: ['example.com'], providers: [{ connectionId: 'okta-a', providerName: 'OktaA', groups: [{ group: 'Finance-Approvers', role: 'Admin' as const }] }] },
      },
    ];
    expect(grantingGroupsByAccount(configs, 'okta-a', 'okta')).toEqual(new Map([['acme', ['Finance-Approvers']]]));
    expect(grantingGroupsByAccount(configs, 'okta-a')).toEqual(new Map([['acme', ['finance-approvers']]]));
  });
});

describe('groupNameSearch', () => {
  it('quotes the name, escaping " and \\', () => {
    expect(groupNameSearch('Finance "EU" \\ Ops')).toBe('profile.name eq "Finance \\"EU\\" \\\\ Ops"');
  });

  describe('a user with several Okta ids (an Okta user re-created with the same email)', () => {
    const twoIds = (states: Record<string, OktaUserState>, members: Record<string, Array<[string, string]>>) =>
      planOktaReconcile({
        grants: new Map([['acme', ['Finance']]]),
        servedAccountIds: ['acme'],
        members: new Map(Object.entries(members).map(([name, list]) => [name, new Map(list)])),
        linked: [
          { userId: 'pat', oktaUserId: '00uOLD' },
          { userId: 'pat', oktaUserId: '00uNEW' },
        ],
        activeMemberships: [{ userId: 'pat', accountId: 'acme' }],
        deprovisionOnSuspend: true,
        userStates: new Map(Object.entries(states)),
      });

    it('keeps the person while the new id is in a granting group, whatever the old one says, and reads nothing', () => {
      for (const order of [false, true]) {
        const plan = planOktaReconcile({
          grants: new Map([['acme', ['Finance']]]),
          servedAccountIds: ['acme'],
          members: new Map([['Finance', new Map([['00uNEW', 'ACTIVE']])]]),
          linked: order
            ? [{ userId: 'pat', oktaUserId: '00uNEW' }, { userId: 'pat', oktaUserId: '00uOLD' }]
            : [{ userId: 'pat', oktaUserId: '00uOLD' }, { userId: 'pat', oktaUserId: '00uNEW' }],
          activeMemberships: [{ userId: 'pat', accountId: 'acme' }],
          deprovisionOnSuspend: true,
        });
        expect(plan).toEqual({ removals: [], usersToCheck: [] });
      }
    });

    it('reads every id of a person who left, and removes the person only if every id is gone', () => {
      expect(twoIds({}, { Finance: [] }).usersToCheck.sort()).toEqual(['00uNEW', '00uOLD']);
      const oneActive = twoIds({ '00uOLD': 'deleted', '00uNEW': { status: 'ACTIVE' } }, { Finance: [] });
      expect(oneActive.removals).toEqual([expect.objectContaining({ userId: 'pat', accountId: 'acme', removal: 'group' })]);
      const bothGone = twoIds({ '00uOLD': 'deleted', '00uNEW': { status: 'DEPROVISIONED' } }, { Finance: [] });
      expect(bothGone.removals).toEqual([expect.objectContaining({ userId: 'pat', accountId: 'acme', removal: 'user' })]);
    });

    it('does not remove the person for one id listed as deactivated while another is active', () => {
      const plan = twoIds({ '00uNEW': { status: 'ACTIVE' } }, { Finance: [['00uOLD', 'DEPROVISIONED'], ['00uNEW', 'ACTIVE']] });
      expect(plan.removals).toEqual([]);
    });
  });
});
