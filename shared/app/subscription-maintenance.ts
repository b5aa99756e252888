/**
 * The scheduled upkeep of Graph subscriptions across connections (renew-subscriptions): Graph's
 * maximum for users and groups is under 29 days, so they are renewed well before they lapse.
 */
import { logger } from '../logger.js';
import { getConnectionWithSubscriptions, listConnectionIds } from '../store/connections.js';
import type { StoredSubscription } from '../store/subscriptions.js';
import { storeReconcileRequest } from '../store/graph-inbox.js';
import { failuresOf, hasGraphApp, maintainSubscriptions, type MaintenanceReport } from './graph-subscriptions.js';

export class SubscriptionMaintenanceError extends Error {
  override name = 'SubscriptionMaintenanceError';
}

/** Resource, id and expiry only: the stored item also carries clientState hashes, which logs do not need. */
const brief = ({ resource, subscriptionId, expiresAt }: StoredSubscription) => ({ resource, subscriptionId, expiresAt });

function summary({ ensured, renewal }: MaintenanceReport) {
  return {
    created: ensured.created.map(brief),
    kept: ensured.kept.length,
    unwanted: ensured.unwanted.map(brief),
    renewed: renewal.renewed.map(brief),
    recreated: renewal.recreated.map(({ replaced, subscription }) => ({ replaced, ...brief(subscription) })),
    untouched: renewal.untouched.length,
    failed: failuresOf({ ensured, renewal }),
  };
}

/**
 * For every active Entra connection with a Graph app (a deactivated one is skipped): create the subscriptions it lacks, renew those
 * about to expire, recreate lost ones (and queue a reconciliation). Throws at the end if any
 * connection failed; one failing connection does not stop the others.
 */
export async function maintainAllSubscriptions(settings: { hooksBaseUrl: string; inboxRetentionDays: number }): Promise<{ connections: number }> {
  const failed: string[] = [];
  let connections = 0;
  for (const connectionId of await listConnectionIds()) {
    try {
      const found = await getConnectionWithSubscriptions(connectionId);
      if (found?.connection.type !== 'entra') continue;
      if (found.connection.deactivatedAt) {
        // Its subscriptions were deleted with it (DELETE /admin/connections/{id}): not to be recreated.
        logger.info('graph subscriptions skipped: the connection is deactivated', { connectionId, deactivatedAt: found.connection.deactivatedAt });
        continue;
      }
      if (!hasGraphApp(found.connection)) {
        logger.warn('graph subscriptions skipped: the connection has no tenantId or Graph app', { connectionId });
        continue;
      }
      connections += 1;
      const report = await maintainSubscriptions(found, { hooksBaseUrl: settings.hooksBaseUrl });
      if (report.renewal.recreated.length > 0) {
        // Graph had lost a subscription: whatever changed meanwhile was never notified.
        await storeReconcileRequest({ connectionId, trigger: 'resubscribed', receivedAt: new Date(), retentionDays: settings.inboxRetentionDays });
      }
      const connectionSummary = summary(report);
      if (connectionSummary.failed.length === 0) {
        logger.info('graph subscriptions maintained', { connectionId, ...connectionSummary });
      } else {
        failed.push(connectionId);
        logger.warn('graph subscriptions maintained, with failures', { connectionId, ...connectionSummary });
      }
    } catch (error) {
      failed.push(connectionId);
      logger.error('graph subscriptions not maintained', { connectionId, error: error as Error });
    }
  }
  if (failed.length > 0) {
    throw new SubscriptionMaintenanceError(`Graph subscriptions of ${failed.length} connection(s) need attention: ${failed.join(', ')}`);
  }
  return { connections };
}
