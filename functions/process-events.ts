/**
 * Runs on the table's stream (INSERTs of inbox items only, by a filter in serverless.yml).
 * Each record is one event; a failing record is reported alone (partial batch response), its
 * attempt is recorded on the inbox item, and the stream retries, bisects and finally
 * dead-letters it (serverless.yml).
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { inboxEventSchema, recordFailedAttempt } from '../shared/store/inbox.js';
import { cachedAccountLookups } from '../shared/store/directory.js';
import { processOktaEvent } from '../shared/app/process-okta-event.js';
import { maskEmail } from '../shared/domain/privacy.js';

const { oktaEventTypes, configCacheMs } = config();
const processing = { actedOnTypes: oktaEventTypes, accounts: cachedAccountLookups(configCacheMs) };
const processor = new BatchProcessor(EventType.DynamoDBStreams);

async function processRecord(record: DynamoDBRecord): Promise<void> {
  const image = unmarshall((record.dynamodb?.NewImage ?? {}) as Record<string, AttributeValue>);
  const event = inboxEventSchema.parse(image);
  logger.setCorrelationId(event.eventId);
  const userTarget = event.targets.find((target) => target.type === 'User');
  const context = {
    connectionId: event.connectionId,
    eventType: event.eventType,
    user: userTarget?.alternateId ? maskEmail(userTarget.alternateId) : undefined,
  };
  try {
    const outcome = await processOktaEvent(event, processing);
    logger.info('event processed', { ...context, status: outcome.status, detail: outcome.detail });
  } catch (error) {
    logger.error('event failed; the stream will retry it', { ...context, error: error as Error });
    await recordFailedAttempt(event, error instanceof Error ? error.message : String(error)).catch((recordError) =>
      logger.error('could not record the failed attempt', { ...context, error: recordError as Error }),
    );
    throw error;
  }
}

export const handler = middy<DynamoDBStreamEvent, unknown, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler((event, context) => processPartialResponse(event, processRecord, processor, { context }));
