import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import type { OktaEventRecord } from '../domain/okta-events.js';
import type { EventOutcome } from '../domain/memberships.js';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys, TTL_ATTRIBUTE } from './keys.js';

export type InboxStatus = 'pending' | EventOutcome['status'];

export const inboxEventSchema = z.object({
  entity: z.literal(ENTITY.inboxEvent),
  connectionId: z.string(),
  source: z.literal('okta'),
  eventId: z.string(),
  eventType: z.string(),
  published: z.string(),
  outcomeResult: z.nullable(z.string()),
  targets: z.array(
    z.object({
      type: z.nullable(z.string()),
      id: z.nullable(z.string()),
      alternateId: z.nullable(z.string()),
      displayName: z.nullable(z.string()),
    }),
  ),
  deliveryId: z.optional(z.string()),
  receivedAt: z.string(),
  status: z.enum(['pending', 'applied', 'skipped', 'stale', 'invalid', 'failed']),
  detail: z.optional(z.string()),
  attempts: z._default(z.number(), 0),
});

export type InboxEvent = z.infer<typeof inboxEventSchema>;

export type StoreResult = 'stored' | 'duplicate';

/**
 * Stores one IdP event, keyed by (connection, IdP event id), unless it is already there:
 * Okta delivers at least once, and a redelivery must not become a second inbox item (rule 2).
 */
export async function storeOktaEvent(input: {
  connectionId: string;
  record: OktaEventRecord;
  deliveryId: string | undefined;
  receivedAt: Date;
  retentionDays: number;
}): Promise<StoreResult> {
  const { connectionId, record, receivedAt } = input;
  const receivedIso = receivedAt.toISOString();
  const item = {
    ...keys.inboxEvent(connectionId, record.eventId),
    ...keys.inboxByStatus('pending', connectionId, receivedIso, record.eventId),
    entity: ENTITY.inboxEvent,
    connectionId,
    source: 'okta',
    ...record,
    deliveryId: input.deliveryId,
    receivedAt: receivedIso,
    status: 'pending',
    attempts: 0,
    [TTL_ATTRIBUTE]: Math.floor(receivedAt.getTime() / 1000) + input.retentionDays * 86_400,
  };
  try {
    await documentClient.send(
      new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    return 'stored';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'duplicate';
    throw error;
  }
}

/** The Update that records an event's outcome; used alone or inside a transaction. */
export function outcomeUpdate(event: Pick<InboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>, outcome: EventOutcome) {
  const index = keys.inboxByStatus(outcome.status, event.connectionId, event.receivedAt, event.eventId);
  return {
    TableName: tableName,
    Key: keys.inboxEvent(event.connectionId, event.eventId),
    // attribute_exists: never resurrect an item that TTL has removed.
    ConditionExpression: 'attribute_exists(pk)',
    UpdateExpression: 'SET #status = :status, detail = :detail, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk, processedAt = :now',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':status': outcome.status,
      ':detail': outcome.detail,
      ':gsi1pk': index.gsi1pk,
      ':gsi1sk': index.gsi1sk,
      ':now': new Date().toISOString(),
    },
  };
}

export async function recordOutcome(
  event: Pick<InboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>,
  outcome: EventOutcome,
): Promise<void> {
  await documentClient.send(new UpdateCommand(outcomeUpdate(event, outcome)));
}

/** Counts a failed attempt; the last one leaves the event `failed` with its error for a person to see. */
export async function recordFailedAttempt(
  event: Pick<InboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>,
  error: string,
): Promise<void> {
  const update = outcomeUpdate(event, { status: 'failed', detail: error });
  await documentClient.send(
    new UpdateCommand({
      ...update,
      UpdateExpression: `${update.UpdateExpression} ADD attempts :one`,
      ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':one': 1 },
    }),
  );
}

export async function getInboxEvent(connectionId: string, eventId: string): Promise<InboxEvent | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.inboxEvent(connectionId, eventId), ConsistentRead: true }),
  );
  return Item ? inboxEventSchema.parse(Item) : undefined;
}
