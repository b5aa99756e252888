/**
 * Okta reconciliation's diff, pure: which active memberships of users linked through an Okta
 * connection go, given the members (with their status) of every group that grants an account.
 * Okta SSO configs grant by group NAME, compared exactly as sign-in compares the groups claim.
 *
 * - A user Okta lists with status DEPROVISIONED (or SUSPENDED, where the connection's
 *   deprovisionOnSuspend is on) loses every membership in the connection's accounts: a removal of
 *   the person (`removal: user`), which no group re-add gives back.
 * - A user in none of an account's granting groups is a *candidate*: their status is read once
 *   (one GET per candidate user, never per linked user) and then decides. Gone (404),
 *   deactivated or suspended: every membership goes as a removal of the person; otherwise the
 *   accounts they left go as a group removal.
 * - A removal of the person also covers their memberships an earlier group removal took
 *   (`groupRemovedMemberships`): recorded as a removal of the person (no access change), as an
 *   Okta deactivation event records it, so a later group re-add cannot give them back. A user
 *   with only such memberships is judged by a group listing's status alone (no GET for them).
 *
 * planOktaReconcile is called once without user states (it names the users to read) and once
 * with them (it gives the removals).
 */
import type { RemovalScope } from './memberships.js';

/** Okta's user status (ACTIVE, PROVISIONED, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, STAGED, SUSPENDED, DEPROVISIONED), or gone (404). */
export type OktaUserState = { status: string } | 'deleted';

export type OktaLinkedUser = { userId: string; oktaUserId: string };

export type OktaReconcileRemoval = {
  userId: string;
  /** The user's Okta id: the identity's subject, how revocation finds the Cognito user. */
  objectId: string;
  accountId: string;
  removal: RemovalScope;
  reason: string;
};

export type OktaReconcileInput = {
  /** Account → the Okta group names that grant it (this connection's providers only). */
  grants: ReadonlyMap<string, readonly string[]>;
  /** Every account the connection serves: a removal of the person takes them all. */
  servedAccountIds: readonly string[];
  /**
   * Group name → its members' Okta ids and statuses, every Okta group of that name together. A
   * name Okta has no group of maps to an empty map: it grants nobody. A name missing from this
   * map was not read and is never evidence that someone left.
   */
  members: ReadonlyMap<string, ReadonlyMap<string, string>>;
  linked: readonly OktaLinkedUser[];
  /** Active memberships of linked users in the served accounts. */
  activeMemberships: readonly { userId: string; accountId: string }[];
  /**
   * Memberships of linked users in the served accounts that the IdP soft-deleted for a group
   * reason (`removal: group`, which a group re-add gives back): a removal of the person covers them too.
   */
  groupRemovedMemberships?: readonly { userId: string; accountId: string }[];
  deprovisionOnSuspend: boolean;
  /** The statuses read for the candidates; without them, the candidates are named in `usersToCheck`. */
  userStates?: ReadonlyMap<string, OktaUserState>;
};

export type OktaReconcilePlan = {
  removals: OktaReconcileRemoval[];
  /** Okta user ids whose status must be read before their group removals can be decided. */
  usersToCheck: string[];
};

/** Why this state removes the person from every account, or undefined if it does not. */
export function personRemovalReason(state: OktaUserState, deprovisionOnSuspend: boolean): string | undefined {
  if (state === 'deleted') return 'reconcile: user deleted in Okta';
  if (state.status === 'DEPROVISIONED') return 'reconcile: user deactivated in Okta';
  if (state.status === 'SUSPENDED' && deprovisionOnSuspend) return 'reconcile: user suspended in Okta';
  return undefined;
}

export const GROUP_REMOVAL_REASON = 'reconcile: in no Okta group that grants access';

/** The status Okta gave this user in any group listing (a user has one status, whichever group lists them). */
function listedStatuses(members: OktaReconcileInput['members']): Map<string, string> {
  const statuses = new Map<string, string>();
  for (const group of members.values()) for (const [oktaUserId, status] of group) statuses.set(oktaUserId, status);
  return statuses;
}

/**
 * A user may have several Okta ids linked through one connection (an Okta user deleted and
 * re-created with the same email signs in as a new subject of the same user). The person is
 * judged by all of them: an account is left only if none of them is in a granting group, and the
 * person is removed only if every one of them is gone, deactivated or (with the setting) suspended.
 */
export function planOktaReconcile(input: OktaReconcileInput): OktaReconcilePlan {
  const subjectsOf = new Map<string, string[]>();
  for (const { userId, oktaUserId } of input.linked) subjectsOf.set(userId, [...new Set([...(subjectsOf.get(userId) ?? []), oktaUserId])].sort());
  const served = new Set(input.servedAccountIds);
  const listed = listedStatuses(input.members);
  const byUser = (memberships: readonly { userId: string; accountId: string }[]) => {
    const accounts = new Map<string, string[]>();
    for (const { userId, accountId } of memberships) {
      if (subjectsOf.has(userId) && served.has(accountId)) accounts.set(userId, [...(accounts.get(userId) ?? []), accountId]);
    }
    return accounts;
  };
  const activeByUser = byUser(input.activeMemberships);
  const groupRemovedByUser = byUser(input.groupRemovedMemberships ?? []);

  const removals: OktaReconcileRemoval[] = [];
  const usersToCheck: string[] = [];
  for (const userId of new Set([...activeByUser.keys(), ...groupRemovedByUser.keys()])) {
    const accountIds = activeByUser.get(userId) ?? [];
    const subjects = subjectsOf.get(userId) as string[];
    const objectId = subjects[0] as string;
    const left = accountIds.filter((accountId) => {
      const groups = input.grants.get(accountId);
      // An account no group grants is not judged; a group not read is never evidence of leaving.
      return groups !== undefined && groups.length > 0 && !groups.some((group) => subjects.some((subject) => input.members.get(group)?.has(subject) ?? true));
    });
    // A status read now wins; a group listing's status is enough only where no account was left.
    const stateOf = (subject: string): OktaUserState | undefined => {
      const read = input.userStates?.get(subject);
      const status = listed.get(subject);
      return read ?? (left.length === 0 && status !== undefined ? { status } : undefined);
    };
    const listedGone = subjects.some((subject) => {
      const status = listed.get(subject);
      return status !== undefined && personRemovalReason({ status }, input.deprovisionOnSuspend) !== undefined;
    });
    // Whether the person is gone only matters if some account was left or some id is listed as gone.
    if (left.length === 0 && !listedGone) continue;
    const known = subjects.map(stateOf);
    const personReasons = known.map((state) => (state === undefined ? undefined : personRemovalReason(state, input.deprovisionOnSuspend)));
    const unknown = subjects.filter((_, index) => known[index] === undefined);
    if (unknown.length > 0) {
      usersToCheck.push(...unknown);
      continue;
    }
    const firstReason = personReasons[0];
    if (firstReason !== undefined && personReasons.every((reason) => reason !== undefined)) {
      const removedForGroups = groupRemovedByUser.get(userId) ?? [];
      removals.push(...[...accountIds, ...removedForGroups].map((accountId) => ({ userId, objectId, accountId, removal: 'user' as const, reason: firstReason })));
    } else {
      removals.push(...left.map((accountId) => ({ userId, objectId, accountId, removal: 'group' as const, reason: GROUP_REMOVAL_REASON })));
    }
  }
  return { removals, usersToCheck: [...new Set(usersToCheck)] };
}
