/** What both stream processors do with a record whose processing threw. */
import { logger } from '../logger.js';
import { recordFailedAttempt, type OktaInboxEvent } from '../store/inbox.js';

/**
 * A stream record's processing failed: log it, count the attempt on the event (the last one
 * leaves it `failed` with its error) and throw, so the stream retries and finally dead-letters it.
 */
export async function failAttempt(
  event: Pick<OktaInboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>,
  error: unknown,
  logContext: Record<string, unknown>,
): Promise<never> {
  const message = error instanceof Error ? error.message : String(error);
  logger.error('event failed; the stream will retry it', { ...logContext, error: error as Error });
  await recordFailedAttempt(event, message).catch((recordError) =>
    logger.error('could not record the failed attempt', { ...logContext, error: recordError as Error }),
  );
  throw error;
}
