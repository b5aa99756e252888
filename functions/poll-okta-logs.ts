/**
 * Scheduled: polls the System Log of every Okta connection with an API token
 * (shared/app/okta-log-poller.ts). Throws if any connection failed, so the run is alarmed.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { ScheduledEvent } from 'aws-lambda';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { pollAllConnections } from '../shared/app/okta-log-poller.js';

const { oktaEventTypes, oktaPoll, inboxRetentionDays } = config();
const settings = { actedOnTypes: oktaEventTypes, lookbackMinutes: oktaPoll.lookbackMinutes, maxPages: oktaPoll.maxPages, retentionDays: inboxRetentionDays };

export const handler = middy<ScheduledEvent, { connections: number }>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async () => ({ connections: (await pollAllConnections(settings)).connections }));
