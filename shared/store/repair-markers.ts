/**
 * Repair markers: what the scheduled repair (shared/app/repair.ts) should redo, a failed Cognito
 * group sync at sign-in or a failed revocation after deprovisioning. A marker is written in the
 * same transaction as the failure it stands for, so no failure is recorded without one, and
 * deleted with the success that makes it moot. Listing them is a Query of one partition per kind
 * (no scan); they expire with the inbox (INBOX_RETENTION_DAYS, counted from the first failure),
 * so one that never succeeds does not stay forever.
 */
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { config } from '../config.js';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys, TTL_ATTRIBUTE, type Key } from './keys.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const failureFields = {
  attempts: z.number(),
  lastError: z.string(),
  firstFailedAt: z.string(),
  lastFailedAt: z.string(),
};

export const groupSyncMarkerSchema = z.object({
  repair: z.literal('group-sync'),
  pk: z.string(),
  sk: z.string(),
  connectionId: z.string(),
  subject: z.string(),
  ...failureFields,
});

export const revocationMarkerSchema = z.object({
  repair: z.literal('revocation'),
  pk: z.string(),
  sk: z.string(),
  connectionId: z.string(),
  eventId: z.string(),
  userId: z.string(),
  cognitoUsername: z.optional(z.string()),
  userPoolId: z.optional(z.string()),
  disable: z.boolean(),
  ...failureFields,
});

export type GroupSyncMarker = z.infer<typeof groupSyncMarkerSchema>;
export type RevocationMarker = z.infer<typeof revocationMarkerSchema>;
export type RepairMarker = GroupSyncMarker | RevocationMarker;

/** The user a failed revocation was for, as sign-in linked them, and whether to disable them. */
export type RevocationTarget = { userId: string; cognitoUsername?: string; userPoolId?: string; disable: boolean };

/**
 * An Update that records one more failure on the marker, creating it if needed. Counting in
 * place (ADD) keeps it one write whether the marker exists or not; the first failure's time
 * and the expiry are kept, so retries do not extend a marker's life.
 */
function failureUpdate(key: Key, fields: Record<string, unknown>, error: string, now: Date): TransactItem {
  const set = Object.entries({ entity: ENTITY.repairMarker, ...fields, lastError: error, lastFailedAt: now.toISOString() }).filter(([, value]) => value !== undefined);
  const names = Object.fromEntries(set.map(([name], index) => [`#f${index}`, name]));
  const values = Object.fromEntries(set.map(([, value], index) => [`:f${index}`, value]));
  const assignments = set.map((_, index) => `#f${index} = :f${index}`);
  const expiresAt = Math.floor(now.getTime() / 1000) + config().inboxRetentionDays * 86_400;
  return {
    Update: {
      TableName: tableName,
      Key: key,
      UpdateExpression: `SET ${assignments.join(', ')}, firstFailedAt = if_not_exists(firstFailedAt, :now), #ttl = if_not_exists(#ttl, :expiresAt) ADD attempts :one`,
      ExpressionAttributeNames: { ...names, '#ttl': TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ...values, ':now': now.toISOString(), ':expiresAt': expiresAt, ':one': 1 },
    },
  };
}

const deleteOf = (key: Key): TransactItem => ({ Delete: { TableName: tableName, Key: key } });

export function groupSyncFailureMarker(connectionId: string, subject: string, error: string, now = new Date()): TransactItem {
  return failureUpdate(keys.groupSyncRepair(connectionId, subject), { repair: 'group-sync', connectionId, subject }, error, now);
}

export function groupSyncMarkerDelete(connectionId: string, subject: string): TransactItem {
  return deleteOf(keys.groupSyncRepair(connectionId, subject));
}

export function revocationFailureMarker(event: { connectionId: string; eventId: string }, target: RevocationTarget, error: string, now = new Date()): TransactItem {
  const { connectionId, eventId } = event;
  return failureUpdate(keys.revocationRepair(connectionId, eventId, target.userId), { repair: 'revocation', connectionId, eventId, ...target }, error, now);
}

export function revocationMarkerDelete(event: { connectionId: string; eventId: string }, userId: string): TransactItem {
  return deleteOf(keys.revocationRepair(event.connectionId, event.eventId, userId));
}

async function markersPage(kind: 'GROUP_SYNC' | 'REVOCATION', limit: number, range: { after?: string; upTo?: string }) {
  const pk = keys.repairsOf(kind);
  const { Items = [], LastEvaluatedKey } = await documentClient.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: range.upTo === undefined ? 'pk = :pk' : 'pk = :pk AND sk <= :upTo',
      ExpressionAttributeValues: { ':pk': pk, ...(range.upTo === undefined ? {} : { ':upTo': range.upTo }) },
      ...(range.after === undefined ? {} : { ExclusiveStartKey: { pk, sk: range.after } }),
      Limit: limit,
      ConsistentRead: true,
    }),
  );
  return { items: Items, next: LastEvaluatedKey?.sk as string | undefined };
}

/**
 * Up to `limit` markers of one kind, in key order from where the last run stopped (a cursor item),
 * wrapping round to the start: so markers that keep failing cannot hold back those after them.
 * `more` says some were left for the next run.
 */
export async function repairMarkers<K extends 'GROUP_SYNC' | 'REVOCATION'>(
  kind: K,
  limit: number,
): Promise<{ markers: (K extends 'GROUP_SYNC' ? GroupSyncMarker : RevocationMarker)[]; more: boolean }> {
  if (limit <= 0) return { markers: [], more: false };
  const cursorKey = keys.repairCursor(kind);
  const { Item: cursor } = await documentClient.send(new GetCommand({ TableName: tableName, Key: cursorKey, ConsistentRead: true }));
  const after = typeof cursor?.after === 'string' ? cursor.after : undefined;
  const first = await markersPage(kind, limit, { after });
  const items = [...first.items];
  let next = first.next;
  if (next === undefined && after !== undefined && items.length < limit) {
    const wrapped = await markersPage(kind, limit - items.length, { upTo: after });
    items.push(...wrapped.items);
    next = wrapped.next;
  }
  // Moved before the items are processed: a run that dies midway leaves them for the next round.
  if (next !== undefined) {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName,
        Key: cursorKey,
        UpdateExpression: 'SET entity = :entity, #after = :after',
        ExpressionAttributeNames: { '#after': 'after' },
        ExpressionAttributeValues: { ':entity': ENTITY.repairCursor, ':after': next },
      }),
    );
  } else if (after !== undefined) await documentClient.send(new DeleteCommand({ TableName: tableName, Key: cursorKey }));
  const schema = kind === 'GROUP_SYNC' ? groupSyncMarkerSchema : revocationMarkerSchema;
  return { markers: items.map((item) => schema.parse(item)) as never, more: next !== undefined };
}

/** Drops a marker whose repair is moot (the identity or event is gone, or nothing is left to do). */
export async function dropRepairMarker(marker: Key): Promise<void> {
  await documentClient.send(new DeleteCommand({ TableName: tableName, Key: { pk: marker.pk, sk: marker.sk } }));
}
