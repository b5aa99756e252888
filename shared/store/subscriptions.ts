/**
 * The Graph subscriptions a connection holds, one item each beside the connection item, so a
 * webhook reads the connection and its subscriptions in one Query and a renewal updates one
 * subscription without rewriting the others. The clientState is kept only as a SHA-256 hash.
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys } from './keys.js';
import { queryPartition } from './query.js';

export const storedSubscriptionSchema = z.object({
  subscriptionId: z.string(),
  /** "users" or "groups/<object id>", lowercased. */
  resource: z.string(),
  changeType: z.string(),
  /** The subscription's expirationDateTime (ISO 8601). */
  expiresAt: z.string(),
  /** SHA-256 hex of the clientState: one, or two while a subscription is being replaced. */
  clientStateHashes: z.array(z.string()).check(z.maxLength(2)),
});

export type StoredSubscription = z.infer<typeof storedSubscriptionSchema>;

export function subscriptionItem(connectionId: string, subscription: StoredSubscription) {
  return {
    ...keys.subscription(connectionId, subscription.subscriptionId),
    entity: ENTITY.subscription,
    connectionId,
    ...subscription,
    updatedAt: new Date().toISOString(),
  };
}

export async function listSubscriptions(connectionId: string): Promise<StoredSubscription[]> {
  const items = await queryPartition(keys.connectionPartition(connectionId), keys.subscriptionPrefix, { consistent: true });
  return items.map((item) => storedSubscriptionSchema.parse(item));
}

export async function putSubscription(connectionId: string, subscription: StoredSubscription): Promise<void> {
  await documentClient.send(new PutCommand({ TableName: tableName, Item: subscriptionItem(connectionId, subscription) }));
}

export async function deleteSubscription(connectionId: string, subscriptionId: string): Promise<void> {
  await documentClient.send(new DeleteCommand({ TableName: tableName, Key: keys.subscription(connectionId, subscriptionId) }));
}
