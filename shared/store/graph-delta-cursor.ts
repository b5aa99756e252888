/**
 * Where an Entra connection's Graph delta polling goes on: the last `@odata.deltaLink` of each
 * resource (users, groups), kept beside the connection item. It moves only after the changes of
 * the round it ends have been stored, and only from the link the run started with, so two
 * overlapping runs cannot move it backwards (the Okta System Log cursor's rule).
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys } from './keys.js';
import { CursorMovedError } from './okta-log-cursor.js';

export { CursorMovedError };

export type GraphDeltaResource = 'users' | 'groups';

export const graphDeltaCursorSchema = z.object({
  connectionId: z.string(),
  resource: z.enum(['users', 'groups']),
  /** The tenant the link belongs to: a connection moved to another tenant starts afresh. */
  tenantId: z.string(),
  deltaLink: z.string(),
  /** For groups: the groups the link's round asked for (sorted, lowercased); another set starts afresh. */
  groupIds: z.optional(z.array(z.string())),
  updatedAt: z.string(),
});

export type GraphDeltaCursor = z.infer<typeof graphDeltaCursorSchema>;

export async function getGraphDeltaCursor(connectionId: string, resource: GraphDeltaResource): Promise<GraphDeltaCursor | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.graphDeltaCursor(connectionId, resource), ConsistentRead: true }),
  );
  return Item ? graphDeltaCursorSchema.parse(Item) : undefined;
}

/**
 * Moves the cursor from `previous` (undefined: there was none) to `deltaLink`; throws
 * CursorMovedError if it no longer holds `previous`.
 */
export async function advanceGraphDeltaCursor(input: {
  connectionId: string;
  resource: GraphDeltaResource;
  tenantId: string;
  groupIds?: readonly string[];
  previous: string | undefined;
  deltaLink: string;
}): Promise<void> {
  try {
    await documentClient.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...keys.graphDeltaCursor(input.connectionId, input.resource),
          entity: ENTITY.graphDeltaCursor,
          connectionId: input.connectionId,
          resource: input.resource,
          tenantId: input.tenantId,
          deltaLink: input.deltaLink,
          ...(input.groupIds ? { groupIds: [...input.groupIds] } : {}),
          updatedAt: new Date().toISOString(),
        },
        ...(input.previous === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: 'deltaLink = :previous', ExpressionAttributeValues: { ':previous': input.previous } }),
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      throw new CursorMovedError(`the Graph ${input.resource} delta link of ${input.connectionId} was moved by another run`);
    }
    throw error;
  }
}
