import { GetCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { documentClient, tableName } from './client.js';
import { keys } from './keys.js';

const connectionSchema = z.object({
  connectionId: z.string(),
  type: z.enum(['okta', 'entra']),
  name: z.optional(z.string()),
  providerNames: z.array(z.string()),
  /** Lowercased header name Okta sends the secret in (its "Authentication field"). */
  hookAuthHeader: z._default(z.string(), 'authorization'),
  /** SHA-256 hex of the active webhook secrets: one, or two while rotating. */
  hookSecretHashes: z.array(z.string()).check(z.maxLength(2)),
});

export type Connection = z.infer<typeof connectionSchema>;

export async function getConnection(connectionId: string): Promise<Connection | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.connection(connectionId) }),
  );
  return Item ? connectionSchema.parse(Item) : undefined;
}

/**
 * Connections change rarely and every webhook needs one, so a warm container keeps each for a
 * short time: a warm ack then costs a single DynamoDB call (the inbox put). Misses are cached
 * too, so a flood of requests for an unknown id does not become a flood of reads.
 */
const MAX_CACHED_CONNECTIONS = 1000;

export function cachedConnectionLookup(
  ttlMs: number,
  load: (connectionId: string) => Promise<Connection | undefined> = getConnection,
  now: () => number = Date.now,
): (connectionId: string) => Promise<Connection | undefined> {
  const cache = new Map<string, { expires: number; connection: Promise<Connection | undefined> }>();
  return (connectionId) => {
    const cached = cache.get(connectionId);
    if (cached && cached.expires > now()) return cached.connection;
    const connection = load(connectionId);
    if (cache.size >= MAX_CACHED_CONNECTIONS) cache.delete(cache.keys().next().value as string);
    cache.set(connectionId, { expires: now() + ttlMs, connection });
    // A failed read must not be remembered (nor evict a newer entry that replaced it).
    connection.catch(() => {
      if (cache.get(connectionId)?.connection === connection) cache.delete(connectionId);
    });
    return connection;
  };
}
