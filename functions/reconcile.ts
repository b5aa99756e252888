/**
 * Scheduled (daily unless `reconcileSchedule` says otherwise): queues one reconciliation per
 * active Entra connection with a Graph app and per active Okta connection with an API token, as
 * an inbox event. process-graph-events runs each on its own, so one that fails stops no other,
 * and each gets the stream's retries, the dead-letter queue, and an outcome on the event for a
 * person to read (GET /admin/events).
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { getConnection, listConnectionIds } from '../shared/store/connections.js';
import { storeReconcileRequest } from '../shared/store/graph-inbox.js';
import { hasGraphApp } from '../shared/app/graph-subscriptions.js';
import { isPollable } from '../shared/app/okta-log-poller.js';

const settings = config();

async function queueReconciliations(event: ScheduledEvent): Promise<{ queued: string[] }> {
  const receivedAt = event.time ? new Date(event.time) : new Date();
  const connections = await Promise.all((await listConnectionIds()).map((connectionId) => getConnection(connectionId)));
  // A deactivated connection keeps its memberships: nothing checks them against its IdP any more.
  const entra = connections.flatMap((connection) => (connection && hasGraphApp(connection) && !connection.deactivatedAt ? [connection.connectionId] : []));
  // isPollable: Okta, not deactivated, with an org URL and an API token (without one there is nothing to ask).
  const okta = connections.flatMap((connection) => (isPollable(connection) ? [connection.connectionId] : []));
  const queued = [...entra, ...okta];
  for (const connectionId of queued) {
    await storeReconcileRequest({ connectionId, trigger: 'schedule', receivedAt, retentionDays: settings.inboxRetentionDays });
  }
  logger.info('reconciliations queued', { connections: queued });
  return { queued };
}

export const handler = middy<ScheduledEvent, { queued: string[] }, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(queueReconciliations);
