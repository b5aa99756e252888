/**
 * Scheduled: redoes the Cognito group syncs and revocations that failed and were recorded for
 * repair (shared/app/repair.ts). Throws if any still fails, so the run is alarmed.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { ScheduledEvent } from 'aws-lambda';
import { logger } from '../shared/logger.js';
import { runScheduledRepair, type RepairReport } from '../shared/app/repair.js';

export const handler = middy<ScheduledEvent, Omit<RepairReport, 'items'>>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(() => runScheduledRepair());
