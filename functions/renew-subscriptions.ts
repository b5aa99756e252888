/**
 * Scheduled: for every Entra connection with a Graph app, creates the subscriptions it lacks (a
 * group configured since the last run) and renews those about to expire (Graph's maximum for
 * users and groups is under 29 days); a subscription Graph had lost is recreated and the
 * connection's reconciliation queued. Throws at the end if any connection failed, so the run is
 * retried and alarmed; one failing connection does not stop the others.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { ScheduledEvent } from 'aws-lambda';
import { config, ConfigError } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { getConnectionWithSubscriptions, listConnectionIds } from '../shared/store/connections.js';
import { failuresOf, hasGraphApp, maintainSubscriptions, type MaintenanceReport } from '../shared/app/graph-subscriptions.js';
import type { StoredSubscription } from '../shared/store/subscriptions.js';
import { storeReconcileRequest } from '../shared/store/graph-inbox.js';

function requireHooksBaseUrl(): string {
  const { hooksBaseUrl } = config();
  if (!hooksBaseUrl) throw new ConfigError('HOOKS_BASE_URL is required: the public base URL of the HTTP API, where Graph sends notifications');
  return hooksBaseUrl;
}

const hooksBaseUrl = requireHooksBaseUrl();

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

async function renewSubscriptions(): Promise<{ connections: number }> {
  const failed: string[] = [];
  let connections = 0;
  for (const connectionId of await listConnectionIds()) {
    try {
      const found = await getConnectionWithSubscriptions(connectionId);
      if (found?.connection.type !== 'entra') continue;
      if (!hasGraphApp(found.connection)) {
        logger.warn('graph subscriptions skipped: the connection has no tenantId or Graph app', { connectionId });
        continue;
      }
      connections += 1;
      const report = await maintainSubscriptions(found, { hooksBaseUrl });
      if (report.renewal.recreated.length > 0) {
        // Graph had lost a subscription: whatever changed meanwhile was never notified.
        await storeReconcileRequest({ connectionId, trigger: 'resubscribed', receivedAt: new Date(), retentionDays: config().inboxRetentionDays });
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

export const handler = middy<ScheduledEvent, { connections: number }>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(renewSubscriptions);
