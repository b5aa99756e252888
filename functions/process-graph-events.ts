/**
 * Runs on the table's stream (pending Graph inbox items only: new ones and re-armed hints, by a
 * filter in serverless.yml).
 * Each record is processed on its own, in order (most need a Graph call): a failed one is
 * recorded on its inbox item and reported alone (partial batch response), and the stream
 * retries, bisects and finally dead-letters it.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { graphInboxEventSchema, type GraphInboxEvent } from '../shared/store/graph-inbox.js';
import { failAttempt } from '../shared/app/fail-attempt.js';
import { cachedAccountLookups } from '../shared/store/sso-configs.js';
import { processGraphEvent } from '../shared/app/process-graph-event.js';
import { ConnectionCounts } from '../shared/metrics.js';

const { configCacheMs, hooksBaseUrl, disableOnDeprovision } = config();
const settings = { accounts: cachedAccountLookups(configCacheMs), hooksBaseUrl, disableOnDeprovision };

function inboxEventOf(record: DynamoDBRecord): GraphInboxEvent {
  return graphInboxEventSchema.parse(unmarshall((record.dynamodb?.NewImage ?? {}) as Record<string, AttributeValue>));
}

async function processRecord(record: DynamoDBRecord, counts: ConnectionCounts): Promise<void> {
  const event = inboxEventOf(record);
  logger.setCorrelationId(event.eventId);
  const context = { connectionId: event.connectionId, eventType: event.eventType };
  try {
    const outcome = await processGraphEvent(event, settings);
    counts.addOutcome(event.connectionId, outcome.status);
    logger.info('graph event processed', { ...context, status: outcome.status, detail: outcome.detail });
  } catch (error) {
    counts.add(event.connectionId, 'EventsFailed');
    await failAttempt(event, error, context);
  }
}

async function processGraphEvents(event: DynamoDBStreamEvent, context: Context) {
  // Per invocation: a processor holds its batch's records and failures, and one shared by
  // invocations running at once in one process loses the failures of the one that started first.
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  const counts = new ConnectionCounts();
  try {
    return await processPartialResponse(event, (record: DynamoDBRecord) => processRecord(record, counts), processor, { context, processInParallel: false });
  } finally {
    counts.publish();
  }
}

export const handler = middy<DynamoDBStreamEvent, unknown, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(processGraphEvents);
