/**
 * Scheduled: polls the users and groups delta of every active Entra connection with a Graph app
 * (shared/app/graph-delta-poller.ts). Throws if any connection failed, so the run is alarmed.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { ScheduledEvent } from 'aws-lambda';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { pollAllGraphDeltas } from '../shared/app/graph-delta-poller.js';

const { graphBaseUrl, inboxRetentionDays } = config();
const settings = { graphBaseUrl, retentionDays: inboxRetentionDays };

export const handler = middy<ScheduledEvent, { connections: number }>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => ({ connections: (await pollAllGraphDeltas(settings)).connections }));
