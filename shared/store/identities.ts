/** Identities linked by IdP subject (Okta user id, Entra object id): who the user is, and what sign-in last applied to Cognito. */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { documentClient, tableName } from './client.js';
import { keys } from './keys.js';

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
});

export type LinkedIdentity = z.infer<typeof identitySchema>;

export async function identityBySubject(connectionId: string, subject: string): Promise<LinkedIdentity | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.identityBySubject(connectionId, subject), ConsistentRead: true }),
  );
  return Item ? identitySchema.parse(Item) : undefined;
}

/** Remembers which managed groups Cognito holds, so an unchanged sign-in makes no Cognito call; or why syncing failed. */
export async function recordGroupSync(
  connectionId: string,
  subject: string,
  result: { appliedGroups: string[] } | { error: string },
): Promise<void> {
  const applied = 'appliedGroups' in result;
  await documentClient.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.identityBySubject(connectionId, subject),
      UpdateExpression: applied ? 'SET appliedGroups = :groups, appliedGroupsAt = :at REMOVE groupSyncError' : 'SET groupSyncError = :error REMOVE appliedGroups, appliedGroupsAt',
      ExpressionAttributeValues: applied ? { ':groups': result.appliedGroups, ':at': new Date().toISOString() } : { ':error': { message: result.error, at: new Date().toISOString() } },
    }),
  );
}
