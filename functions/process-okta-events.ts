/**
 * Runs on the table's stream (INSERTs of inbox items only, by a filter in serverless.yml).
 * The batch is planned and committed together (shared/app/process-okta-batch.ts); each record
 * then reports its own result: a failed one is recorded on its inbox item and reported alone
 * (partial batch response), and the stream retries, bisects and finally dead-letters it.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { oktaInboxEventSchema, type OktaInboxEvent } from '../shared/store/inbox.js';
import { failAttempt } from '../shared/app/fail-attempt.js';
import { cachedAccountLookups } from '../shared/store/sso-configs.js';
import { cachedConnectionLookup } from '../shared/store/connections.js';
import { processOktaBatch, resultKey, type EventResult } from '../shared/app/process-okta-batch.js';
import { maskEmail } from '../shared/domain/privacy.js';
import { revokeLeavers } from '../shared/app/revoke-access.js';
import { ConnectionCounts } from '../shared/metrics.js';

const { oktaEventTypes, configCacheMs, disableOnDeprovision } = config();
const processing = { actedOnTypes: oktaEventTypes, accounts: cachedAccountLookups(configCacheMs), connection: cachedConnectionLookup(configCacheMs) };

function inboxEventOf(record: DynamoDBRecord): OktaInboxEvent {
  return oktaInboxEventSchema.parse(unmarshall((record.dynamodb?.NewImage ?? {}) as Record<string, AttributeValue>));
}

function logContext(event: OktaInboxEvent) {
  const userTarget = event.targets.find((target) => target.type === 'User');
  return {
    connectionId: event.connectionId,
    eventType: event.eventType,
    user: userTarget?.alternateId ? maskEmail(userTarget.alternateId) : undefined,
  };
}

async function reportRecord(record: DynamoDBRecord, results: Map<string, EventResult>, counts: ConnectionCounts): Promise<void> {
  const event = inboxEventOf(record);
  logger.setCorrelationId(event.eventId);
  const result = results.get(resultKey(event)) ?? { error: new Error('the event was not processed') };
  if ('outcome' in result) {
    counts.addOutcome(event.connectionId, result.outcome.status);
    logger.info('event processed', { ...logContext(event), status: result.outcome.status, detail: result.outcome.detail });
    return;
  }
  counts.add(event.connectionId, 'EventsFailed');
  await failAttempt(event, result.error, logContext(event));
}

async function processEvents(event: DynamoDBStreamEvent, context: Context) {
  // Records that do not parse are left out here and fail on their own below.
  const events = event.Records.flatMap((record) => {
    try {
      return [inboxEventOf(record)];
    } catch {
      return [];
    }
  });
  const { results, identities } = await processOktaBatch(events, processing);
  const applied = events.filter((inboxEvent) => {
    const result = results.get(resultKey(inboxEvent));
    return result !== undefined && 'outcome' in result && result.outcome.status === 'applied';
  });
  // After the commit, and never failing it: a revocation problem is recorded on the event.
  await revokeLeavers(applied, { actedOnTypes: oktaEventTypes, disableOnDeprovision }, identities).catch((error) =>
    logger.error('revocation step failed', { error: error as Error }),
  );
  // A processor of this invocation's own: it holds the batch's records and failures, and a
  // module-wide one is shared by invocations running at once in one process (they overwrote
  // each other's records and lost reported failures). Records are reported one after another,
  // so each log line carries its own correlation id.
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  const counts = new ConnectionCounts();
  try {
    return await processPartialResponse(event, (record: DynamoDBRecord) => reportRecord(record, results, counts), processor, {
      context,
      processInParallel: false,
    });
  } finally {
    counts.publish();
  }
}

export const handler = middy<DynamoDBStreamEvent, unknown, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(processEvents);
