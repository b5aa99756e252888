/**
 * Wires Graph processing to its real parts (DynamoDB, Secrets Manager, Graph), once per
 * container. The Lambda handler, the command-line scripts and the tests all use this.
 */
import { config, type Config } from '../config.js';
import type { LinkedUser } from '../domain/graph-deprovision.js';
import { directoryFor } from '../idp/graph-connection.js';
import { getConnectionWithSubscriptions } from '../store/connections.js';
import { cachedAccountLookups, linkedUsers } from '../store/directory.js';
import type { InboxEventRef } from '../store/deprovision.js';
import { identityBySubject } from '../store/identities.js';
import { ssoConfigsServedBy } from '../store/sso-configs.js';
import { revokeIfNoAccessLeft } from './revoke-access.js';
import { recreateSubscription } from './graph-subscriptions.js';
import type { GraphProcessingDeps } from './process-graph-event.js';
import { reconcileConnection, reconcileDiff, type ReconcileDeps } from './reconcile-connection.js';

/** Signs out of Cognito each of these users who signed in through it and has no active membership left. */
function cognitoRevocation(disableOnDeprovision: boolean) {
  return async (event: InboxEventRef, users: readonly LinkedUser[]): Promise<void> => {
    for (const { objectId } of users) {
      const identity = await identityBySubject(event.connectionId, objectId);
      if (identity) await revokeIfNoAccessLeft(event, identity, disableOnDeprovision);
    }
  };
}

export function reconcileDeps(onProgress?: (message: string) => void, disableOnDeprovision = config().disableOnDeprovision): ReconcileDeps {
  return { ssoConfigsServedBy, linkedUsers, directoryFor, onProgress, revokeLeavers: cognitoRevocation(disableOnDeprovision) };
}

export function graphProcessingDeps(settings: Pick<Config, 'configCacheMs' | 'hooksBaseUrl' | 'disableOnDeprovision'>): GraphProcessingDeps {
  return {
    revokeLeavers: cognitoRevocation(settings.disableOnDeprovision),
    accounts: cachedAccountLookups(settings.configCacheMs),
    ssoConfigsServedBy,
    // Not cached: a lifecycle event must see the subscriptions as they are now.
    connection: getConnectionWithSubscriptions,
    directoryFor,
    // Not cached, read strongly: a user who signed in a moment ago must be found (a miss skips them).
    userIdBySubject: async (connectionId, objectId) => (await identityBySubject(connectionId, objectId))?.userId,
    recreateSubscription: async (found, subscriptionId) => {
      if (!settings.hooksBaseUrl) throw new Error('HOOKS_BASE_URL is not set: cannot give Graph the notification URLs of a new subscription');
      const created = await recreateSubscription(found, subscriptionId, await directoryFor(found.connection), { hooksBaseUrl: settings.hooksBaseUrl });
      return created.subscriptionId;
    },
    reconcile: (connection, event, note) => reconcileConnection(connection, event, reconcileDeps(undefined, settings.disableOnDeprovision), note),
    checkGroups: (connection, scope) => reconcileDiff(connection, reconcileDeps(undefined, settings.disableOnDeprovision), scope),
  };
}
