import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import type { OktaEventRecord } from '../domain/okta-events.js';
import type { EventOutcome } from '../domain/memberships.js';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys, TTL_ATTRIBUTE } from './keys.js';
import { revocationFailureMarker, revocationMarkerDelete, type RevocationTarget } from './repair-markers.js';

export type InboxStatus = 'pending' | EventOutcome['status'];

/** `skipped`: a failed revocation the repair did not redo: the user has access again, or their Cognito user is gone. */
const revocationSchema = z.object({ status: z.enum(['done', 'failed', 'skipped']), detail: z.string(), at: z.string() });

export type Revocation = z.infer<typeof revocationSchema>;

export const oktaInboxEventSchema = z.object({
  entity: z.literal(ENTITY.inboxEvent),
  connectionId: z.string(),
  source: z.literal('okta'),
  eventId: z.string(),
  eventType: z.string(),
  published: z.string(),
  publishedAsSent: z.optional(z.string()),
  outcomeResult: z.nullable(z.string()),
  targets: z.array(
    z.object({
      type: z.nullable(z.string()),
      id: z.nullable(z.string()),
      alternateId: z.nullable(z.string()),
      displayName: z.nullable(z.string()),
    }),
  ),
  invalidReason: z.optional(z.string()),
  deliveryId: z.optional(z.string()),
  receivedAt: z.string(),
  status: z.enum(['pending', 'applied', 'skipped', 'stale', 'invalid', 'failed']),
  detail: z.optional(z.string()),
  attempts: z._default(z.number(), 0),
  revocation: z.optional(revocationSchema),
});

export type OktaInboxEvent = z.infer<typeof oktaInboxEventSchema>;

export type StoreCounts = { stored: number; duplicates: number };

export type InboxDelivery = {
  connectionId: string;
  records: OktaEventRecord[];
  deliveryId: string | undefined;
  receivedAt: Date;
  retentionDays: number;
};

// One transaction holds at most 100 actions.
const EVENTS_PER_TRANSACTION = 100;
const MAX_STORE_ROUNDS = 5;

/**
 * The item stored on receipt. It carries no status-index keys: that index lists processed
 * outcomes, and leaving pending items out of it halves the write on Okta's 3-second path.
 */
export function inboxItem(delivery: Omit<InboxDelivery, 'records'>, record: OktaEventRecord) {
  const receivedIso = delivery.receivedAt.toISOString();
  return {
    ...keys.inboxEvent(delivery.connectionId, record.eventId),
    entity: ENTITY.inboxEvent,
    connectionId: delivery.connectionId,
    source: 'okta',
    ...record,
    deliveryId: delivery.deliveryId,
    receivedAt: receivedIso,
    status: 'pending',
    attempts: 0,
    [TTL_ATTRIBUTE]: Math.floor(delivery.receivedAt.getTime() / 1000) + delivery.retentionDays * 86_400,
  };
}

type NewInboxItem = Record<string, unknown> & { pk: string; sk: string; rearm?: boolean };

/**
 * Only if absent: a redelivery must not reset a processed event (rule 2). An item marked
 * `rearm` (a state-based Graph hint, which reads the same however often the state changes) is
 * written again every time, so it is processed again and sees the newest state.
 */
function storeCondition(item: NewInboxItem): { ConditionExpression?: string } {
  return item.rearm ? {} : { ConditionExpression: 'attribute_not_exists(pk)' };
}

/** The item as stored: `rearm` is how to write it, not part of it. */
function stored({ rearm: _rearm, ...item }: NewInboxItem): Record<string, unknown> {
  return item;
}

async function putOne(item: NewInboxItem): Promise<StoreCounts> {
  try {
    await documentClient.send(new PutCommand({ TableName: tableName, Item: stored(item), ...storeCondition(item) }));
    return { stored: 1, duplicates: 0 };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return { stored: 0, duplicates: 1 };
    throw error;
  }
}

/**
 * Puts up to 100 items in one transaction, each only if absent. When the transaction is
 * cancelled, the items whose condition failed are already stored (duplicates): drop them and
 * try the rest again; a conflict with a concurrent writer is simply retried.
 */
async function putAllOrSkipDuplicates(items: NewInboxItem[]): Promise<StoreCounts> {
  let pending = items;
  let duplicates = 0;
  for (let round = 1; pending.length > 1; round++) {
    try {
      await documentClient.send(
        new TransactWriteCommand({
          TransactItems: pending.map((item) => ({ Put: { TableName: tableName, Item: stored(item), ...storeCondition(item) } })),
        }),
      );
      return { stored: pending.length, duplicates };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException) || round >= MAX_STORE_ROUNDS) throw error;
      const reasons = error.CancellationReasons ?? [];
      const isDuplicate = (index: number) => reasons[index]?.Code === 'ConditionalCheckFailed';
      const stillPending = pending.filter((_, index) => !isDuplicate(index));
      duplicates += pending.length - stillPending.length;
      // Nothing was a duplicate: a concurrent writer conflicted; back off a little and retry.
      if (stillPending.length === pending.length) await new Promise((resolve) => setTimeout(resolve, 25 * round));
      pending = stillPending;
    }
  }
  const last = pending[0] ? await putOne(pending[0]) : { stored: 0, duplicates: 0 };
  return { stored: last.stored, duplicates: duplicates + last.duplicates };
}

/**
 * Stores a delivery's events, each keyed by (connection, IdP event id), unless already there:
 * Okta delivers at least once, and a redelivery must not become a second inbox item (rule 2).
 * A batch is written in one transaction (one round trip instead of one per event), so a
 * 50-event delivery is acknowledged about as fast as a single one.
 */
export async function storeOktaEvents(delivery: InboxDelivery): Promise<StoreCounts> {
  return storeNewInboxItems(delivery.records.map((record) => inboxItem(delivery, record)));
}

/**
 * Stores inbox items, each only if its key is new; items with the same key in one call are one
 * event (a transaction may not name a key twice). Shared by the Okta and Graph receivers.
 */
export async function storeNewInboxItems(items: NewInboxItem[]): Promise<StoreCounts> {
  const unique = [...new Map(items.map((item) => [item.pk, item])).values()];
  const chunks: NewInboxItem[][] = [];
  for (let start = 0; start < unique.length; start += EVENTS_PER_TRANSACTION) {
    chunks.push(unique.slice(start, start + EVENTS_PER_TRANSACTION));
  }
  const counts = await Promise.all(chunks.map(putAllOrSkipDuplicates));
  return counts.reduce(
    (total, chunk) => ({ stored: total.stored + chunk.stored, duplicates: total.duplicates + chunk.duplicates }),
    { stored: 0, duplicates: items.length - unique.length },
  );
}

/**
 * The Update that records an event's outcome; used alone or inside a transaction. Only the
 * outcomes a person should look at (skipped, stale, invalid, failed) go into the status
 * index; applied events are in the accounts' audit trails, and keeping them out of the index
 * saves an index write on every applied event.
 */
export function outcomeUpdate(event: Pick<OktaInboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>, outcome: EventOutcome) {
  const indexed = outcome.status !== 'applied';
  const index = keys.inboxByStatus(outcome.status, event.connectionId, event.receivedAt, event.eventId);
  return {
    TableName: tableName,
    Key: keys.inboxEvent(event.connectionId, event.eventId),
    // attribute_exists: never resurrect an item that TTL has removed.
    ConditionExpression: 'attribute_exists(pk)',
    UpdateExpression: indexed
      ? 'SET #status = :status, detail = :detail, processedAt = :now, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk'
      : 'SET #status = :status, detail = :detail, processedAt = :now REMOVE gsi1pk, gsi1sk',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':status': outcome.status,
      ':detail': outcome.detail,
      ':now': new Date().toISOString(),
      ...(indexed ? { ':gsi1pk': index.gsi1pk, ':gsi1sk': index.gsi1sk } : {}),
    },
  };
}

export async function recordOutcome(
  event: Pick<OktaInboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>,
  outcome: EventOutcome,
): Promise<void> {
  await documentClient.send(new UpdateCommand(outcomeUpdate(event, outcome)));
}

/** Counts a failed attempt; the last one leaves the event `failed` with its error for a person to see. */
export async function recordFailedAttempt(
  event: Pick<OktaInboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>,
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

export async function getInboxEvent(connectionId: string, eventId: string): Promise<OktaInboxEvent | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.inboxEvent(connectionId, eventId), ConsistentRead: true }),
  );
  return Item ? oktaInboxEventSchema.parse(Item) : undefined;
}

/**
 * What revoking a deprovisioned user's Cognito session did, kept on the event for a person to
 * see, in one transaction with the user's repair marker: a failure counts on it (creating it),
 * anything else deletes it, so the scheduled repair finds exactly the revocations still owed.
 */
export async function recordRevocation(
  event: Pick<OktaInboxEvent, 'connectionId' | 'eventId'>,
  revocation: Omit<Revocation, 'at'>,
  target: RevocationTarget,
): Promise<void> {
  const now = new Date();
  await documentClient.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Update: {
            TableName: tableName,
            Key: keys.inboxEvent(event.connectionId, event.eventId),
            // Never resurrect an event TTL has removed; the transaction then writes no marker either.
            ConditionExpression: 'attribute_exists(pk)',
            UpdateExpression: 'SET revocation = :revocation',
            ExpressionAttributeValues: { ':revocation': { ...revocation, at: now.toISOString() } },
          },
        },
        revocation.status === 'failed' ? revocationFailureMarker(event, target, revocation.detail, now) : revocationMarkerDelete(event, target.userId),
      ],
    }),
  );
}

/** Whether an inbox event (of any source) is still stored: TTL removes it after the retention. */
export async function inboxEventExists(connectionId: string, eventId: string): Promise<boolean> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.inboxEvent(connectionId, eventId), ConsistentRead: true, ProjectionExpression: 'pk' }),
  );
  return Item !== undefined;
}
