/**
 * Scheduled: keeps every Entra connection's Graph subscriptions alive (shared/app/subscription-maintenance.ts).
 * Throws if any connection failed, so the run is retried and alarmed.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { ScheduledEvent } from 'aws-lambda';
import { config, ConfigError } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { maintainAllSubscriptions } from '../shared/app/subscription-maintenance.js';

function requireHooksBaseUrl(): string {
  const { hooksBaseUrl } = config();
  if (!hooksBaseUrl) throw new ConfigError('HOOKS_BASE_URL is required: the public base URL of the HTTP API, where Graph sends notifications');
  return hooksBaseUrl;
}

const settings = { hooksBaseUrl: requireHooksBaseUrl(), inboxRetentionDays: config().inboxRetentionDays };

export const handler = middy<ScheduledEvent, { connections: number }>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(() => maintainAllSubscriptions(settings));
