/**
 * Where an Okta connection's System Log polling goes on: the last `next` link Okta returned, kept
 * beside the connection item. It moves only after the page it follows has been stored, and only
 * from the link the run started with, so two overlapping runs cannot move it backwards.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys } from './keys.js';

export const oktaLogCursorSchema = z.object({
  connectionId: z.string(),
  /** The org the link belongs to: a connection moved to another org starts afresh. */
  orgUrl: z.string(),
  nextUrl: z.string(),
  /** The event type filter the polling started with: a change of OKTA_EVENT_TYPES starts it again. */
  filter: z.string(),
  updatedAt: z.string(),
});

export type OktaLogCursor = z.infer<typeof oktaLogCursorSchema>;

export async function getOktaLogCursor(connectionId: string): Promise<OktaLogCursor | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.oktaLogCursor(connectionId), ConsistentRead: true }),
  );
  return Item ? oktaLogCursorSchema.parse(Item) : undefined;
}

/** Another run moved the cursor since this one read it. */
export class CursorMovedError extends Error {
  override name = 'CursorMovedError';
}

/**
 * Moves the cursor from `previous` (undefined: there was none) to `nextUrl`; throws
 * CursorMovedError if it no longer holds `previous`.
 */
export async function advanceOktaLogCursor(input: { connectionId: string; orgUrl: string; filter: string; previous: string | undefined; nextUrl: string }): Promise<void> {
  try {
    await documentClient.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...keys.oktaLogCursor(input.connectionId),
          entity: ENTITY.oktaLogCursor,
          connectionId: input.connectionId,
          orgUrl: input.orgUrl,
          nextUrl: input.nextUrl,
          filter: input.filter,
          updatedAt: new Date().toISOString(),
        },
        ...(input.previous === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: 'nextUrl = :previous', ExpressionAttributeValues: { ':previous': input.previous } }),
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new CursorMovedError(`the System Log cursor of ${input.connectionId} was moved by another run`);
    throw error;
  }
}
