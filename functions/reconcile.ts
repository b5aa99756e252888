/**
 * Scheduled (daily unless `reconcileSchedule` says otherwise): queues one reconciliation per
 * active Entra connection as an inbox event. process-graph-events runs it, so it gets the stream's
 * retries, the dead-letter queue, and an outcome on the event for a person to read.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { getConnection, listConnectionIds } from '../shared/store/connections.js';
import { storeReconcileRequest } from '../shared/store/graph-inbox.js';
import { hasGraphApp } from '../shared/app/graph-subscriptions.js';

const settings = config();

async function queueReconciliations(event: ScheduledEvent): Promise<{ queued: string[] }> {
  const receivedAt = event.time ? new Date(event.time) : new Date();
  const connections = await Promise.all((await listConnectionIds()).map((connectionId) => getConnection(connectionId)));
  // A deactivated connection keeps its memberships: nothing checks them against Graph any more.
  const entra = connections.flatMap((connection) => (connection && hasGraphApp(connection) && !connection.deactivatedAt ? [connection.connectionId] : []));
  for (const connectionId of entra) {
    await storeReconcileRequest({ connectionId, trigger: 'schedule', receivedAt, retentionDays: settings.inboxRetentionDays });
  }
  logger.info('reconciliations queued', { connections: entra });
  return { queued: entra };
}

export const handler = middy<ScheduledEvent, { queued: string[] }, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(queueReconciliations);
