import { GetCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { documentClient, tableName } from './client.js';
import { keys } from './keys.js';
import { cached } from './cache.js';

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
export function cachedConnectionLookup(
  ttlMs: number,
  load: (connectionId: string) => Promise<Connection | undefined> = getConnection,
  now: () => number = Date.now,
): (connectionId: string) => Promise<Connection | undefined> {
  return cached(ttlMs, load, { now });
}
