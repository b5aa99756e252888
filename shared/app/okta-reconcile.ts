/**
 * Okta reconciliation through the Okta API: for an Okta connection with an org URL and an API
 * token, the members of every group that grants an account (found by exact name, every page),
 * then the status of each linked user the lists leave out of an account's groups (one GET per
 * such user), and the diff of shared/domain/okta-reconcile.ts. Everything is read before anything
 * is written: if one read fails, nothing is deleted (ReconcileFetchError). Applying goes through
 * the same path as Entra's reconciliation (applyReconciliation): an audit entry per effect under
 * the request event's id, the outcome on the event, Cognito sign-out of who has no access left.
 */
import { grantingGroupsByAccount, type ReconcileRemoval } from '../domain/graph-deprovision.js';
import { removedByIdp, type EventOutcome } from '../domain/memberships.js';
import { GROUP_REMOVAL_REASON, planOktaReconcile, type OktaReconcileRemoval, type OktaUserState } from '../domain/okta-reconcile.js';
import { oktaDirectory, type OktaDirectory } from '../idp/okta-directory.js';
import { secretValue } from '../idp/secrets.js';
import type { InboxEventRef } from '../store/deprovision.js';
import { linkedUsers } from '../store/directory.js';
import { ssoConfigsServedBy } from '../store/sso-configs.js';
import type { PollableConnection } from './okta-log-poller.js';
import { applyReconciliation, membershipsIn, ReconcileFetchError, removedBy } from './reconcile-connection.js';

export type OktaReconcileDiff = {
  connectionId: string;
  /** When the lists were read: removals take this time, so a later sign-in wins (rule 3). */
  observedAt: string;
  /** Granting group names. */
  groups: number;
  /** Names Okta found no group of: the accounts they grant were not judged for group removals. */
  missingGroups: string[];
  linkedUsers: number;
  activeMemberships: number;
  /** Users whose status was read (left out of an account's granting groups). */
  usersChecked: number;
  removals: OktaReconcileRemoval[];
  /**
   * Memberships the same event (Options' eventId) soft-deleted on an earlier attempt: nothing to
   * write, but their users are signed out if left with no access (see ReconcileDiff).
   */
  removedEarlier: ReconcileRemoval[];
  /** Every Okta id linked to a user with removals: each one's Cognito user is signed out if left with no access. */
  revoke: Array<{ userId: string; objectId: string }>;
  /** Okta API requests the run made: group pages + one per checked user (+ retried 429s). */
  oktaRequests: number;
};

type Options = {
  onProgress?: (message: string) => void;
  directory?: OktaDirectory;
  /** The event the reconciliation runs for: what it soft-deleted on an earlier attempt comes back in removedEarlier. */
  eventId?: string;
};

async function read<T>(what: string, reading: () => Promise<T>): Promise<T> {
  try {
    return await reading();
  } catch (error) {
    throw new ReconcileFetchError(`could not read ${what} from Okta, nothing was deleted: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Every member (Okta id → status) of the Okta groups of each name. A name Okta finds no group of is
 * left out, so it is no evidence that anyone left: a search can miss a group that exists (Okta's
 * search index lags behind changes), and taking that for "grants nobody" would remove everyone the
 * name grants. The outcome names it instead, for a person to fix (a renamed or deleted group).
 */
async function membersByGroupName(okta: OktaDirectory, names: readonly string[], progress: (message: string) => void, connectionId: string) {
  const members = new Map<string, Map<string, string>>();
  const missingGroups: string[] = [];
  for (const [index, name] of names.entries()) {
    const groups = await read(`the groups named "${name}"`, () => okta.groupsNamed(name));
    if (groups.length === 0) missingGroups.push(name);
    const ofName = new Map<string, string>();
    for (const group of groups) {
      const listed = await read(`the members of group "${name}" (${group.id})`, () =>
        okta.membersOf(group, (page, count) => progress(`${connectionId}: group ${index + 1}/${names.length} ${name} (${group.id}): page ${page}, ${count} member(s)`)),
      );
      for (const { oktaUserId, status } of listed) ofName.set(oktaUserId, status);
    }
    if (groups.length > 0) members.set(name, ofName);
    progress(`${connectionId}: group ${index + 1}/${names.length} ${name}: ${groups.length === 0 ? 'not found in Okta' : `${ofName.size} member(s) in ${groups.length} Okta group(s)`}`);
  }
  return { members, missingGroups };
}

/** Reads everything and computes the diff; writes nothing. Throws a ReconcileFetchError if any Okta read fails. */
export async function oktaReconcileDiff(connection: PollableConnection, options: Options = {}): Promise<OktaReconcileDiff> {
  const progress = options.onProgress ?? (() => undefined);
  const { connectionId } = connection;
  const configs = await ssoConfigsServedBy(connectionId);
  const grants = grantingGroupsByAccount(configs, connectionId, 'okta');
  const servedAccountIds = configs.map(({ accountId }) => accountId);
  const names = [...new Set([...grants.values()].flat())].sort();
  progress(`${connectionId}: ${servedAccountIds.length} account(s), ${names.length} granting group(s)`);

  const linked = (await linkedUsers(connectionId)).map(({ userId, subject }) => ({ userId, oktaUserId: subject }));
  const memberships = await membershipsIn(linked, servedAccountIds);
  const activeMemberships = memberships.filter((membership) => membership.status === 'active');
  // What a group re-add could give back: a removal of the person found now covers it too.
  const groupRemovedMemberships = memberships.filter((membership) => removedByIdp(membership) && membership.removal === 'group');
  progress(`${connectionId}: ${linked.length} linked user(s), ${activeMemberships.length} active membership(s)`);
  const observedAt = new Date().toISOString();
  const oktaIdOf = new Map(linked.map(({ userId, oktaUserId }) => [userId, oktaUserId]));
  const removedEarlier = memberships
    .filter(removedBy(options.eventId))
    .flatMap(({ userId, accountId }) => (oktaIdOf.has(userId) ? [{ userId, objectId: oktaIdOf.get(userId) as string, accountId }] : []));
  /** Every Okta id linked to a user with removals (now or on an earlier attempt of the event). */
  const revokeOf = (removals: readonly { userId: string }[]) => {
    const removed = new Set([...removals, ...removedEarlier].map(({ userId }) => userId));
    return linked.filter(({ userId }) => removed.has(userId)).map(({ userId, oktaUserId }) => ({ userId, objectId: oktaUserId }));
  };
  const base = { connectionId, observedAt, groups: names.length, linkedUsers: linked.length, activeMemberships: activeMemberships.length, removedEarlier };
  // With no membership to judge (active, or one a group re-add could give back), Okta is not asked at all.
  if (activeMemberships.length === 0 && groupRemovedMemberships.length === 0) return { ...base, missingGroups: [], usersChecked: 0, removals: [], revoke: revokeOf([]), oktaRequests: 0 };

  const okta = options.directory ?? oktaDirectory(connection.orgUrl, await read('the API token', () => secretValue(connection.oktaApiTokenRef)));
  const { members, missingGroups } = await membersByGroupName(okta, names, progress, connectionId);
  const input = { grants, servedAccountIds, members, linked, activeMemberships, groupRemovedMemberships, deprovisionOnSuspend: connection.deprovisionOnSuspend !== false };
  const { usersToCheck } = planOktaReconcile(input);
  const userStates = new Map<string, OktaUserState>();
  for (const oktaUserId of usersToCheck) userStates.set(oktaUserId, await read(`user ${oktaUserId}`, () => okta.userState(oktaUserId)));
  if (usersToCheck.length > 0) progress(`${connectionId}: checked the status of ${usersToCheck.length} user(s) in no granting group`);
  const { removals } = planOktaReconcile({ ...input, userStates });
  progress(`${connectionId}: ${removals.length} membership(s) to remove`);
  return { ...base, missingGroups, usersChecked: usersToCheck.length, removals, revoke: revokeOf(removals), oktaRequests: okta.requests };
}

function summaryOf(diff: OktaReconcileDiff): string {
  const missing = diff.missingGroups.length
    ? ` (${diff.missingGroups.length} not found in Okta, the accounts they grant not checked for group removals — renamed or deleted? update the SSO config: ${diff.missingGroups.join(', ')})`
    : '';
  return `reconciled ${diff.groups} Okta group name(s)${missing}, ${diff.linkedUsers} linked user(s), ${diff.usersChecked} user status(es) read`;
}

/** Applies an Okta reconciliation's diff (also for `npm run reconcile`), then signs out who has no access left. */
export function applyOktaReconcileDiff(event: InboxEventRef, diff: OktaReconcileDiff, options: { disableOnDeprovision: boolean }): Promise<EventOutcome> {
  return applyReconciliation(event, diff.removals, {
    summary: summaryOf(diff),
    disableOnDeprovision: options.disableOnDeprovision,
    revoke: diff.revoke,
    removedEarlier: diff.removedEarlier,
    time: diff.observedAt,
    // Each removal carries its own scope and reason; these are never used.
    reason: GROUP_REMOVAL_REASON,
    removal: 'group',
  });
}

export async function oktaReconcileConnection(connection: PollableConnection, event: InboxEventRef, options: { disableOnDeprovision: boolean }): Promise<EventOutcome> {
  return applyOktaReconcileDiff(event, await oktaReconcileDiff(connection, { eventId: event.eventId }), options);
}
