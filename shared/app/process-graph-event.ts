/**
 * Processes one stored Graph notification (or reconcile request). State-based: a user update
 * asks Graph for the user, a group change without a member delta asks Graph for the members,
 * so a duplicate or late notification cannot do harm. Only ever soft-deletes; a user who never
 * signed in through this connection is skipped and nothing is created. A failing Graph call
 * throws, so the stream retries the event and finally dead-letters it.
 */
import { decideGraphChange, decideUserState, grantingGroupsByAccount, rolesGrantedTo, type GraphIntent, type LinkedUser } from '../domain/graph-deprovision.js';
import { mergePlans, outcomeOfPlan, outranks, planDemotions, planRestores, removedByIdp, type EventOutcome, type IdpChangePlan, type Role } from '../domain/memberships.js';
import { directoryFor } from '../idp/graph-connection.js';
import type { GraphDirectory } from '../idp/graph.js';
import { ReconcileFetchError, reconcileConnection, reconcileDiff, removeAndRevoke } from './reconcile-connection.js';
import { recreateSubscription } from './graph-subscriptions.js';
import { isPollable } from './okta-log-poller.js';
import { oktaReconcileConnection } from './okta-reconcile.js';
import { logger } from '../logger.js';
import { getConnectionWithSubscriptions, type Connection, type ConnectionWithSubscriptions } from '../store/connections.js';
import { identityBySubject } from '../store/identities.js';
import { ssoConfigsServedBy, type AccountLookups } from '../store/sso-configs.js';
import { membershipsByKey, membershipsOfUser } from '../store/directory.js';
import { applyPlannedEvent, type InboxEventRef } from '../store/deprovision.js';
import type { GraphInboxEvent } from '../store/graph-inbox.js';

/** What processing takes from configuration; everything else it calls directly. */
export type GraphProcessingSettings = {
  /** Which accounts a connection serves and a group grants (cached per container). */
  accounts: AccountLookups;
  /** The public base URL Graph sends notifications to: needed to recreate a subscription. */
  hooksBaseUrl: string | undefined;
  disableOnDeprovision: boolean;
};

/** Read strongly, not cached: a user who signed in a moment ago must be found (a miss skips them). */
async function userIdBySubject(connectionId: string, objectId: string): Promise<string | undefined> {
  return (await identityBySubject(connectionId, objectId))?.userId;
}

const skipped = (detail: string): EventOutcome => ({ status: 'skipped', detail });

async function linkedByObjectIds(connectionId: string, objectIds: readonly string[], settings: GraphProcessingSettings): Promise<{ linked: LinkedUser[]; unlinked: number }> {
  const found = await Promise.all(objectIds.map(async (objectId) => ({ objectId, userId: await userIdBySubject(connectionId, objectId) })));
  const linked = found.flatMap(({ objectId, userId }) => (userId ? [{ userId, objectId }] : []));
  return { linked, unlinked: found.length - linked.length };
}

async function processIntent(event: GraphInboxEvent, connection: Connection, intent: GraphIntent, settings: GraphProcessingSettings): Promise<EventOutcome> {
  const connectionId = connection.connectionId;
  switch (intent.kind) {
    case 'skip':
      return finish(event, skipped(intent.reason));
    case 'removeUser':
    case 'checkUser': {
      const userId = await userIdBySubject(connectionId, intent.objectId);
      if (!userId) return finish(event, skipped('user never signed in through this connection (no linked object id)'));
      const accountIds = await settings.accounts.accountIdsServedBy(connectionId);
      if (accountIds.length === 0) return finish(event, skipped('this connection serves no account'));
      let reason = intent.kind === 'removeUser' ? intent.reason : '';
      if (intent.kind === 'checkUser') {
        // Skip the Graph call when there is nothing the answer could change: no active membership,
        // and none that a removal of the person would still mark as such (so no re-add restores it).
        // One this event deleted on an earlier attempt counts: the retry still owes its sign-out.
        const concerned = (await membershipsOfUser(userId)).filter(
          (m) =>
            accountIds.includes(m.accountId) &&
            (m.status === 'active' || !(removedByIdp(m) && m.removal === 'user') || (m.status === 'deleted' && m.eventId === event.eventId)),
        );
        if (concerned.length === 0) return finish(event, skipped('the user has no active membership in the accounts this connection serves'));
        const graph = await directoryFor(connection);
        const decision = decideUserState(await graph.getUser(intent.objectId), connection.deprovisionOnDisable);
        if (!decision.remove) return finish(event, skipped(decision.reason));
        reason = decision.reason;
      }
      const removals = accountIds.map((accountId) => ({ userId, objectId: intent.objectId, accountId }));
      return removeAndRevoke(event, removals, { time: event.published, reason, removal: 'user', disableOnDeprovision: settings.disableOnDeprovision });
    }
    case 'removeFromGroup':
    case 'checkGroup':
    case 'groupDeleted':
      return processGroupChange(event, connection, intent, settings);
  }
}

/**
 * Members Graph lists as added to a group get back what an earlier group removal took, in the
 * accounts this group grants, once Graph confirms (checkMemberGroups, nested groups included)
 * that a group granting the account has them now; the role is what those groups grant.
 * Removals of the person (deleted, disabled) and removals by sign-in or admin stay. Graph is
 * asked only about users with something to give back.
 */
/** Graph checks per notification for re-added members (a mass re-add must not outlast the Lambda). */
const MAX_RE_ADD_CHECKS = 50;

async function planReAdds(event: GraphInboxEvent, connection: Connection, groupId: string, objectIds: readonly string[], settings: GraphProcessingSettings): Promise<IdpChangePlan | undefined> {
  if (objectIds.length === 0) return undefined;
  const connectionId = connection.connectionId;
  const accountIds = await settings.accounts.accountIdsGrantedByGroup(connectionId, groupId);
  const { linked } = await linkedByObjectIds(connectionId, objectIds, settings);
  const memberships = await membershipsByKey(linked.flatMap(({ userId }) => accountIds.map((accountId) => ({ userId, accountId }))));
  // Given back earlier by this same event (a retry): done, no need to ask Graph again.
  const earlier = memberships.filter((m) => m.status === 'active' && m.eventId === event.eventId);
  const restorable = memberships.filter((m) => removedByIdp(m) && m.removal === 'group');
  let plan: IdpChangePlan | undefined = earlier.length > 0 ? { softDeletes: [], restores: [], appliedEarlier: earlier, stale: [], alreadyDeleted: [] } : undefined;
  if (restorable.length === 0) return plan;
  // A re-add gives back only where SSO is active.
  const configs = (await ssoConfigsServedBy(connectionId)).filter(({ accountId, ssoConfig }) => accountIds.includes(accountId) && ssoConfig.active);
  const grants = grantingGroupsByAccount(configs, connectionId);
  const graph = await directoryFor(connection);
  let asked = 0;
  for (const { userId, objectId } of linked) {
    const theirs = restorable.filter((m) => m.userId === userId);
    const groups = [...new Set(theirs.flatMap(({ accountId }) => grants.get(accountId) ?? []))];
    if (groups.length === 0) continue;
    // Bounded per event (each call may wait on Graph); the rest get access back at their next sign-in.
    if (++asked > MAX_RE_ADD_CHECKS) break;
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

/** Re-adds never hold up the removals of the same notification: if Graph fails, the people re-added get access back at their next sign-in (the directory check). */
async function planReAddsOrNone(event: GraphInboxEvent, connection: Connection, groupId: string, objectIds: readonly string[], settings: GraphProcessingSettings): Promise<IdpChangePlan | undefined> {
  try {
    return await planReAdds(event, connection, groupId, objectIds, settings);
  } catch (error) {
    logger.warn('re-adds not confirmed with Graph; left to the next sign-in', { connectionId: connection.connectionId, groupId, error: error as Error });
    return undefined;
  }
}

const pairKey = ({ userId, accountId }: { userId: string; accountId: string }) => `${userId}\u0000${accountId}`;

/** Graph checks per notification for members kept through another group (a mass removal must not outlast the Lambda). */
const MAX_DEMOTION_CHECKS = 50;

/**
 * Members Graph lists as removed from a group who keep an account through another of its groups:
 * where those groups grant a lower role than the membership has, the role is lowered to the
 * highest they grant (a person taken out of the admin group keeps only what their other groups
 * give), as the Okta path does. Graph is asked (checkMemberGroups, nested groups included) only
 * about memberships whose role some remaining group could lower. A failed check fails the event
 * (nothing is written; the stream retries it). Beyond MAX_DEMOTION_CHECKS, the next sign-in maps
 * the role.
 */
async function planGroupDemotions(
  event: GraphInboxEvent,
  connection: Connection,
  groupId: string,
  kept: readonly LinkedUser[],
  accountIds: readonly string[],
  removed: ReadonlySet<string>,
): Promise<IdpChangePlan | undefined> {
  if (kept.length === 0) return undefined;
  const connectionId = connection.connectionId;
  const configs = (await ssoConfigsServedBy(connectionId)).filter(({ accountId }) => accountIds.includes(accountId));
  const grants = grantingGroupsByAccount(configs, connectionId);
  // The lowest role the account's groups of this connection grant (none listed, e.g. a config changed since the cached lookup: left out).
  const lowestRole = new Map(
    configs.flatMap(({ accountId, ssoConfig }) => {
      const roles = ssoConfig.providers.filter((provider) => provider.connectionId === connectionId).flatMap((provider) => provider.groups.map(({ role }) => role));
      const lowest = roles.reduce<Role | undefined>((found, role) => (found === undefined || outranks(found, role) ? role : found), undefined);
      return lowest ? [[accountId, lowest] as const] : [];
    }),
  );
  const memberships = await membershipsByKey(kept.flatMap(({ userId }) => accountIds.map((accountId) => ({ userId, accountId }))));
  // Only a role above the account's lowest granted one can come down.
  const lowerable = memberships.filter(
    (m) =>
      m.status === 'active' &&
      !removed.has(pairKey(m)) &&
      lowestRole.has(m.accountId) &&
      // Lowered by this same event before (a resend): asked again, so it reads the same outcome.
      (outranks(m.role, lowestRole.get(m.accountId) ?? m.role) || m.eventId === event.eventId),
  );
  let plan: IdpChangePlan | undefined;
  let asked = 0;
  let graph: GraphDirectory | undefined;
  for (const { userId, objectId } of kept) {
    const theirs = lowerable.filter((m) => m.userId === userId);
    const groups = [...new Set(theirs.flatMap(({ accountId }) => grants.get(accountId) ?? []))].sort();
    if (groups.length === 0) continue;
    if (++asked > MAX_DEMOTION_CHECKS) {
      logger.warn('more members kept through another group than one notification checks; their roles are mapped at their next sign-in', { connectionId, groupId, checked: MAX_DEMOTION_CHECKS });
      break;
    }
    let memberOf: ReadonlySet<string> | undefined;
    try {
      graph ??= await directoryFor(connection);
      memberOf = await graph.memberGroupsOf(objectId, groups);
    } catch (error) {
      throw new ReconcileFetchError(`could not check the remaining groups of user ${objectId}, nothing was changed: ${(error as Error).message}`, { cause: error });
    }
    if (!memberOf) continue; // gone from Entra ID: its own notification removes the person
    const roles = rolesGrantedTo(configs, connectionId, memberOf);
    const userPlan = planDemotions(theirs, { roles, occurredAt: event.published, eventId: event.eventId, reason: `removed from Entra group ${groupId}; the role the remaining groups grant` });
    if ((userPlan.demotions?.length ?? 0) + (userPlan.demotedEarlier?.length ?? 0) === 0) continue;
    const asPlan: IdpChangePlan = { softDeletes: [], appliedEarlier: [], stale: [], alreadyDeleted: [], ...userPlan };
    plan = plan ? mergePlans(plan, asPlan) : asPlan;
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
  settings: GraphProcessingSettings,
): Promise<EventOutcome> {
  const connectionId = connection.connectionId;
  const accountIds = await settings.accounts.accountIdsGrantedByGroup(connectionId, intent.groupId);
  if (accountIds.length === 0) return finish(event, skipped(`group ${intent.groupId} is not configured for any account of this connection`));
  const reAdds = intent.kind === 'removeFromGroup' ? await planReAddsOrNone(event, connection, intent.groupId, intent.addedObjectIds, settings) : undefined;
  // Nothing to remove: the outcome is the re-adds' when there are any.
  const unlessReAdded = (outcome: EventOutcome) => (reAdds && outcomeOfPlan(reAdds).status === 'applied' ? commitPlan(event, reAdds) : finish(event, outcome));
  // Those listed as removed, or every linked user (the check reads only their memberships there).
  const { linked: candidates, unlinked } =
    intent.kind === 'removeFromGroup' ? await linkedByObjectIds(connectionId, intent.objectIds, settings) : { linked: undefined, unlinked: 0 };
  if (candidates?.length === 0) {
    // A notification of additions only lists no removed member at all; say so rather than blame the sign-ins.
    const onlyAdded = intent.kind === 'removeFromGroup' && intent.objectIds.length === 0;
    return unlessReAdded(skipped(onlyAdded ? 'members added, none with access to give back; no member removed' : 'no removed member ever signed in through this connection'));
  }
  const diff = await reconcileDiff(connection, {
    scope: {
    accountIds,
    users: candidates,
    deletedGroups: intent.kind === 'groupDeleted' ? [intent.groupId] : [],
    eventId: event.eventId,
    },
  });
  // What an earlier attempt of this event soft-deleted still owes its sign-outs (it may have crashed before them).
  const earlier = diff.removedEarlier.length > 0;
  if (diff.activeMemberships === 0 && !earlier) return unlessReAdded(skipped('no user concerned has an active membership this group grants'));
  const unlinkedNote = unlinked > 0 ? `; ${unlinked} removed member(s) never signed in through this connection, skipped` : '';
  // Those listed as removed who keep an account through another group may keep it at a lower role.
  const removedPairs = new Set(diff.removals.map(pairKey));
  const kept = (candidates ?? []).filter(({ userId }) => accountIds.some((accountId) => !removedPairs.has(pairKey({ userId, accountId }))));
  const demotions = await planGroupDemotions(event, connection, intent.groupId, kept, accountIds, removedPairs);
  const alongside = demotions && reAdds ? mergePlans(demotions, reAdds) : (demotions ?? reAdds);
  if (diff.removals.length === 0 && !earlier) {
    if (demotions && alongside) return commitPlan(event, alongside);
    return unlessReAdded(skipped(`every user concerned is still in a group that grants the account${unlinkedNote}`));
  }
  const reason =
    intent.kind === 'groupDeleted' ? `Entra group ${intent.groupId} deleted` : `in no Entra group that grants access (after a change of group ${intent.groupId})`;
  return removeAndRevoke(event, diff.removals, {
    time: event.published,
    reason,
    removal: 'group',
    alsoRestore: alongside,
    removedEarlier: diff.removedEarlier,
    describe: (detail) => `${detail}${unlinkedNote}`,
    disableOnDeprovision: settings.disableOnDeprovision,
  });
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
async function replaceSubscription(found: ConnectionWithSubscriptions, subscriptionId: string, settings: GraphProcessingSettings): Promise<string> {
  if (!found.subscriptions.some((held) => held.subscriptionId === subscriptionId)) return `subscription ${subscriptionId} is no longer held (already replaced)`;
  if (!settings.hooksBaseUrl) throw new Error('HOOKS_BASE_URL is not set: cannot give Graph the notification URLs of a new subscription');
  const created = await recreateSubscription(found, subscriptionId, await directoryFor(found.connection), { hooksBaseUrl: settings.hooksBaseUrl });
  return `subscription ${subscriptionId} recreated as ${created.subscriptionId}`;
}

async function processLifecycle(event: GraphInboxEvent, found: ConnectionWithSubscriptions, settings: GraphProcessingSettings): Promise<EventOutcome> {
  if (event.record.kind !== 'lifecycle') throw new Error('not a lifecycle event');
  const { subscriptionId, lifecycleEvent } = event.record;
  const { connection } = found;
  switch (lifecycleEvent) {
    case 'reauthorizationRequired': {
      const graph = await directoryFor(connection);
      if (await graph.reauthorizeSubscription(subscriptionId)) return finish(event, { status: 'applied', detail: `subscription ${subscriptionId} reauthorized` });
      // Gone from Graph: changes since were not notified, so reconcile after recreating it.
      return reconcileConnection(connection, event, { disableOnDeprovision: settings.disableOnDeprovision, note: `Graph no longer knows it: ${await replaceSubscription(found, subscriptionId, settings)}` });
    }
    case 'subscriptionRemoved':
      return reconcileConnection(connection, event, { disableOnDeprovision: settings.disableOnDeprovision, note: await replaceSubscription(found, subscriptionId, settings) });
    case 'missed':
      return reconcileConnection(connection, event, { disableOnDeprovision: settings.disableOnDeprovision });
    default:
      return finish(event, skipped(`lifecycle event "${lifecycleEvent}" is not acted on`));
  }
}

/**
 * Okta reconciliation requests come through this inbox too: they need what Graph's do (the
 * stream's retries and dead-letter queue, an outcome on the event, a long timeout, the
 * connections' secrets), and nothing of process-okta-events' batch planning.
 */
async function processOktaReconcileRequest(event: GraphInboxEvent, trigger: string, connection: Connection, settings: GraphProcessingSettings): Promise<EventOutcome> {
  // `npm run reconcile` runs its own request and records the outcome; leave it alone.
  if (trigger === 'cli') return { status: 'skipped', detail: 'run by the command line' };
  if (connection.deactivatedAt) return finish(event, skipped(`the connection was deactivated at ${connection.deactivatedAt}`));
  // isPollable: an Okta connection with an org URL and an API token, not deactivated.
  if (!isPollable(connection)) return finish(event, skipped('the connection has no Okta API token (orgUrl and oktaApiTokenRef): nothing to reconcile with'));
  return oktaReconcileConnection(connection, event, { disableOnDeprovision: settings.disableOnDeprovision });
}

/** Processes one Graph inbox event and records its outcome; throws (to be retried) when Graph or DynamoDB fails. */
export async function processGraphEvent(event: GraphInboxEvent, settings: GraphProcessingSettings): Promise<EventOutcome> {
  // Not cached: a lifecycle event must see the subscriptions as they are now.
  const found = await getConnectionWithSubscriptions(event.connectionId);
  if (found?.connection.type === 'okta' && event.record.kind === 'reconcile') return processOktaReconcileRequest(event, event.record.trigger, found.connection, settings);
  if (!found || found.connection.type !== 'entra') {
    return finish(event, { status: 'invalid', detail: 'the connection is gone or is not an Entra connection' });
  }
  // A deactivated connection keeps its memberships: no reconciliation, and no lifecycle event may recreate a subscription.
  const deactivated = found.connection.deactivatedAt ? skipped(`the connection was deactivated at ${found.connection.deactivatedAt}`) : undefined;
  switch (event.record.kind) {
    case 'change':
      return processIntent(event, found.connection, decideGraphChange(event.record), settings);
    case 'lifecycle':
      return deactivated ? finish(event, deactivated) : processLifecycle(event, found, settings);
    case 'reconcile':
      // `npm run reconcile` runs its own request and records the outcome; leave it alone.
      if (event.record.trigger === 'cli') return { status: 'skipped', detail: 'run by the command line' };
      if (deactivated) return finish(event, deactivated);
      return reconcileConnection(found.connection, event, { disableOnDeprovision: settings.disableOnDeprovision });
  }
}
