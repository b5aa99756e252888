/**
 * Processes one stored Graph notification (or reconcile request). State-based: a user update
 * asks Graph for the user, a group change without a member delta asks Graph for the members,
 * so a duplicate or late notification cannot do harm. Only ever soft-deletes; a user who never
 * signed in through this connection is skipped and nothing is created. A failing Graph call
 * throws, so the stream retries the event and finally dead-letters it.
 */
import { decideGraphChange, decideUserState, grantingGroupsByAccount, rolesGrantedTo, type GraphIntent, type LinkedUser } from '../domain/graph-deprovision.js';
import type { AccountSsoConfig } from '../domain/admission.js';
import { mergePlans, outcomeOfPlan, planRestores, removedByIdp, type EventOutcome, type IdpChangePlan } from '../domain/memberships.js';
import type { GraphDirectory } from '../idp/graph.js';
import { removeAndRevoke, type CheckScope, type ReconcileDiff } from './reconcile-connection.js';
import type { Connection, ConnectionWithSubscriptions } from '../store/connections.js';
import { membershipsByKey, membershipsOfUser, type AccountLookups } from '../store/directory.js';
import { applyPlannedEvent, type InboxEventRef } from '../store/deprovision.js';
import type { GraphInboxEvent } from '../store/graph-inbox.js';

export type GraphProcessingDeps = {
  accounts: AccountLookups;
  ssoConfigsServedBy: (connectionId: string) => Promise<AccountSsoConfig[]>;
  connection: (connectionId: string) => Promise<ConnectionWithSubscriptions | undefined>;
  /** The Graph client for a connection (its secret read from Secrets Manager): only built when a call is needed. */
  directoryFor: (connection: Connection) => Promise<GraphDirectory>;
  userIdBySubject: (connectionId: string, objectId: string) => Promise<string | undefined>;
  /** After a commit: sign out of Cognito those of these users left with no active membership. */
  revokeLeavers: (event: InboxEventRef, users: readonly LinkedUser[]) => Promise<void>;
  /** Lifecycle: recreate a subscription Graph no longer holds; reconcile a connection. */
  recreateSubscription: (found: ConnectionWithSubscriptions, subscriptionId: string) => Promise<string>;
  /** Reconciles and records the outcome on the event; `note` leads its detail. */
  reconcile: (connection: Connection, event: GraphInboxEvent, note?: string) => Promise<EventOutcome>;
  /** The accounts a group change concerns, checked against Graph's member lists (no writes). */
  checkGroups: (connection: Connection, scope: CheckScope) => Promise<ReconcileDiff>;
};

const skipped = (detail: string): EventOutcome => ({ status: 'skipped', detail });

async function linkedByObjectIds(connectionId: string, objectIds: readonly string[], deps: GraphProcessingDeps): Promise<{ linked: LinkedUser[]; unlinked: number }> {
  const found = await Promise.all(objectIds.map(async (objectId) => ({ objectId, userId: await deps.userIdBySubject(connectionId, objectId) })));
  const linked = found.flatMap(({ objectId, userId }) => (userId ? [{ userId, objectId }] : []));
  return { linked, unlinked: found.length - linked.length };
}

async function processIntent(event: GraphInboxEvent, connection: Connection, intent: GraphIntent, deps: GraphProcessingDeps): Promise<EventOutcome> {
  const connectionId = connection.connectionId;
  switch (intent.kind) {
    case 'skip':
      return finish(event, skipped(intent.reason));
    case 'removeUser':
    case 'checkUser': {
      const userId = await deps.userIdBySubject(connectionId, intent.objectId);
      if (!userId) return finish(event, skipped('user never signed in through this connection (no linked object id)'));
      const accountIds = await deps.accounts.accountIdsServedBy(connectionId);
      if (accountIds.length === 0) return finish(event, skipped('this connection serves no account'));
      let reason = intent.kind === 'removeUser' ? intent.reason : '';
      if (intent.kind === 'checkUser') {
        // Skip the Graph call when there is nothing the answer could change.
        const active = (await membershipsOfUser(userId)).filter((m) => m.status === 'active' && accountIds.includes(m.accountId));
        if (active.length === 0) return finish(event, skipped('the user has no active membership in the accounts this connection serves'));
        const graph = await deps.directoryFor(connection);
        const decision = decideUserState(await graph.getUser(intent.objectId), connection.deprovisionOnDisable);
        if (!decision.remove) return finish(event, skipped(decision.reason));
        reason = decision.reason;
      }
      const removals = accountIds.map((accountId) => ({ userId, objectId: intent.objectId, accountId }));
      return removeAndRevoke(event, removals, deps, { time: event.published, reason, removal: 'user' });
    }
    case 'removeFromGroup':
    case 'checkGroup':
    case 'groupDeleted':
      return processGroupChange(event, connection, intent, deps);
  }
}

/**
 * Members Graph lists as added to a group get back what an earlier group removal took, in the
 * accounts this group grants, once Graph confirms (checkMemberGroups, nested groups included)
 * that a group granting the account has them now; the role is what those groups grant.
 * Removals of the person (deleted, disabled) and removals by sign-in or admin stay. Graph is
 * asked only about users with something to give back.
 */
async function planReAdds(event: GraphInboxEvent, connection: Connection, groupId: string, objectIds: readonly string[], deps: GraphProcessingDeps): Promise<IdpChangePlan | undefined> {
  if (objectIds.length === 0) return undefined;
  const connectionId = connection.connectionId;
  const accountIds = await deps.accounts.accountIdsGrantedByGroup(connectionId, groupId);
  const { linked } = await linkedByObjectIds(connectionId, objectIds, deps);
  const memberships = await membershipsByKey(linked.flatMap(({ userId }) => accountIds.map((accountId) => ({ userId, accountId }))));
  // Given back earlier by this same event (a retry), or removed by a group change.
  const concerned = memberships.filter((m) => (removedByIdp(m) && m.removal === 'group') || (m.status === 'active' && m.eventId === event.eventId));
  if (concerned.length === 0) return undefined;
  const configs = (await deps.ssoConfigsServedBy(connectionId)).filter(({ accountId }) => accountIds.includes(accountId));
  const grants = grantingGroupsByAccount(configs, connectionId);
  const graph = await deps.directoryFor(connection);
  let plan: IdpChangePlan | undefined;
  for (const { userId, objectId } of linked) {
    const theirs = concerned.filter((m) => m.userId === userId);
    const groups = [...new Set(theirs.flatMap(({ accountId }) => grants.get(accountId) ?? []))];
    if (groups.length === 0) continue;
    const memberOf = await graph.memberGroupsOf(objectId, groups);
    if (!memberOf) continue; // gone from Entra ID: nothing comes back
    const userPlan = planRestores(theirs, {
      roles: rolesGrantedTo(configs, connectionId, memberOf),
      occurredAt: event.published,
      eventId: event.eventId,
      reason: `re-added to Entra group ${groupId} (confirmed with Graph)`,
    });
    plan = plan ? mergePlans(plan, userPlan) : userPlan;
  }
  return plan;
}

/**
 * A group change, checked against Graph: the users it may concern (those `members@delta` lists
 * as removed, or every linked user with an active membership the group grants) lose a
 * membership only when none of the account's granting groups has them any more. So a user
 * re-added meanwhile, or still in another group for the same account, keeps it; and a
 * notification read twice (Graph resends) does no harm. Members listed as added may get back
 * what a group removal took (planReAdds), in the same commit.
 */
async function processGroupChange(
  event: GraphInboxEvent,
  connection: Connection,
  intent: Extract<GraphIntent, { kind: 'removeFromGroup' | 'checkGroup' | 'groupDeleted' }>,
  deps: GraphProcessingDeps,
): Promise<EventOutcome> {
  const connectionId = connection.connectionId;
  const accountIds = await deps.accounts.accountIdsGrantedByGroup(connectionId, intent.groupId);
  if (accountIds.length === 0) return finish(event, skipped(`group ${intent.groupId} is not configured for any account of this connection`));
  const reAdds = intent.kind === 'removeFromGroup' ? await planReAdds(event, connection, intent.groupId, intent.addedObjectIds, deps) : undefined;
  // Nothing to remove: the outcome is the re-adds' when there are any.
  const unlessReAdded = (outcome: EventOutcome) => (reAdds && outcomeOfPlan(reAdds).status === 'applied' ? commitPlan(event, reAdds) : finish(event, outcome));
  // Those listed as removed, or every linked user (the check reads only their memberships there).
  const { linked: candidates, unlinked } =
    intent.kind === 'removeFromGroup' ? await linkedByObjectIds(connectionId, intent.objectIds, deps) : { linked: undefined, unlinked: 0 };
  if (candidates?.length === 0) return unlessReAdded(skipped('no removed member ever signed in through this connection'));
  const diff = await deps.checkGroups(connection, {
    accountIds,
    users: candidates,
    deletedGroups: intent.kind === 'groupDeleted' ? [intent.groupId] : [],
  });
  if (diff.activeMemberships === 0) return unlessReAdded(skipped('no user concerned has an active membership this group grants'));
  const unlinkedNote = unlinked > 0 ? `; ${unlinked} removed member(s) never signed in through this connection, skipped` : '';
  if (diff.removals.length === 0) {
    return unlessReAdded(skipped(`every user concerned is still in a group that grants the account${unlinkedNote}`));
  }
  const reason =
    intent.kind === 'groupDeleted' ? `Entra group ${intent.groupId} deleted` : `in no Entra group that grants access (after a change of group ${intent.groupId})`;
  return removeAndRevoke(event, diff.removals, deps, { time: event.published, reason, removal: 'group', alsoRestore: reAdds, describe: (detail) => `${detail}${unlinkedNote}` });
}

async function commitPlan(event: GraphInboxEvent, plan: IdpChangePlan): Promise<EventOutcome> {
  const outcome = outcomeOfPlan(plan);
  await applyPlannedEvent({ event, plan, outcome });
  return outcome;
}

async function finish(event: GraphInboxEvent, outcome: EventOutcome): Promise<EventOutcome> {
  await applyPlannedEvent({ event, outcome });
  return outcome;
}

/** Recreates a subscription unless an earlier attempt at this event already replaced it (a retry after a later step failed). */
async function replaceSubscription(found: ConnectionWithSubscriptions, subscriptionId: string, deps: GraphProcessingDeps): Promise<string> {
  if (!found.subscriptions.some((held) => held.subscriptionId === subscriptionId)) return `subscription ${subscriptionId} is no longer held (already replaced)`;
  return `subscription ${subscriptionId} recreated as ${await deps.recreateSubscription(found, subscriptionId)}`;
}

async function processLifecycle(event: GraphInboxEvent, found: ConnectionWithSubscriptions, deps: GraphProcessingDeps): Promise<EventOutcome> {
  if (event.record.kind !== 'lifecycle') throw new Error('not a lifecycle event');
  const { subscriptionId, lifecycleEvent } = event.record;
  const { connection } = found;
  switch (lifecycleEvent) {
    case 'reauthorizationRequired': {
      const graph = await deps.directoryFor(connection);
      if (await graph.reauthorizeSubscription(subscriptionId)) return finish(event, { status: 'applied', detail: `subscription ${subscriptionId} reauthorized` });
      // Gone from Graph: changes since were not notified, so reconcile after recreating it.
      return deps.reconcile(connection, event, `Graph no longer knows it: ${await replaceSubscription(found, subscriptionId, deps)}`);
    }
    case 'subscriptionRemoved':
      return deps.reconcile(connection, event, await replaceSubscription(found, subscriptionId, deps));
    case 'missed':
      return deps.reconcile(connection, event);
    default:
      return finish(event, skipped(`lifecycle event "${lifecycleEvent}" is not acted on`));
  }
}

/** Processes one Graph inbox event and records its outcome; throws (to be retried) when Graph or DynamoDB fails. */
export async function processGraphEvent(event: GraphInboxEvent, deps: GraphProcessingDeps): Promise<EventOutcome> {
  const found = await deps.connection(event.connectionId);
  if (!found || found.connection.type !== 'entra') {
    return finish(event, { status: 'invalid', detail: 'the connection is gone or is not an Entra connection' });
  }
  switch (event.record.kind) {
    case 'change':
      return processIntent(event, found.connection, decideGraphChange(event.record), deps);
    case 'lifecycle':
      return processLifecycle(event, found, deps);
    case 'reconcile':
      // `npm run reconcile` runs its own request and records the outcome; leave it alone.
      if (event.record.trigger === 'cli') return { status: 'skipped', detail: 'run by the command line' };
      return deps.reconcile(found.connection, event);
  }
}
