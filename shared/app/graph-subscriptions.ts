/**
 * The Graph subscriptions an Entra connection holds: "users", and one per group that an account's
 * SSO config names for this connection. Graph lets a users/groups subscription live at most
 * 41,760 minutes, so a schedule renews those near their end and recreates those Graph no longer
 * knows. Only the clientState's hash is stored; the value itself goes to Graph and is forgotten.
 */
import type { AccountSsoConfig } from '../domain/admission.js';
import { grantingGroupsByAccount } from '../domain/graph-deprovision.js';
import { generateHookSecret, hashHookSecret } from '../domain/hook-secrets.js';
import type { GraphDirectory } from '../idp/graph.js';
import { directoryFor } from '../idp/graph-connection.js';
import type { Connection, ConnectionWithSubscriptions } from '../store/connections.js';
import { ssoConfigsServedBy } from '../store/sso-configs.js';
import { deleteSubscription, putSubscription, type StoredSubscription } from '../store/subscriptions.js';

/** Graph's maximum for users and groups (https://learn.microsoft.com/en-us/graph/change-notifications-overview#subscription-lifetime). */
export const MAX_EXPIRATION_MINUTES = 41_760;
/** Renewed when less than this is left: a daily schedule then gets three tries before expiry. */
export const RENEW_WITHIN_MS = 3 * 24 * 60 * 60 * 1000;
/** Users and groups support only these (soft deletes arrive as "updated"). */
export const CHANGE_TYPE = 'updated,deleted';
/** Graph refuses an expiry past its maximum as it sees the time; this absorbs clock skew. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

export type SubscriptionSettings = { hooksBaseUrl: string; now?: () => Date };
export type SubscriptionFailure = { resource: string; subscriptionId?: string; error: string };

export class UnknownSubscriptionError extends Error {
  override name = 'UnknownSubscriptionError';
}

export function subscriptionUrls(hooksBaseUrl: string, connectionId: string): { notificationUrl: string; lifecycleNotificationUrl: string } {
  const notificationUrl = `${hooksBaseUrl.replace(/\/+$/, '')}/hooks/graph/${encodeURIComponent(connectionId)}`;
  return { notificationUrl, lifecycleNotificationUrl: `${notificationUrl}/lifecycle` };
}

/** "users" and "groups/<id>" for every group this connection's providers name, active config or not (it may be switched on any time). */
export function wantedResources(configs: readonly AccountSsoConfig[], connectionId: string): string[] {
  const groups = [...grantingGroupsByAccount(configs, connectionId).values()].flat();
  return [...new Set(['users', ...groups.map((group) => `groups/${group}`)])].sort();
}

function latestExpiry(now: Date): string {
  return new Date(now.getTime() + MAX_EXPIRATION_MINUTES * 60_000 - EXPIRY_MARGIN_MS).toISOString();
}

/** Graph's answer normalised (it may send seven fractional digits); what we asked for if it is unreadable. */
function storedExpiry(answered: string, requested: string): string {
  const time = Date.parse(answered);
  return Number.isNaN(time) ? requested : new Date(time).toISOString();
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates one subscription in Graph and stores it at once, so a later failure leaves it recorded.
 * Graph validates both URLs during the create, so the graph-hook must already be reachable.
 */
async function createAndStore(
  connectionId: string,
  resource: string,
  changeType: string,
  graph: GraphDirectory,
  settings: SubscriptionSettings,
): Promise<StoredSubscription> {
  const now = settings.now?.() ?? new Date();
  const clientState = generateHookSecret();
  const expirationDateTime = latestExpiry(now);
  const created = await graph.createSubscription({
    resource,
    changeType,
    ...subscriptionUrls(settings.hooksBaseUrl, connectionId),
    clientState,
    expirationDateTime,
  });
  const stored: StoredSubscription = {
    subscriptionId: created.id,
    resource,
    changeType,
    expiresAt: storedExpiry(created.expirationDateTime, expirationDateTime),
    clientStateHashes: [hashHookSecret(clientState)],
  };
  try {
    await putSubscription(connectionId, stored);
  } catch (error) {
    // Unrecorded, its notifications would all be refused: better not to leave it in Graph.
    await graph.deleteSubscription(created.id).catch(() => undefined);
    throw new Error(`Graph created subscription ${created.id} for ${resource} but it could not be stored (so it was deleted again): ${describeError(error)}`, { cause: error });
  }
  return stored;
}

export type EnsureReport = {
  created: StoredSubscription[];
  kept: StoredSubscription[];
  /** Held for a resource no SSO config names any more; left in place (they expire unless renewed). */
  unwanted: StoredSubscription[];
  failed: SubscriptionFailure[];
};

/** Creates a subscription for every wanted resource the connection does not hold yet. */
export async function ensureSubscriptions(
  found: ConnectionWithSubscriptions,
  graph: GraphDirectory,
  configs: readonly AccountSsoConfig[],
  settings: SubscriptionSettings,
): Promise<EnsureReport> {
  const { connectionId } = found.connection;
  // A subscription on every group ("groups", as an admin may have made by hand) already covers each configured one.
  const coversAllGroups = found.subscriptions.some(({ resource }) => resource.toLowerCase() === 'groups');
  const wanted = wantedResources(configs, connectionId).filter((resource) => !(coversAllGroups && resource.startsWith('groups/')));
  if (coversAllGroups) wanted.push('groups');
  const report: EnsureReport = { created: [], kept: [], unwanted: [], failed: [] };
  for (const held of found.subscriptions) {
    (wanted.includes(held.resource.toLowerCase()) ? report.kept : report.unwanted).push(held);
  }
  const heldResources = new Set(found.subscriptions.map(({ resource }) => resource.toLowerCase()));
  for (const resource of wanted.filter((resource) => !heldResources.has(resource))) {
    try {
      report.created.push(await createAndStore(connectionId, resource, CHANGE_TYPE, graph, settings));
    } catch (error) {
      report.failed.push({ resource, error: describeError(error) });
    }
  }
  return report;
}

/**
 * Replaces a subscription with a new one for the same resource (new id, new clientState), then
 * deletes the old one in Graph (already gone is fine) and in the table. The new one is made
 * first, so the resource is never left unwatched.
 */
export async function recreateSubscription(
  found: ConnectionWithSubscriptions,
  subscriptionId: string,
  graph: GraphDirectory,
  settings: SubscriptionSettings,
): Promise<StoredSubscription> {
  const { connectionId } = found.connection;
  const old = found.subscriptions.find((held) => held.subscriptionId === subscriptionId);
  if (!old) throw new UnknownSubscriptionError(`connection ${connectionId} holds no subscription ${subscriptionId}`);
  const replacement = await createAndStore(connectionId, old.resource, old.changeType, graph, settings);
  // The old one leaves the table whatever Graph answers: a retry must not make yet another one.
  // Should Graph still hold it, its notifications are refused (401) and it expires unrenewed.
  await graph.deleteSubscription(old.subscriptionId).catch(() => undefined);
  await deleteSubscription(connectionId, old.subscriptionId);
  return replacement;
}

export type RenewReport = {
  renewed: StoredSubscription[];
  /** Graph answered 404 to the renewal: replaced by a new subscription. */
  recreated: { replaced: string; subscription: StoredSubscription }[];
  untouched: StoredSubscription[];
  failed: SubscriptionFailure[];
};

function expiresSoon(subscription: StoredSubscription, now: Date): boolean {
  const left = Date.parse(subscription.expiresAt) - now.getTime();
  // An unreadable expiry counts as expiring: renewing costs one PATCH, missing it costs notifications.
  return !(left >= RENEW_WITHIN_MS);
}

/** Extends every subscription with less than RENEW_WITHIN_MS left; one failure does not stop the others. */
export async function renewExpiring(found: ConnectionWithSubscriptions, graph: GraphDirectory, settings: SubscriptionSettings): Promise<RenewReport> {
  const { connectionId } = found.connection;
  const report: RenewReport = { renewed: [], recreated: [], untouched: [], failed: [] };
  for (const subscription of found.subscriptions) {
    const now = settings.now?.() ?? new Date();
    if (!expiresSoon(subscription, now)) {
      report.untouched.push(subscription);
      continue;
    }
    try {
      const expirationDateTime = latestExpiry(now);
      const renewed = await graph.renewSubscription(subscription.subscriptionId, expirationDateTime);
      if (renewed) {
        const stored = { ...subscription, expiresAt: storedExpiry(renewed.expirationDateTime, expirationDateTime) };
        await putSubscription(connectionId, stored);
        report.renewed.push(stored);
      } else {
        const replacement = await recreateSubscription(found, subscription.subscriptionId, graph, settings);
        report.recreated.push({ replaced: subscription.subscriptionId, subscription: replacement });
      }
    } catch (error) {
      report.failed.push({ resource: subscription.resource, subscriptionId: subscription.subscriptionId, error: describeError(error) });
    }
  }
  return report;
}

/** Only an Entra connection with a tenant and a Graph app can hold subscriptions. */
export function hasGraphApp(connection: Connection): boolean {
  return connection.type === 'entra' && connection.graph !== undefined && connection.tenantId !== undefined;
}

export type MaintenanceReport = { ensured: EnsureReport; renewal: RenewReport };

/** What the schedule and `npm run subscriptions` do: create what is missing (a newly configured group), then renew. */
export async function maintainSubscriptions(found: ConnectionWithSubscriptions, settings: SubscriptionSettings): Promise<MaintenanceReport> {
  const graph = await directoryFor(found.connection);
  const configs = await ssoConfigsServedBy(found.connection.connectionId);
  const ensured = await ensureSubscriptions(found, graph, configs, settings);
  const renewal = await renewExpiring(found, graph, settings);
  return { ensured, renewal };
}

export function failuresOf(report: MaintenanceReport): SubscriptionFailure[] {
  return [...report.ensured.failed, ...report.renewal.failed];
}
