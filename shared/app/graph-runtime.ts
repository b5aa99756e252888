/**
 * Wires Graph processing to its real parts (DynamoDB, Secrets Manager, Graph), once per
 * container. The Lambda handler, the command-line scripts and the tests all use this.
 */
import type { Config } from '../config.js';
import { directoryFor } from '../idp/graph-connection.js';
import { cached } from '../store/cache.js';
import { getConnectionWithSubscriptions } from '../store/connections.js';
import { cachedAccountLookups, findUserIdBySubject, linkedUsers } from '../store/directory.js';
import { ssoConfigsServedBy } from '../store/sign-in.js';
import { recreateSubscription } from './graph-subscriptions.js';
import type { GraphProcessingDeps } from './process-graph-event.js';
import { reconcileConnection, type ReconcileDeps } from './reconcile-connection.js';

export function reconcileDeps(onProgress?: (message: string) => void): ReconcileDeps {
  return { ssoConfigsServedBy, linkedUsers, directoryFor, onProgress };
}

export function graphProcessingDeps(settings: Pick<Config, 'configCacheMs' | 'hooksBaseUrl'>): GraphProcessingDeps {
  return {
    accounts: cachedAccountLookups(settings.configCacheMs),
    // Not cached: a lifecycle event must see the subscriptions as they are now.
    connection: getConnectionWithSubscriptions,
    directoryFor,
    userIdBySubject: cached(settings.configCacheMs, findUserIdBySubject),
    linkedUsers,
    recreateSubscription: async (found, subscriptionId) => {
      if (!settings.hooksBaseUrl) throw new Error('HOOKS_BASE_URL is not set: cannot give Graph the notification URLs of a new subscription');
      const created = await recreateSubscription(found, subscriptionId, await directoryFor(found.connection), { hooksBaseUrl: settings.hooksBaseUrl });
      return created.subscriptionId;
    },
    reconcile: (connection, event, note) => reconcileConnection(connection, event, reconcileDeps(), note),
  };
}
