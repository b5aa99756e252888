import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { EventOutcome, IdpChangePlan, MembershipUpdate } from '../domain/memberships.js';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys } from './keys.js';
import { outcomeUpdate, recordOutcome, type OktaInboxEvent } from './inbox.js';

/** An inbox event (Okta or Graph) as committing needs it: which item gets the outcome. */
export type InboxEventRef = Pick<OktaInboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>;

/** An event with what processing decided: its soft-deletes (if any) and its outcome. */
export type PlannedEvent<E extends InboxEventRef = OktaInboxEvent> = {
  event: E;
  plan?: IdpChangePlan;
  outcome: EventOutcome;
};

/** Another writer (a sign-in, a concurrent event) changed a membership between our read and our write. */
export class ConcurrentMembershipChangeError extends Error {
  override name = 'ConcurrentMembershipChangeError';
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A transaction holds at most 100 actions. */
export const MAX_TRANSACTION_ACTIONS = 100;

type UpdateKind = 'soft_deleted' | 'restored' | 'confirmed';

/**
 * One membership change of an IdP event and its audit entry. The update is conditional on the
 * membership still being what the plan was made from, so a concurrent change cancels the
 * transaction and the event is planned again. The audit key is deterministic, so an effect is
 * audited once.
 */
function membershipUpdateActions(event: InboxEventRef, { before, after }: MembershipUpdate, kind: UpdateKind): TransactItem[] {
  return [
    {
      Update: {
        TableName: tableName,
        Key: keys.membership(after.userId, after.accountId),
        ConditionExpression: '#status = :seenStatus AND changedAt = :seenChangedAt',
        UpdateExpression:
          'SET #status = :status, #role = :role, changedAt = :changedAt, reason = :reason, eventId = :eventId, changedBy = :changedBy' +
          (after.removal ? ', removal = :removal' : ' REMOVE removal'),
        ExpressionAttributeNames: { '#status': 'status', '#role': 'role' },
        ExpressionAttributeValues: {
          ':seenStatus': before.status,
          ':seenChangedAt': before.changedAt,
          ':status': after.status,
          ':role': after.role,
          ':changedAt': after.changedAt,
          ':reason': after.reason,
          ':eventId': event.eventId,
          ':changedBy': 'idp',
          ...(after.removal ? { ':removal': after.removal } : {}),
        },
      },
    },
    {
      Put: {
        TableName: tableName,
        Item: {
          ...keys.auditEntry(after.accountId, after.changedAt, event.eventId, after.userId),
          entity: ENTITY.audit,
          action: `membership.${kind}`,
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
  ];
}

/** The writes of one planned event: each membership change with its audit entry, then the event's outcome. */
export function plannedActions({ event, plan, outcome }: PlannedEvent<InboxEventRef>): TransactItem[] {
  const effects = [
    ...(plan?.softDeletes ?? []).flatMap((update) => membershipUpdateActions(event, update, 'soft_deleted')),
    ...(plan?.restores ?? []).flatMap((update) =>
      membershipUpdateActions(event, update, update.before.status === 'deleted' ? 'restored' : 'confirmed'),
    ),
  ];
  // The outcome comes last: when an event needs several transactions, it is recorded only
  // once every effect is in.
  return [...effects, { Update: outcomeUpdate(event, outcome) }];
}

/** The memberships a planned event writes, as `userId\u0000accountId`. */
export function membershipsWrittenBy(planned: PlannedEvent<InboxEventRef>): string[] {
  const updates = [...(planned.plan?.softDeletes ?? []), ...(planned.plan?.restores ?? [])];
  return updates.map(({ after }) => `${after.userId}\u0000${after.accountId}`);
}

async function transact(actions: TransactItem[]): Promise<void> {
  try {
    await documentClient.send(new TransactWriteCommand({ TransactItems: actions }));
  } catch (error) {
    if (error instanceof TransactionCanceledException) {
      throw new ConcurrentMembershipChangeError('a membership changed while the event was processed', { cause: error });
    }
    throw error;
  }
}

/**
 * Commits one planned event: in one transaction, or, for a user with more memberships than a
 * transaction holds, in several, the outcome in the last. A retry after a partial commit
 * finds the done part deleted by this event and plans only the rest.
 */
export async function applyPlannedEvent(planned: PlannedEvent<InboxEventRef>): Promise<void> {
  if (membershipsWrittenBy(planned).length === 0) return recordOutcome(planned.event, planned.outcome);
  const actions = plannedActions(planned);
  const outcome = actions.pop() as TransactItem;
  // An even number, so a membership update never parts from its audit entry.
  const effectsPerTransaction = MAX_TRANSACTION_ACTIONS - 2;
  const chunks: TransactItem[][] = [];
  for (let start = 0; start < actions.length; start += effectsPerTransaction) {
    chunks.push(actions.slice(start, start + effectsPerTransaction));
  }
  const last = chunks.at(-1);
  if (last) last.push(outcome);
  else chunks.push([outcome]);
  for (const chunk of chunks) await transact(chunk);
}

/**
 * Commits several planned events in one transaction (group commit): one round trip instead
 * of one per event. All or nothing: the caller falls back to one event at a time if it fails.
 * The events must not touch the same membership, and their actions must fit one transaction.
 */
export async function applyPlannedGroup(group: PlannedEvent[]): Promise<void> {
  await transact(group.flatMap(plannedActions));
}
