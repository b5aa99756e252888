/**
 * Checking memberships against Graph's group member lists: for each account, the groups that
 * grant it (from the SSO configs), their members now (delta query, every page), and every active
 * membership of a linked user in none of them is removed. Reconciliation (the daily schedule, a
 * `missed` lifecycle event, a recreated subscription) checks every account and linked user of a
 * connection; a group change checks only the accounts that group grants, and only the users it
 * may concern. The member lists hold direct members only, so a user they leave out is confirmed
 * with Graph's transitive checkMemberGroups before losing anything (nested groups count). Every
 * list and check is fetched before anything is written: if one fails, nothing is deleted.
 * Applying (applyReconciliation, removeAndRevoke) is shared with Okta reconciliation (okta-reconcile.ts).
 */
import { grantingGroupsByAccount, reconcileRemovals, type LinkedUser, type ReconcileRemoval } from '../domain/graph-deprovision.js';
import { mergePlans, outcomeOfPlan, planSoftDeletes, type EventOutcome, type IdpChangePlan, type Membership, type RemovalScope } from '../domain/memberships.js';
import { GraphRequestError, type GraphDirectory } from '../idp/graph.js';
import { directoryFor } from '../idp/graph-connection.js';
import type { Connection } from '../store/connections.js';
import { linkedUsers, membershipsByKey } from '../store/directory.js';
import { applyPlannedEvent, type InboxEventRef } from '../store/deprovision.js';
import { identityBySubject } from '../store/identities.js';
import { ssoConfigsServedBy } from '../store/sso-configs.js';
import { revokeIfNoAccessLeft } from './revoke-access.js';

/** What to check; by default everything of the connection. */
export type CheckScope = {
  accountIds?: readonly string[];
  users?: readonly LinkedUser[];
  /** Groups known to be gone (a `deleted` notification): not fetched, they grant nobody. */
  deletedGroups?: readonly string[];
  /**
   * The event the check runs for: memberships it soft-deleted on an earlier attempt (a retry
   * after a crash before the sign-outs) come back in `removedEarlier`.
   */
  eventId?: string;
};

export type ReconcileDiff = {
  connectionId: string;
  /** When the member lists were read: removals take this time, so a later sign-in wins (rule 3). */
  observedAt: string;
  groups: number;
  /** Granting groups Graph answered it does not have: they grant nobody. */
  missingGroups: string[];
  linkedUsers: number;
  activeMemberships: number;
  removals: ReconcileRemoval[];
  /**
   * Memberships the same event (CheckScope's eventId) soft-deleted on an earlier attempt: nothing
   * to write, but their users are signed out if left with no access (the attempt may have
   * crashed between its commit and the sign-outs, and no repair marker says so).
   */
  removedEarlier: ReconcileRemoval[];
  /** Memberships of users in no granting group directly, kept because Graph has them in one through a nested group. */
  keptThroughNestedGroups: number;
};

export class ReconcileFetchError extends Error {
  override name = 'ReconcileFetchError';
}

async function membersOf(graph: GraphDirectory, group: string): Promise<ReadonlySet<string> | 'missing'> {
  try {
    return new Set([...(await graph.groupMemberIds(group))].map((id) => id.toLowerCase()));
  } catch (error) {
    // A complete answer without the group: it no longer exists. Any other failure is a failed fetch.
    if (error instanceof GraphRequestError && error.code === 'GroupNotFound') return 'missing';
    throw new ReconcileFetchError(`could not list the members of group ${group}, nothing was deleted: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The member lists are direct members only (the members delta query does not expand nested
 * groups), while sign-in admits through a groups claim Entra fills transitively. So each user the
 * lists leave out of every granting group of an account is asked about with
 * `POST /users/{id}/checkMemberGroups`, which answers transitively: one call per user with
 * removals (the granting groups of those accounts, 20 ids a call), never one per linked user. A
 * user Graph no longer knows (404) is in no group. Groups known to be gone are not asked about.
 */
async function withoutNestedMembers(
  candidates: readonly ReconcileRemoval[],
  grants: ReadonlyMap<string, readonly string[]>,
  gone: ReadonlySet<string>,
  graphOf: () => Promise<GraphDirectory>,
): Promise<{ removals: ReconcileRemoval[]; kept: number }> {
  const byUser = new Map<string, ReconcileRemoval[]>();
  for (const removal of candidates) byUser.set(removal.objectId, [...(byUser.get(removal.objectId) ?? []), removal]);
  const removals: ReconcileRemoval[] = [];
  for (const [objectId, ofUser] of byUser) {
    const groups = [...new Set(ofUser.flatMap(({ accountId }) => grants.get(accountId) ?? []))].filter((group) => !gone.has(group)).sort();
    let memberOf: ReadonlySet<string> | undefined;
    try {
      memberOf = groups.length > 0 ? await (await graphOf()).memberGroupsOf(objectId, groups) : undefined;
    } catch (error) {
      throw new ReconcileFetchError(`could not check the group memberships (nested groups) of user ${objectId}, nothing was deleted: ${(error as Error).message}`, { cause: error });
    }
    removals.push(...ofUser.filter(({ accountId }) => !(grants.get(accountId) ?? []).some((group) => memberOf?.has(group))));
  }
  return { removals, kept: candidates.length - removals.length };
}

/**
 * The memberships of these users in these accounts, read strongly (the removals' plan is made
 * from the active ones): one BatchGetItem per 100 keys, the same read whatever their status.
 */
export async function membershipsIn(users: readonly { userId: string }[], accountIds: readonly string[]): Promise<Membership[]> {
  return membershipsByKey(users.flatMap(({ userId }) => accountIds.map((accountId) => ({ userId, accountId }))));
}

/** Soft-deleted by this event itself, on an earlier attempt of it (none without an event). */
export const removedBy = (eventId: string | undefined) => (membership: Membership): boolean =>
  eventId !== undefined && membership.status === 'deleted' && membership.eventId === eventId;

/** Reads everything and computes the diff; writes nothing. Throws a ReconcileFetchError if any Graph fetch fails. */
export async function reconcileDiff(
  connection: Connection,
  options: { scope?: CheckScope; onProgress?: (message: string) => void } = {},
): Promise<ReconcileDiff> {
  const scope = options.scope ?? {};
  const progress = options.onProgress ?? (() => undefined);
  const connectionId = connection.connectionId;
  const allGrants = grantingGroupsByAccount(await ssoConfigsServedBy(connectionId), connectionId);
  const grants = scope.accountIds ? new Map([...allGrants].filter(([accountId]) => scope.accountIds?.includes(accountId))) : allGrants;
  const groups = [...new Set([...grants.values()].flat())].sort();
  progress(`${connectionId}: ${grants.size} account(s), ${groups.length} granting group(s)`);

  // Memberships first: with no active one to judge, Graph is not asked at all.
  const linked: LinkedUser[] = scope.users
    ? [...scope.users]
    : (await linkedUsers(connectionId)).map(({ userId, subject }) => ({ userId, objectId: subject }));
  const memberships = await membershipsIn(linked, [...grants.keys()]);
  const activeMemberships = memberships.filter((membership) => membership.status === 'active');
  const objectIdOf = new Map(linked.map((user) => [user.userId, user.objectId]));
  const removedEarlier = memberships
    .filter(removedBy(scope.eventId))
    .flatMap(({ userId, accountId }) => (objectIdOf.has(userId) ? [{ userId, objectId: objectIdOf.get(userId) as string, accountId }] : []));
  progress(`${connectionId}: ${linked.length} linked user(s), ${activeMemberships.length} active membership(s)`);

  const observedAt = new Date().toISOString();
  const members = new Map<string, ReadonlySet<string>>();
  const missingGroups: string[] = [];
  const deleted = new Set((scope.deletedGroups ?? []).map((group) => group.toLowerCase()));
  for (const group of deleted) members.set(group, new Set());
  const toFetch = activeMemberships.length > 0 ? groups.filter((group) => !deleted.has(group)) : [];
  let graph: GraphDirectory | undefined;
  const graphOf = async () => (graph ??= await directoryFor(connection));
  for (const [index, group] of toFetch.entries()) {
    const found = await membersOf(await graphOf(), group);
    if (found === 'missing') missingGroups.push(group);
    members.set(group, found === 'missing' ? new Set() : found);
    progress(`${connectionId}: group ${index + 1}/${toFetch.length} ${group}: ${found === 'missing' ? 'not found in Entra ID' : `${found.size} member(s)`}`);
  }

  const candidates = reconcileRemovals({ grants, members, linked, activeMemberships });
  const { removals, kept } = await withoutNestedMembers(candidates, grants, new Set([...deleted, ...missingGroups]), graphOf);
  const nested = kept > 0 ? ` (${kept} kept: in a granting group through a nested group)` : '';
  progress(`${connectionId}: ${removals.length} membership(s) to remove${nested}`);
  return {
    connectionId,
    observedAt,
    groups: groups.length,
    missingGroups,
    linkedUsers: linked.length,
    activeMemberships: activeMemberships.length,
    removals,
    removedEarlier,
    keptThroughNestedGroups: kept,
  };
}

/**
 * Soft-deletes the removals as one event's effects (audited under its id), records the outcome
 * on the event and returns it. `time` is the IdP time the removals take; `describe` may reword
 * the outcome's detail (what else the event did).
 */
export type RemovalOptions = {
  /** The IdP time the removals take. */
  time: string;
  reason: string;
  removal: RemovalScope;
  /** Rewords the outcome's detail (what else the event did). */
  describe?: (detail: string) => string;
  /** Restores of the same event (a re-add in the same notification), committed with the removals. */
  alsoRestore?: IdpChangePlan;
  /** After the commit, also disable the Cognito user of someone left with no access (DISABLE_ON_DEPROVISION). */
  disableOnDeprovision: boolean;
  /** Whose Cognito users to sign out if left with no access: by default each removal's (and removedEarlier's) user and id. */
  revoke?: readonly LinkedUser[];
  /**
   * Memberships this same event soft-deleted on an earlier attempt (ReconcileDiff's
   * removedEarlier): counted in the outcome again (appliedEarlier, nothing written) and their
   * users signed out if left with no access.
   */
  removedEarlier?: readonly ReconcileRemoval[];
};

const pairKey = ({ userId, accountId }: { userId: string; accountId: string }) => `${userId}\u0000${accountId}`;

/**
 * The soft-deletes of these removals, one plan per (scope, reason) they carry (else the options'),
 * each over exactly its own (user, account) pairs; they never share a membership.
 */
function planRemovals(event: InboxEventRef, removals: readonly ReconcileRemoval[], current: readonly Membership[], options: RemovalOptions): IdpChangePlan {
  const kinds = new Map<string, { removal: RemovalScope; reason: string; pairs: Set<string> }>();
  for (const removal of removals) {
    const scope = removal.removal ?? options.removal;
    const reason = removal.reason ?? options.reason;
    const kind = kinds.get(`${scope}\u0000${reason}`) ?? { removal: scope, reason, pairs: new Set<string>() };
    kind.pairs.add(pairKey(removal));
    kinds.set(`${scope}\u0000${reason}`, kind);
  }
  const plans = [...kinds.values()].map(({ removal, reason, pairs }) =>
    planSoftDeletes(
      current.filter((membership) => pairs.has(pairKey(membership))),
      { accountIds: new Set(current.map(({ accountId }) => accountId)), occurredAt: options.time, eventId: event.eventId, reason, removal },
    ),
  );
  return plans.reduce((merged, plan) => mergePlans(merged, plan), { softDeletes: [], appliedEarlier: [], stale: [], alreadyDeleted: [] } as IdpChangePlan);
}

export async function applyRemovals(
  event: InboxEventRef,
  removals: readonly ReconcileRemoval[],
  options: RemovalOptions,
): Promise<EventOutcome> {
  // Exactly the (user, account) pairs to remove, read strongly: the plan's conditions are built on them.
  const earlier = options.removedEarlier ?? [];
  const read = await membershipsByKey([...removals, ...earlier].map(({ userId, accountId }) => ({ userId, accountId })));
  const toRemove = new Set(removals.map(pairKey));
  const current = read.filter((membership) => toRemove.has(pairKey(membership)));
  // Still as this event left them: nothing to write, but they are its effects (the outcome names them).
  const appliedEarlier = read.filter((membership) => !toRemove.has(pairKey(membership)) && removedBy(event.eventId)(membership));
  const ownPlan = planRemovals(event, removals, current, options);
  const removalPlan = appliedEarlier.length > 0 ? mergePlans(ownPlan, { softDeletes: [], appliedEarlier, stale: [], alreadyDeleted: [] }) : ownPlan;
  // A re-add in the same notification: its restores are effects of the same event (a restore
  // needs a deleted membership, a removal an active one, so they never touch the same item).
  const plan = options.alsoRestore ? mergePlans(removalPlan, options.alsoRestore) : removalPlan;
  const planned = outcomeOfPlan(plan);
  const outcome: EventOutcome = options.describe ? { ...planned, detail: options.describe(planned.detail) } : planned;
  await applyPlannedEvent({ event, plan, outcome });
  return outcome;
}

/** Signs out of Cognito each of these users who signed in through it and has no active membership left. */
async function revokeLeavers(event: InboxEventRef, users: readonly LinkedUser[], disableOnDeprovision: boolean): Promise<void> {
  for (const { objectId } of users) {
    const identity = await identityBySubject(event.connectionId, objectId);
    if (identity) await revokeIfNoAccessLeft(event, identity, disableOnDeprovision);
  }
}

/** applyRemovals, then sign out of Cognito those removed who have no access left. */
export async function removeAndRevoke(event: InboxEventRef, removals: readonly ReconcileRemoval[], options: RemovalOptions): Promise<EventOutcome> {
  const outcome = await applyRemovals(event, removals, options);
  const everyRemoval = [...removals, ...(options.removedEarlier ?? [])];
  const users = options.revoke ?? [...new Map(everyRemoval.map(({ userId, objectId }) => [`${userId}\u0000${objectId}`, { userId, objectId }])).values()];
  await revokeLeavers(event, users, options.disableOnDeprovision);
  return outcome;
}

function summaryOf(diff: ReconcileDiff, note?: string): string {
  const missing = diff.missingGroups.length ? ` (${diff.missingGroups.length} not found in Entra ID: ${diff.missingGroups.join(', ')})` : '';
  const nested = diff.keptThroughNestedGroups > 0 ? `, ${diff.keptThroughNestedGroups} membership(s) kept through nested groups` : '';
  return `${note ? `${note}; ` : ''}reconciled ${diff.groups} group(s)${missing}, ${diff.linkedUsers} linked user(s)${nested}`;
}

/**
 * Records a reconciliation (Entra or Okta) on its event: the removals soft-deleted under its id,
 * then who has no access left signed out; or "nothing to remove". The outcome starts with `summary`.
 */
export async function applyReconciliation(
  event: InboxEventRef,
  removals: readonly ReconcileRemoval[],
  options: Omit<RemovalOptions, 'describe' | 'alsoRestore'> & { summary: string },
): Promise<EventOutcome> {
  const { summary, ...removalOptions } = options;
  // A retry of an event whose first attempt committed its removals: they still get their sign-outs.
  if (removals.length === 0 && (options.removedEarlier ?? []).length === 0) {
    const outcome: EventOutcome = { status: 'applied', detail: `${summary}: nothing to remove` };
    await applyPlannedEvent({ event, outcome });
    return outcome;
  }
  return removeAndRevoke(event, removals, { ...removalOptions, describe: (detail) => `${summary}: ${detail}` });
}

/** Applies a reconciliation's diff (also for `npm run reconcile`), then signs out who has no access left. */
export async function applyReconcileDiff(event: InboxEventRef, diff: ReconcileDiff, options: { disableOnDeprovision: boolean; note?: string }): Promise<EventOutcome> {
  return applyReconciliation(event, diff.removals, {
    summary: summaryOf(diff, options.note),
    disableOnDeprovision: options.disableOnDeprovision,
    time: diff.observedAt,
    reason: 'reconcile: in no Entra group that grants access',
    removal: 'group',
    removedEarlier: diff.removedEarlier,
  });
}

export async function reconcileConnection(connection: Connection, event: InboxEventRef, options: { disableOnDeprovision: boolean; note?: string }): Promise<EventOutcome> {
  return applyReconcileDiff(event, await reconcileDiff(connection, { scope: { eventId: event.eventId } }), options);
}
