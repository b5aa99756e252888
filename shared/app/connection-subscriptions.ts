/**
 * The admin API's side of an Entra connection's Graph subscriptions: made right after the
 * connection is created, deleted when it is deactivated. The making and keeping is
 * graph-subscriptions.ts's (the same code the renew-subscriptions schedule runs); this module adds
 * what an admin's request needs: an all-or-nothing create, and answers that never show a clientState.
 */
import { directoryFor, type DirectoryLimits } from '../idp/graph-connection.js';
import type { GraphDirectory } from '../idp/graph.js';
import { getConnectionWithSubscriptions, type ConnectionWithSubscriptions } from '../store/connections.js';
import { ssoConfigsServedBy } from '../store/sso-configs.js';
import { deleteSubscription, type StoredSubscription } from '../store/subscriptions.js';
import { ensureSubscriptions } from './graph-subscriptions.js';

/**
 * The admin API answers within API Gateway's 29 s: one retry, and a call (Graph's URL validation
 * included, which Graph gives up to 10 s) may take 12 s. What does not make it is left to the schedule.
 */
export const ADMIN_GRAPH_LIMITS: DirectoryLimits = { maxRetries: 1, callTimeoutMs: 12_000 };

/** What an admin may see of a subscription: never its clientState or the hash of it. */
export type SubscriptionView = { resource: string; subscriptionId: string; expiresAt: string };
const view = ({ resource, subscriptionId, expiresAt }: StoredSubscription): SubscriptionView => ({ resource, subscriptionId, expiresAt });

/** Which step failed: reading the Graph app's secret, or creating (or recording) a subscription. */
export type GraphStep = 'client_secret' | 'create_subscription';

export type SubscribeOutcome =
  | { ok: true; subscriptions: SubscriptionView[] }
  | {
      ok: false;
      graph_step: GraphStep;
      resource?: string;
      error: string;
      /** Created in this call but Graph refused to delete them again: still recorded, so the schedule keeps them. */
      left_in_graph: SubscriptionView[];
    };

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function graphOf(found: ConnectionWithSubscriptions, limits: DirectoryLimits): Promise<GraphDirectory | { error: string }> {
  try {
    return await directoryFor(found.connection, limits);
  } catch (error) {
    // Only the error's kind and our message: Secrets Manager's say nothing useful, and never the value.
    return { error: `the Graph app's client secret could not be read (${(error as Error).name}: ${message(error)})` };
  }
}

/**
 * Creates every subscription the connection wants ("users", and a group's for every group its
 * SSO configs name) through ensureSubscriptions. All or nothing: if one fails, those this call
 * created are deleted again in Graph and in the table, so Graph holds nothing half-made.
 */
export async function subscribeNewConnection(connectionId: string, hooksBaseUrl: string, limits: DirectoryLimits = ADMIN_GRAPH_LIMITS): Promise<SubscribeOutcome> {
  // Consistent: the connection was written a moment ago.
  const found = await getConnectionWithSubscriptions(connectionId, { consistent: true });
  if (!found) throw new Error(`connection ${connectionId} vanished before its subscriptions were made`);
  const graph = await graphOf(found, limits);
  if ('error' in graph) return { ok: false, graph_step: 'client_secret', error: graph.error, left_in_graph: [] };
  const report = await ensureSubscriptions(found, graph, await ssoConfigsServedBy(connectionId), { hooksBaseUrl });
  const [failure] = report.failed;
  if (!failure) return { ok: true, subscriptions: [...report.kept, ...report.created].map(view) };
  const leftInGraph: SubscriptionView[] = [];
  for (const created of report.created) {
    try {
      await graph.deleteSubscription(created.subscriptionId);
      await deleteSubscription(connectionId, created.subscriptionId);
    } catch {
      leftInGraph.push(view(created));
    }
  }
  return { ok: false, graph_step: 'create_subscription', resource: failure.resource, error: failure.error, left_in_graph: leftInGraph };
}

export type UnsubscribeOutcome = {
  deleted: SubscriptionView[];
  /** Graph could not be asked or refused: the subscription is forgotten all the same (its notifications are refused) and expires by its expiresAt. */
  failed: (SubscriptionView & { error: string })[];
};

/**
 * Deletes every subscription the connection holds, in Graph (one Graph no longer has counts as
 * deleted) and in the table. A subscription leaves the table whatever Graph answers, as in
 * recreateSubscription: unrecorded, its notifications are refused, and nothing renews it.
 */
export async function unsubscribeConnection(connectionId: string, limits: DirectoryLimits = ADMIN_GRAPH_LIMITS): Promise<UnsubscribeOutcome> {
  const found = await getConnectionWithSubscriptions(connectionId, { consistent: true });
  const outcome: UnsubscribeOutcome = { deleted: [], failed: [] };
  if (!found || found.subscriptions.length === 0) return outcome;
  const graph = await graphOf(found, limits);
  for (const subscription of found.subscriptions) {
    const graphError = 'error' in graph ? graph.error : await graph.deleteSubscription(subscription.subscriptionId).then(() => undefined, message);
    await deleteSubscription(connectionId, subscription.subscriptionId);
    if (graphError === undefined) outcome.deleted.push(view(subscription));
    else outcome.failed.push({ ...view(subscription), error: graphError });
  }
  return outcome;
}
