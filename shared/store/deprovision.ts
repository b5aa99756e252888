import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { EventOutcome, IdpChangePlan, MembershipUpdate } from '../domain/memberships.js';
import { documentClient, tableName } from './client.js';
import { keys } from './keys.js';
import { membershipAuditPut } from './audit.js';
import { outcomeUpdate, recordOutcome, type OktaInboxEvent } from './inbox.js';

/** An inbox event (Okta or Graph) as committing needs it: which item gets the outcome. */
export type InboxEventRef = Pick<OktaInboxEvent, 'connectionId' | 'eventId' | 'receivedAt'>;

/** An event with what processing decided: its membership changes (if any) and its outcome. */
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

/** What a membership update of an IdP event is; only the first three change access, and are audited. */
type UpdateKind = 'soft_deleted' | 'restored' | 'role_changed' | 'removal_recorded' | 'confirmed';

/** The attributes an IdP event may change; any other (userId, keys) stays as it is. */
const UPDATED = ['status', 'role', 'changedAt', 'reason', 'eventId', 'changedBy', 'removal', 'idpRemovedAt', 'groupAddedAt', 'reinstatedAt'] as const;
/** The attributes the plan was made from: another writer changing one cancels the transaction. */
const SEEN = ['status', 'changedAt', 'idpRemovedAt', 'groupAddedAt', 'reinstatedAt'] as const;

function updateKind({ before, after }: MembershipUpdate): UpdateKind {
  if (before.status !== after.status) return after.status === 'deleted' ? 'soft_deleted' : 'restored';
  if (after.status === 'deleted') return 'removal_recorded';
  return before.role !== after.role ? 'role_changed' : 'confirmed';
}

/**
 * One membership update of an IdP event, with its audit entry when it changes access. The update
 * is conditional on the membership still being what the plan was made from, so a concurrent
 * change cancels the transaction and the event is planned again. The audit key is
 * deterministic, so an effect is audited once.
 */
function membershipUpdateActions(event: InboxEventRef, update: MembershipUpdate): TransactItem[] {
  const { before, after } = update;
  const kind = updateKind(update);
  const names = Object.fromEntries(UPDATED.map((field) => [`#${field}`, field]));
  const values: Record<string, unknown> = {};
  const set = UPDATED.filter((field) => after[field] !== undefined);
  const remove = UPDATED.filter((field) => after[field] === undefined && before[field] !== undefined);
  for (const field of set) values[`:${field}`] = after[field];
  const seen = SEEN.map((field) => {
    if (before[field] === undefined) return `attribute_not_exists(#${field})`;
    values[`:seen_${field}`] = before[field];
    return `#${field} = :seen_${field}`;
  });
  const updateAction: TransactItem = {
    Update: {
      TableName: tableName,
      Key: keys.membership(after.userId, after.accountId),
      ConditionExpression: seen.join(' AND '),
      UpdateExpression: `SET ${set.map((field) => `#${field} = :${field}`).join(', ')}${remove.length > 0 ? ` REMOVE ${remove.map((field) => `#${field}`).join(', ')}` : ''}`,
      ExpressionAttributeNames: Object.fromEntries(Object.entries(names).filter(([, field]) => set.includes(field as never) || remove.includes(field as never) || SEEN.includes(field as never))),
      ExpressionAttributeValues: values,
    },
  };
  if (kind === 'removal_recorded' || kind === 'confirmed') return [updateAction];
  return [updateAction, membershipAuditPut(update, kind, { eventId: event.eventId, connectionId: event.connectionId })];
}

const updatesOf = (plan: IdpChangePlan | undefined): MembershipUpdate[] => [
  ...(plan?.softDeletes ?? []),
  ...(plan?.removalsRecorded ?? []),
  ...(plan?.restores ?? []),
  ...(plan?.reinstatementsRecorded ?? []),
  ...(plan?.demotions ?? []),
];

/** The writes of one planned event, one group per membership (its update and audit entry), then the event's outcome. */
function plannedEffects({ event, plan }: PlannedEvent<InboxEventRef>): TransactItem[][] {
  return updatesOf(plan).map((update) => membershipUpdateActions(event, update));
}

/** Every write of one planned event; the outcome comes last. */
export function plannedActions(planned: PlannedEvent<InboxEventRef>): TransactItem[] {
  return [...plannedEffects(planned).flat(), { Update: outcomeUpdate(planned.event, planned.outcome) }];
}

/** The memberships a planned event writes, as `userId\u0000accountId`. */
export function membershipsWrittenBy(planned: PlannedEvent<InboxEventRef>): string[] {
  return updatesOf(planned.plan).map(({ after }) => `${after.userId}\u0000${after.accountId}`);
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
  // The outcome comes last: when an event needs several transactions, it is recorded only once
  // every effect is in. A membership's update never parts from its audit entry.
  const chunks: TransactItem[][] = [[]];
  for (const effect of plannedEffects(planned)) {
    if ((chunks.at(-1) as TransactItem[]).length + effect.length > MAX_TRANSACTION_ACTIONS - 1) chunks.push([]);
    (chunks.at(-1) as TransactItem[]).push(...effect);
  }
  (chunks.at(-1) as TransactItem[]).push({ Update: outcomeUpdate(planned.event, planned.outcome) });
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
