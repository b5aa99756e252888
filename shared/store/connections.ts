import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { connectionSchema, type Connection } from '../domain/connection.js';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys } from './keys.js';
import { cached } from './cache.js';
import { queryIndex, queryPartition } from './query.js';
import { storedSubscriptionSchema, type StoredSubscription } from './subscriptions.js';

export type { Connection } from '../domain/connection.js';

export async function getConnection(connectionId: string, { consistent = false }: { consistent?: boolean } = {}): Promise<Connection | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.connection(connectionId), ConsistentRead: consistent }),
  );
  return Item ? connectionSchema.parse(Item) : undefined;
}

export type ConnectionWithSubscriptions = { connection: Connection; subscriptions: StoredSubscription[] };

/** A connection and its Graph subscriptions, in one Query of its partition (consistent: right after a write of them). */
export async function getConnectionWithSubscriptions(
  connectionId: string,
  { consistent = false }: { consistent?: boolean } = {},
): Promise<ConnectionWithSubscriptions | undefined> {
  const items = await queryPartition(keys.connectionPartition(connectionId), undefined, { consistent });
  const connectionItem = items.find((item) => item.entity === ENTITY.connection);
  if (!connectionItem) return undefined;
  return {
    connection: connectionSchema.parse(connectionItem),
    subscriptions: items.filter((item) => item.entity === ENTITY.subscription).map((item) => storedSubscriptionSchema.parse(item)),
  };
}

/**
 * Connections change rarely and every webhook needs one, so a warm container keeps each for a
 * short time: a warm ack then costs a single DynamoDB call (the inbox put). Misses are cached
 * too, so a flood of requests for an unknown id does not become a flood of reads.
 */
export function cachedConnectionLookup(
  ttlMs: number,
  load: (connectionId: string) => Promise<Connection | undefined> = getConnection,
  now: () => number = Date.now,
): (connectionId: string) => Promise<Connection | undefined> {
  return cached(ttlMs, load, { now });
}

/** The ids of every connection (a few dozen at most: a scheduled job's list, not a hot path). */
export async function listConnectionIds(): Promise<string[]> {
  const items = await queryIndex(keys.allConnections);
  return items.flatMap((item) => {
    const connectionId = typeof item.gsi1sk === 'string' ? keys.connectionIdOfListing(item.gsi1sk) : undefined;
    return connectionId ? [connectionId] : [];
  });
}
