/**
 * What the admin API reads and writes about users, memberships and events: key lookups and
 * Queries only (rule 5), and membership changes with their audit entry in one transaction.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Membership } from '../domain/memberships.js';
import { documentClient, tableName } from './client.js';
import { listConnectionIds } from './connections.js';
import { getItemsByKey, membershipsByKey } from './directory.js';
import { ENTITY, GSI1, keys, type Key } from './keys.js';
import { membershipAuditPut } from './audit.js';

/** The users linked to this email through any connection. */
export async function usersByEmail(email: string): Promise<{ userId: string; connectionId: string; email: string }[]> {
  const connectionIds = await listConnectionIds();
  const items = await getItemsByKey(connectionIds.map((connectionId) => keys.identityByEmail(connectionId, email)), false);
  return items.flatMap((item) =>
    typeof item.userId === 'string' && typeof item.connectionId === 'string' ? [{ userId: item.userId, connectionId: item.connectionId, email }] : [],
  );
}

export async function getUser(userId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: keys.user(userId) }));
  return Item;
}

/** The identities linked to this user by IdP subject, one gsi1 lookup per connection. */
export async function identitiesOfUser(userId: string): Promise<Record<string, unknown>[]> {
  const connectionIds = await listConnectionIds();
  const listed = await Promise.all(
    connectionIds.map(async (connectionId) => {
      const { gsi1pk, gsi1sk } = keys.linkedToConnection(connectionId, userId);
      const page = await documentClient.send(
        new QueryCommand({ TableName: tableName, IndexName: GSI1, KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk = :sk', ExpressionAttributeValues: { ':pk': gsi1pk, ':sk': gsi1sk } }),
      );
      return (page.Items ?? []).map((item) => ({ pk: item.pk as string, sk: item.sk as string }));
    }),
  );
  return getItemsByKey(listed.flat(), false);
}

/** The newest audit entries about this user in one account (a Query of the account's trail, filtered). */
export async function auditOfUser(accountId: string, userId: string, limit = 50): Promise<Record<string, unknown>[]> {
  const page = await documentClient.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'userId = :userId',
      ExpressionAttributeValues: { ':pk': keys.auditOf(accountId), ':userId': userId },
      ScanIndexForward: false,
      Limit: 500,
    }),
  );
  return (page.Items ?? []).slice(0, limit);
}

export async function membershipOf(userId: string, accountId: string): Promise<Membership | undefined> {
  return (await membershipsByKey([{ userId, accountId }]))[0];
}

export class MembershipChangedError extends Error {
  override name = 'MembershipChangedError';
}

/**
 * An admin's change of one membership, with an audit entry naming the admin, in one
 * transaction conditional on the membership still being as read.
 */
export async function applyAdminChange(input: { before: Membership; after: Membership; action: 'restored' | 'soft_deleted'; admin: { sub: string; username: string } }): Promise<void> {
  const { before, after, admin } = input;
  try {
    await documentClient.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: keys.membership(after.userId, after.accountId),
              ConditionExpression: '#status = :seenStatus AND changedAt = :seenChangedAt',
              UpdateExpression: 'SET #status = :status, changedAt = :changedAt, reason = :reason, changedBy = :admin REMOVE eventId',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':seenStatus': before.status,
                ':seenChangedAt': before.changedAt,
                ':status': after.status,
                ':changedAt': after.changedAt,
                ':reason': after.reason,
                ':admin': 'admin',
              },
            },
          },
          membershipAuditPut(input, input.action, { admin }),
        ],
      }),
    );
  } catch (error) {
    if (error instanceof TransactionCanceledException) throw new MembershipChangedError('the membership changed meanwhile', { cause: error });
    throw error;
  }
}

/** A page of events with one outcome status (only those a person should look at are listed), optionally of one connection. */
export async function eventsByStatus(input: { status: string; connectionId?: string; cursor?: Record<string, unknown>; limit: number }) {
  const page = await documentClient.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: GSI1,
      KeyConditionExpression: input.connectionId ? 'gsi1pk = :pk AND begins_with(gsi1sk, :connection)' : 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': `EVENTS#${input.status}`, ...(input.connectionId ? { ':connection': `${input.connectionId}#` } : {}) },
      ExclusiveStartKey: input.cursor,
      Limit: input.limit,
    }),
  );
  const items = await getItemsByKey((page.Items ?? []).map((item) => ({ pk: item.pk as string, sk: item.sk as string })), false);
  return { items, next: page.LastEvaluatedKey };
}

export async function getEventItem(connectionId: string, eventId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: keys.inboxEvent(connectionId, eventId), ConsistentRead: true }));
  return Item;
}

/**
 * Hands an event that is still `pending` to its processor again: a batch the stream gave up on
 * whose attempts never recorded a failure (the function timed out or crashed, or the write of
 * the failure failed too) leaves its events `pending`, and nothing else would bring them back.
 * Touching the item is a MODIFY with status pending, which the stream's filter lets through.
 * False when the event is no longer pending (processed since, or failed: replayed by status).
 */
export async function rearmPendingEvent(key: Key): Promise<boolean> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        ConditionExpression: 'attribute_exists(pk) AND entity = :inbox AND #status = :pending',
        UpdateExpression: 'SET replayedAt = :now, attempts = :zero',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending', ':inbox': ENTITY.inboxEvent, ':now': new Date().toISOString(), ':zero': 0 },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/**
 * Puts an event back to `pending`: the table's stream hands it to its processor again (both
 * processors' filters take pending items on MODIFY), which is idempotent, so effects stay
 * exactly-once. Not while it is pending already.
 */
export async function markForReplay(connectionId: string, eventId: string): Promise<boolean> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName,
        Key: keys.inboxEvent(connectionId, eventId),
        ConditionExpression: 'attribute_exists(pk) AND #status <> :pending',
        UpdateExpression: 'SET #status = :pending, replayedAt = :now, attempts = :zero REMOVE gsi1pk, gsi1sk',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending', ':now': new Date().toISOString(), ':zero': 0 },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}
