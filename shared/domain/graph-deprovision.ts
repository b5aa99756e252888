/**
 * What a Graph notification means for memberships. A notification is a hint; Graph is the
 * truth: a user update is answered by asking Graph for the user, a group change without a
 * member delta by asking Graph for the members. Pure: the answers come in as arguments.
 */
import { highestRole, type AccountSsoConfig } from './admission.js';
import type { RemovalScope, Role } from './memberships.js';
import type { GraphChangeRecord } from './graph-notifications.js';

export type GraphIntent =
  /** The user is gone (or disabled): every membership in the connection's accounts goes. */
  | { kind: 'removeUser'; objectId: string; reason: string }
  /** Ask Graph whether the user still exists and is enabled. */
  | { kind: 'checkUser'; objectId: string }
  /**
   * Graph lists these members as removed: check them against the groups of the accounts the
   * group grants. Those it lists as added may get back what an earlier removal took.
   */
  | { kind: 'removeFromGroup'; groupId: string; objectIds: string[]; addedObjectIds: string[] }
  /** Ask Graph which linked users are no longer members of the group. */
  | { kind: 'checkGroup'; groupId: string }
  /** The group itself was deleted: every linked user loses what it granted. */
  | { kind: 'groupDeleted'; groupId: string }
  | { kind: 'skip'; reason: string };

export function decideGraphChange(record: GraphChangeRecord): GraphIntent {
  const { resourceType, changeType, resourceId } = record;
  if (resourceType === 'users') {
    if (changeType === 'deleted') return { kind: 'removeUser', objectId: resourceId, reason: 'user permanently deleted in Entra ID' };
    if (changeType === 'updated') return { kind: 'checkUser', objectId: resourceId };
  }
  if (resourceType === 'groups') {
    if (changeType === 'deleted') return { kind: 'groupDeleted', groupId: resourceId };
    if (changeType === 'updated') {
      return record.removedMembers
        ? { kind: 'removeFromGroup', groupId: resourceId, objectIds: record.removedMembers, addedObjectIds: record.addedMembers ?? [] }
        : { kind: 'checkGroup', groupId: resourceId };
    }
  }
  return { kind: 'skip', reason: `${resourceType} ${changeType} notifications are not acted on` };
}

export type GraphUserState = { accountEnabled: boolean | undefined } | undefined;

/** The answer to GET /users/{id}: 404 means soft-deleted; disabled counts when the connection says so. */
export function decideUserState(user: GraphUserState, deprovisionOnDisable: boolean): { remove: true; reason: string } | { remove: false; reason: string } {
  if (user === undefined) return { remove: true, reason: 'user deleted in Entra ID (Graph answers 404)' };
  if (user.accountEnabled === false) {
    return deprovisionOnDisable
      ? { remove: true, reason: 'user disabled in Entra ID (accountEnabled false)' }
      : { remove: false, reason: 'user disabled in Entra ID, but this connection keeps disabled users (deprovisionOnDisable off)' };
  }
  return { remove: false, reason: 'user still exists and is enabled in Entra ID' };
}

export type LinkedUser = { userId: string; objectId: string };

/**
 * For each account this connection serves with SSO, the groups that grant access: Entra object
 * ids lowercased (Graph and the claims spell them in either case), Okta group names exactly as
 * written (the groups claim carries names, and sign-in compares them exactly).
 */
export function grantingGroupsByAccount(configs: readonly AccountSsoConfig[], connectionId: string, idp: 'entra' | 'okta' = 'entra'): Map<string, string[]> {
  const spelling = idp === 'entra' ? (group: string) => group.toLowerCase() : (group: string) => group;
  const byAccount = new Map<string, string[]>();
  for (const { accountId, ssoConfig } of configs) {
    const groups = ssoConfig.providers
      .filter((provider) => provider.connectionId === connectionId)
      .flatMap((provider) => provider.groups.map(({ group }) => spelling(group)));
    if (groups.length > 0) byAccount.set(accountId, [...new Set(groups)]);
  }
  return byAccount;
}

export type ReconcileRemoval = {
  userId: string;
  /** The user's subject at the IdP (Entra object id, Okta user id): how revocation finds their Cognito user. */
  objectId: string;
  accountId: string;
  /** This removal's own scope and reason, where one event mixes both (Okta reconciliation); else the event's. */
  removal?: RemovalScope;
  reason?: string;
};

/**
 * Reconciliation's diff: every active membership of a linked user in an account this connection
 * grants, whose user is in none of that account's granting groups any more. Deleted users are
 * in no group, so they are found too. Only accounts in `grants` are judged.
 */
export function reconcileRemovals(input: {
  grants: ReadonlyMap<string, readonly string[]>;
  members: ReadonlyMap<string, ReadonlySet<string>>;
  linked: readonly LinkedUser[];
  activeMemberships: readonly { userId: string; accountId: string }[];
}): ReconcileRemoval[] {
  const objectIdOf = new Map(input.linked.map((user) => [user.userId, user.objectId]));
  const removals: ReconcileRemoval[] = [];
  for (const { userId, accountId } of input.activeMemberships) {
    const objectId = objectIdOf.get(userId);
    const groups = input.grants.get(accountId);
    if (!objectId || !groups) continue;
    const stillGranted = groups.some((group) => {
      const members = input.members.get(group);
      // A group we have no member list for is never evidence that someone left.
      return members === undefined || members.has(objectId);
    });
    if (!stillGranted) removals.push({ userId, objectId, accountId });
  }
  return removals;
}

/**
 * The role each account grants to a member of these groups (Entra object ids, lowercased): the
 * highest among the account's groups for this connection that the user is in.
 */
export function rolesGrantedTo(configs: readonly AccountSsoConfig[], connectionId: string, memberOf: ReadonlySet<string>): Map<string, Role> {
  const roles = new Map<string, Role>();
  for (const { accountId, ssoConfig } of configs) {
    const granted = ssoConfig.providers
      .filter((provider) => provider.connectionId === connectionId)
      .flatMap((provider) => provider.groups)
      .filter(({ group }) => memberOf.has(group.toLowerCase()))
      .map(({ role }) => role);
    const role = highestRole(granted);
    if (role) roles.set(accountId, role);
  }
  return roles;
}
