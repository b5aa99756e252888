/**
 * Rule 8 in the pure sign-in plan: a membership the IdP removed comes back only on evidence
 * newer than the removal; one removed by a sign-in refusal keeps the restoreOnSignIn rule.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AccountDecision } from '../../shared/domain/admission.js';
import type { Membership } from '../../shared/domain/memberships.js';
import { planSignIn, type SignInRequest } from '../../shared/domain/sign-in-plan.js';

const REMOVED_AT = '2026-01-01T00:00:00.000Z';
const SIGNED_IN_AT = '2026-02-01T00:00:00.000Z';

const removed = (changedBy: Membership['changedBy'], changes: Partial<Membership> = {}): Membership => ({
  userId: 'user-1',
  accountId: 'acme',
  role: 'Admin',
  status: 'deleted',
  changedAt: REMOVED_AT,
  reason: 'removed',
  changedBy,
  ...changes,
});

const admitted: AccountDecision = { accountId: 'acme', admitted: true, role: 'Admin', matchedGroups: ['Finance-Approvers'] };

const request = (changes: Partial<SignInRequest> = {}): SignInRequest => ({
  userId: 'user-1',
  decisions: [admitted],
  restoreOnSignIn: () => true,
  signedInAt: SIGNED_IN_AT,
  groupsClaimIsFresh: false,
  groupsClaimPredatesIdpChange: true,
  ...changes,
});

describe('planSignIn and IdP removals', () => {
  it('holds a membership the IdP removed when the groups value is the one Cognito kept', () => {
    const plan = planSignIn([removed('idp')], request());
    expect(plan.changes).toEqual([]);
    expect(plan.held).toEqual([{ accountId: 'acme', membership: removed('idp') }]);
  });

  it('takes items written before changedBy existed by their event id: an event means the IdP', () => {
    const legacy = removed(undefined, { eventId: 'okta-event-1' });
    expect(planSignIn([legacy], request()).held).toEqual([{ accountId: 'acme', membership: legacy }]);
  });

  it('restores on a fresh groups value', () => {
    const plan = planSignIn([removed('idp')], request({ groupsClaimIsFresh: true }));
    expect(plan.changes).toMatchObject([{ kind: 'restore', after: { status: 'active', role: 'Admin', changedBy: 'sign-in' } }]);
    expect(plan.held).toEqual([]);
  });

  it('restores on the directory check, with the role and groups the directory gives', () => {
    const directoryGrants = new Map([['acme', { role: 'Viewer' as const, groups: ['Readers'] }]]);
    const plan = planSignIn([removed('idp')], request({ directoryGrants }));
    expect(plan.changes).toMatchObject([{ kind: 'restore', after: { role: 'Viewer', reason: 'sign-in: directory check, member of IdP group Readers' } }]);
  });

  it('keeps today\'s rule for a membership removed by a sign-in refusal: the kept value restores it', () => {
    const plan = planSignIn([removed('sign-in')], request());
    expect(plan.changes).toMatchObject([{ kind: 'restore' }]);
  });

  it('never restores when the account does not restore on sign-in, even on fresh evidence', () => {
    const plan = planSignIn([removed('idp')], request({ groupsClaimIsFresh: true, restoreOnSignIn: () => false }));
    expect(plan.changes).toEqual([]);
    expect(plan.keptDeleted).toHaveLength(1);
  });

  it('does not raise a role or create a membership from a value recorded before an IdP change', () => {
    const viewer: Membership = { ...removed('idp'), status: 'active', role: 'Viewer' };
    const raised = planSignIn([viewer], request());
    expect(raised.changes).toEqual([]);
    expect(raised.held).toEqual([{ accountId: 'acme', membership: viewer }]);
    const created = planSignIn([], request());
    expect(created.changes).toEqual([]);
    expect(created.held).toEqual([{ accountId: 'acme' }]);
    // Lowering needs no evidence; with no IdP change since the value was recorded, it is trusted.
    expect(planSignIn([{ ...viewer, role: 'Admin' }], request({ decisions: [{ ...admitted, role: 'Viewer' }] })).changes).toMatchObject([{ kind: 'changeRole' }]);
    expect(planSignIn([viewer], request({ groupsClaimPredatesIdpChange: false })).changes).toMatchObject([{ kind: 'changeRole', after: { role: 'Admin' } }]);
  });

  it('raises a role only as far as the directory check grants', () => {
    const viewer: Membership = { ...removed('idp'), status: 'active', role: 'Viewer' };
    const directoryGrants = new Map([['acme', { role: 'Author' as const, groups: ['Authors'] }]]);
    expect(planSignIn([viewer], request({ directoryGrants })).changes).toMatchObject([{ kind: 'changeRole', after: { role: 'Author' } }]);
  });

  it('property: without fresh evidence or a directory grant, no IdP removal is ever restored', () => {
    const membership = fc.record({
      accountId: fc.constantFrom('acme', 'globex', 'initech'),
      status: fc.constantFrom('active' as const, 'deleted' as const),
      changedBy: fc.constantFrom('idp' as const, 'sign-in' as const, 'admin' as const),
      role: fc.constantFrom('Admin' as const, 'Viewer' as const),
    });
    fc.assert(
      fc.property(fc.uniqueArray(membership, { selector: (m) => m.accountId }), fc.boolean(), (memberships, restoreOnSignIn) => {
        const full = memberships.map((m) => ({ ...m, userId: 'user-1', changedAt: REMOVED_AT, reason: 'r' }));
        const decisions = ['acme', 'globex', 'initech'].map((accountId): AccountDecision => ({ accountId, admitted: true, role: 'Admin', matchedGroups: ['G'] }));
        const plan = planSignIn(full, request({ decisions, restoreOnSignIn: () => restoreOnSignIn }));
        for (const change of plan.changes) {
          if (change.kind === 'restore') expect(change.before.changedBy).not.toBe('idp');
        }
      }),
    );
  });
});
