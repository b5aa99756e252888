/**
 * What a federated sign-in changes in our memberships. A sign-in is the IdP asserting, now,
 * which accounts the person may enter (see admission.ts); the plan brings the memberships of
 * the accounts this provider serves in line with that, and changes nothing when they already
 * are. Pure: the caller reads the memberships and writes the plan in one transaction.
 */
import type { AccountDecision } from './admission.js';
import { roleGroupName } from './admission.js';
import { outranks, removedByIdp, type Membership, type Role } from './memberships.js';

export type MembershipChange =
  | { kind: 'create'; after: Membership }
  | { kind: 'changeRole'; before: Membership; after: Membership }
  | { kind: 'restore'; before: Membership; after: Membership }
  | { kind: 'revoke'; before: Membership; after: Membership };

export type SignInPlan = {
  changes: MembershipChange[];
  keptDeleted: Membership[];
  /**
   * Accounts where the groups value would grant more than the evidence allows (rule 8): a
   * membership the IdP removed, with a value that is not fresh; or, with a value recorded
   * before an IdP change since, a new membership or a higher role. Only the directory check
   * grants these.
   */
  held: { accountId: string; membership?: Membership }[];
};

/** What the IdP's directory says now (a live check at sign-in): per account, the role its groups grant. */
export type DirectoryGrants = ReadonlyMap<string, { role: Role; groups: readonly string[] }>;

export type SignInRequest = {
  userId: string;
  decisions: readonly AccountDecision[];
  /** Per account: whether a later valid sign-in may restore a soft-deleted membership (default on). */
  restoreOnSignIn: (accountId: string) => boolean;
  signedInAt: string;
  /**
   * The groups value came from the IdP at this sign-in: it differs from the one recorded at
   * the last sign-in (Cognito keeps a value when the IdP omits the claim, so an unchanged one
   * proves nothing), or the Cognito user was created just now.
   */
  groupsClaimIsFresh: boolean;
  /**
   * The IdP changed this user's memberships (a removal, a re-add) after the groups value was
   * recorded, and the value is not fresh: it may be one Cognito kept from before the change, so
   * it may keep or lower access, never raise it.
   */
  groupsClaimPredatesIdpChange: boolean;
  /** A live check against the IdP's directory, where the connection has API credentials. */
  directoryGrants?: DirectoryGrants;
};

/**
 * - admitted, no membership → create it with the role;
 * - admitted, active with another role → change the role;
 * - admitted, soft-deleted before this sign-in, restore allowed → restore (audited by the caller);
 *   otherwise it stays deleted: a deletion newer than the sign-in wins, and so does the account's choice;
 * - a membership the IdP removed comes back only on evidence newer than the removal: a fresh
 *   groups value, or the directory check (role from the directory); else it is held;
 * - refused because the IdP no longer grants it (domain or groups) while active → revoke;
 *   an inactive SSO config says nothing about the person, so it changes nothing.
 */
export function planSignIn(memberships: readonly Membership[], request: SignInRequest): SignInPlan {
  const byAccount = new Map(memberships.map((membership) => [membership.accountId, membership]));
  const plan: SignInPlan = { changes: [], keptDeleted: [], held: [] };
  const at = request.signedInAt;
  const trusted = request.groupsClaimIsFresh || !request.groupsClaimPredatesIdpChange;
  for (const decision of request.decisions) {
    const before = byAccount.get(decision.accountId);
    if (!decision.admitted) {
      if (before?.status === 'active' && decision.reason !== 'sso_inactive') {
        const reason = decision.reason === 'domain_not_allowed' ? 'sign-in: email domain no longer allowed' : 'sign-in: no longer in a granting IdP group';
        plan.changes.push({ kind: 'revoke', before, after: { ...before, status: 'deleted', changedAt: at, reason, eventId: undefined, changedBy: 'sign-in' } });
      }
      continue;
    }
    const directory = request.directoryGrants?.get(decision.accountId);
    const fromDirectory = directory && { role: directory.role, reason: `sign-in: directory check, member of IdP group ${directory.groups.join(', ')}` };
    const fromClaim = { role: decision.role, reason: `sign-in: IdP group ${decision.matchedGroups.join(', ')}` };
    const grant = (evidence: { role: Role; reason: string }): Membership => ({
      userId: request.userId,
      accountId: decision.accountId,
      status: 'active',
      changedAt: at,
      changedBy: 'sign-in',
      ...evidence,
    });
    const hold = () => plan.held.push({ accountId: decision.accountId, ...(before ? { membership: before } : {}) });
    if (!before) {
      const evidence = trusted ? fromClaim : fromDirectory;
      if (evidence) plan.changes.push({ kind: 'create', after: grant(evidence) });
      else hold();
    } else if (before.status === 'deleted') {
      const deletedBeforeSignIn = Date.parse(before.changedAt) < Date.parse(at);
      // Removed by a sign-in refusal: today's rule (restoreOnSignIn). Removed by the IdP: evidence newer than that.
      const evidence = !removedByIdp(before) || request.groupsClaimIsFresh ? fromClaim : fromDirectory;
      if (!deletedBeforeSignIn || !request.restoreOnSignIn(decision.accountId)) plan.keptDeleted.push(before);
      else if (evidence) plan.changes.push({ kind: 'restore', before, after: grant(evidence) });
      else hold();
    } else if (before.role !== decision.role) {
      // Lowering a role needs no evidence; raising one needs a value the IdP sent after its last change.
      const evidence = !outranks(decision.role, before.role) || trusted ? fromClaim : fromDirectory && outranks(fromDirectory.role, before.role) ? fromDirectory : undefined;
      if (evidence) plan.changes.push({ kind: 'changeRole', before, after: grant(evidence) });
      else if (!fromDirectory) hold();
    }
  }
  return plan;
}

/** The managed Cognito groups a user should be in: one per active membership. */
export function wantedRoleGroups(memberships: readonly Membership[]): string[] {
  return memberships
    .filter((membership) => membership.status === 'active')
    .map((membership) => roleGroupName(membership.accountId, membership.role))
    .sort();
}

/** The memberships after a plan, to compute the groups and the token from. */
export function membershipsAfter(memberships: readonly Membership[], plan: SignInPlan): Membership[] {
  const byAccount = new Map(memberships.map((membership) => [membership.accountId, membership]));
  for (const change of plan.changes) byAccount.set(change.after.accountId, change.after);
  return [...byAccount.values()];
}
