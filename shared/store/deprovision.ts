import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { EventOutcome, SoftDeletePlan } from '../domain/memberships.js';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys } from './keys.js';
import { outcomeUpdate, type InboxEvent } from './inbox.js';

/** Another writer (a sign-in, a concurrent event) changed a membership between our read and our write. */
export class ConcurrentMembershipChangeError extends Error {
  override name = 'ConcurrentMembershipChangeError';
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

// A transaction holds at most 100 actions: two per soft-delete plus the inbox outcome.
const SOFT_DELETES_PER_TRANSACTION = 49;

/**
 * Soft-deletes the planned memberships, appends one audit entry for each and records the
 * event's outcome, all in one transaction. Each update is conditional on the membership still
 * being what we planned from, so a concurrent change cancels it and the event is retried.
 * The audit key is deterministic, so a replay can never audit the same effect twice.
 */
export async function applySoftDeletes(
  event: Pick<InboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>,
  plan: SoftDeletePlan,
  outcome: EventOutcome,
): Promise<void> {
  const actions: TransactItem[] = plan.softDeletes.flatMap(({ before, after }): TransactItem[] => [
    {
      Update: {
        TableName: tableName,
        Key: keys.membership(after.userId, after.accountId),
        ConditionExpression: '#status = :active AND changedAt = :seenChangedAt',
        UpdateExpression: 'SET #status = :deleted, changedAt = :changedAt, reason = :reason, eventId = :eventId',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':active': 'active',
          ':seenChangedAt': before.changedAt,
          ':deleted': 'deleted',
          ':changedAt': after.changedAt,
          ':reason': after.reason,
          ':eventId': event.eventId,
        },
      },
    },
    {
      Put: {
        TableName: tableName,
        Item: {
          ...keys.auditEntry(after.accountId, after.changedAt, event.eventId, after.userId),
          entity: ENTITY.audit,
          action: 'membership.soft_deleted',
          accountId: after.accountId,
          userId: after.userId,
          connectionId: event.connectionId,
          eventId: event.eventId,
          occurredAt: after.changedAt,
          recordedAt: new Date().toISOString(),
          before: { status: before.status, role: before.role, changedAt: before.changedAt },
          after: { status: after.status, role: after.role },
          reason: after.reason,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
  ]);

  const chunks: TransactItem[][] = [];
  for (let start = 0; start < actions.length; start += SOFT_DELETES_PER_TRANSACTION * 2) {
    chunks.push(actions.slice(start, start + SOFT_DELETES_PER_TRANSACTION * 2));
  }
  // The outcome rides in the last transaction: it is recorded only once every effect is in.
  if (chunks.length === 0) chunks.push([]);
  chunks.at(-1)?.push({ Update: outcomeUpdate(event, outcome) });

  for (const chunk of chunks) {
    try {
      await documentClient.send(new TransactWriteCommand({ TransactItems: chunk }));
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        throw new ConcurrentMembershipChangeError('a membership changed while the event was processed', {
          cause: error,
        });
      }
      throw error;
    }
  }
}
