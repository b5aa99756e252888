/**
 * Reconciliation of one Entra connection: the safety net under notifications (a `missed`
 * lifecycle event, a recreated subscription, the daily schedule). For every group that grants
 * access to one of the connection's accounts, list its members (delta query, every page), then
 * soft-delete each linked user's active membership in an account none of whose groups still has
 * them. Every list is fetched before anything is written: if one fetch fails, nothing is deleted.
 */
import type { AccountSsoConfig } from '../domain/admission.js';
import { grantingGroupsByAccount, reconcileRemovals, type LinkedUser, type ReconcileRemoval } from '../domain/graph-deprovision.js';
import { outcomeOfPlan, planSoftDeletes, type EventOutcome, type SoftDeletePlan } from '../domain/memberships.js';
import type { GraphDirectory } from '../idp/graph.js';
import type { Connection } from '../store/connections.js';
import { membershipsByKey } from '../store/directory.js';
import { applyPlannedEvent, type InboxEventRef } from '../store/deprovision.js';

export type ReconcileDeps = {
  ssoConfigsServedBy: (connectionId: string) => Promise<AccountSsoConfig[]>;
  linkedUsers: (connectionId: string) => Promise<{ userId: string; subject: string }[]>;
  directoryFor: (connection: Connection) => Promise<GraphDirectory>;
  onProgress?: (message: string) => void;
  /** After a commit: sign out of Cognito the users left with no active membership. */
  revokeLeavers?: (event: InboxEventRef, users: readonly LinkedUser[]) => Promise<void>;
};

export type ReconcileDiff = {
  connectionId: string;
  /** When the member lists were read: removals take this time, so a later sign-in wins (rule 3). */
  observedAt: string;
  groups: number;
  linkedUsers: number;
  activeMemberships: number;
  removals: ReconcileRemoval[];
};

export class ReconcileFetchError extends Error {
  override name = 'ReconcileFetchError';
}

/** Reads everything and computes the diff; writes nothing. Throws a ReconcileFetchError if any Graph fetch fails. */
export async function reconcileDiff(connection: Connection, deps: ReconcileDeps): Promise<ReconcileDiff> {
  const progress = deps.onProgress ?? (() => undefined);
  const connectionId = connection.connectionId;
  const grants = grantingGroupsByAccount(await deps.ssoConfigsServedBy(connectionId), connectionId);
  const groups = [...new Set([...grants.values()].flat())].sort();
  progress(`${connectionId}: ${grants.size} account(s), ${groups.length} granting group(s)`);

  const graph = await deps.directoryFor(connection);
  const observedAt = new Date().toISOString();
  const members = new Map<string, ReadonlySet<string>>();
  for (const [index, group] of groups.entries()) {
    try {
      const ids = await graph.groupMemberIds(group);
      members.set(group, new Set([...ids].map((id) => id.toLowerCase())));
      progress(`${connectionId}: group ${index + 1}/${groups.length} ${group}: ${ids.size} member(s)`);
    } catch (error) {
      throw new ReconcileFetchError(`could not list the members of group ${group}, nothing was deleted: ${(error as Error).message}`, { cause: error });
    }
  }

  const linked: LinkedUser[] = (await deps.linkedUsers(connectionId)).map(({ userId, subject }) => ({ userId, objectId: subject }));
  const memberships = await membershipsByKey(linked.flatMap(({ userId }) => [...grants.keys()].map((accountId) => ({ userId, accountId }))));
  const activeMemberships = memberships.filter((membership) => membership.status === 'active');
  const removals = reconcileRemovals({ grants, members, linked, activeMemberships });
  progress(`${connectionId}: ${linked.length} linked user(s), ${activeMemberships.length} active membership(s), ${removals.length} to remove`);
  return { connectionId, observedAt, groups: groups.length, linkedUsers: linked.length, activeMemberships: activeMemberships.length, removals };
}

/** Applies a diff as one event's effects (audited under its id), with the outcome recorded on it. */
export async function applyReconcileDiff(event: InboxEventRef, diff: ReconcileDiff, note?: string): Promise<EventOutcome> {
  const byUser = new Map<string, string[]>();
  for (const { userId, accountId } of diff.removals) byUser.set(userId, [...(byUser.get(userId) ?? []), accountId]);
  const current = await membershipsByKey(diff.removals.map(({ userId, accountId }) => ({ userId, accountId })));
  const plans = [...byUser].map(([userId, accountIds]) =>
    planSoftDeletes(
      current.filter((membership) => membership.userId === userId),
      { accountIds: new Set(accountIds), occurredAt: diff.observedAt, eventId: event.eventId, reason: 'reconcile: in no Entra group that grants access' },
    ),
  );
  const plan: SoftDeletePlan = {
    softDeletes: plans.flatMap((p) => p.softDeletes),
    appliedEarlier: plans.flatMap((p) => p.appliedEarlier),
    stale: plans.flatMap((p) => p.stale),
    alreadyDeleted: plans.flatMap((p) => p.alreadyDeleted),
  };
  const summary = `${note ? `${note}; ` : ''}reconciled ${diff.groups} group(s), ${diff.linkedUsers} linked user(s)`;
  const outcome: EventOutcome =
    diff.removals.length === 0 ? { status: 'applied', detail: `${summary}: nothing to remove` } : { ...outcomeOfPlan(plan), detail: `${summary}: ${outcomeOfPlan(plan).detail}` };
  await applyPlannedEvent({ event, plan, outcome });
  return outcome;
}

export async function reconcileConnection(connection: Connection, event: InboxEventRef, deps: ReconcileDeps, note?: string): Promise<EventOutcome> {
  const diff = await reconcileDiff(connection, deps);
  const outcome = await applyReconcileDiff(event, diff, note);
  const users = [...new Map(diff.removals.map(({ userId, objectId }) => [userId, { userId, objectId }])).values()];
  await deps.revokeLeavers?.(event, users);
  return outcome;
}
