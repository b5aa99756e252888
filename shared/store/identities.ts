/** Identities linked by IdP subject (Okta user id, Entra object id): who the user is, and what sign-in last applied to Cognito. */
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { documentClient, tableName } from './client.js';
import { keys } from './keys.js';
import { groupSyncFailureMarker, groupSyncMarkerDelete } from './repair-markers.js';

const identitySchema = z.object({
  userId: z.string(),
  email: z.optional(z.string()),
  cognitoUsername: z.optional(z.string()),
  userPoolId: z.optional(z.string()),
  appliedGroups: z.optional(z.array(z.string())),
  appliedGroupsAt: z.optional(z.string()),
  /** The groups value of the last sign-in that wrote (a digest): an equal value may be one Cognito kept. */
  groupsClaimSha256: z.optional(z.string()),
  groupsClaimAt: z.optional(z.string()),
  /** Why the last sync of the managed groups failed; a repair marker stands beside it until it succeeds. */
  groupSyncError: z.optional(z.object({ message: z.string(), at: z.string() })),
});

export type LinkedIdentity = z.infer<typeof identitySchema>;

export async function identityBySubject(connectionId: string, subject: string): Promise<LinkedIdentity | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.identityBySubject(connectionId, subject), ConsistentRead: true }),
  );
  return Item ? identitySchema.parse(Item) : undefined;
}

/**
 * Remembers which managed groups Cognito holds, so an unchanged sign-in makes no Cognito call; or
 * why syncing failed, together with the repair marker the scheduled repair picks it up by (one
 * transaction: no failure without its marker). A success deletes the marker in the same way when
 * one may exist (`markerMayExist`: the identity recorded an error, or the repair is the caller);
 * otherwise it stays the single Update a sign-in has always cost.
 */
export async function recordGroupSync(
  connectionId: string,
  subject: string,
  result: { appliedGroups: string[] } | { error: string },
  options: { markerMayExist?: boolean } = {},
): Promise<void> {
  const now = new Date();
  const key = keys.identityBySubject(connectionId, subject);
  if ('error' in result) {
    await documentClient.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tableName,
              Key: key,
              UpdateExpression: 'SET groupSyncError = :error REMOVE appliedGroups, appliedGroupsAt',
              ExpressionAttributeValues: { ':error': { message: result.error, at: now.toISOString() } },
            },
          },
          groupSyncFailureMarker(connectionId, subject, result.error, now),
        ],
      }),
    );
    return;
  }
  const applied = {
    TableName: tableName,
    Key: key,
    UpdateExpression: 'SET appliedGroups = :groups, appliedGroupsAt = :at REMOVE groupSyncError',
    ExpressionAttributeValues: { ':groups': result.appliedGroups, ':at': now.toISOString() },
  };
  if (!options.markerMayExist) {
    await documentClient.send(new UpdateCommand(applied));
    return;
  }
  await documentClient.send(new TransactWriteCommand({ TransactItems: [{ Update: applied }, groupSyncMarkerDelete(connectionId, subject)] }));
}
