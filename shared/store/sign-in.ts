/** Reads and writes of sign-in mapping: provider → connection, SSO configs, linked identities, the sign-in transaction. */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, UpdateCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { AccountSsoConfig } from '../domain/admission.js';
import type { MembershipChange, SignInPlan } from '../domain/sign-in.js';
import { documentClient, tableName } from './client.js';
import { cached } from './cache.js';
import { getConnection, type Connection } from './connections.js';
import { accountIdsServedBy, getItemsByKey } from './directory.js';
import { ENTITY, keys } from './keys.js';

export async function connectionOfProvider(providerName: string): Promise<Connection | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: keys.provider(providerName) }));
  return typeof Item?.connectionId === 'string' ? getConnection(Item.connectionId) : undefined;
}

const accountSchema = z.object({
  accountId: z.string(),
  ssoConfig: z.object({
    active: z.boolean(),
    restoreOnSignIn: z.optional(z.boolean()),
    allowedDomains: z.array(z.string()),
    providers: z.array(
      z.object({
        connectionId: z.string(),
        providerName: z.string(),
        groups: z.array(z.object({ group: z.string(), role: z.enum(['Admin', 'Author', 'Reviewer', 'Viewer']) })),
      }),
    ),
  }),
});

/** The SSO configs of every account this connection serves. */
export async function ssoConfigsServedBy(connectionId: string): Promise<AccountSsoConfig[]> {
  const accountIds = await accountIdsServedBy(connectionId);
  const items = await getItemsByKey(accountIds.map(keys.account), false);
  return items.map((item) => accountSchema.parse(item));
}

/** Sign-in configuration, cached for CONFIG_CACHE_SECONDS like the webhooks' (so an unchanged sign-in reads only the user). */
export function cachedSignInConfig(ttlMs: number) {
  return { connectionOfProvider: cached(ttlMs, connectionOfProvider), ssoConfigsServedBy: cached(ttlMs, ssoConfigsServedBy) };
}

const identitySchema = z.object({
  userId: z.string(),
  email: z.optional(z.string()),
  cognitoUsername: z.optional(z.string()),
  userPoolId: z.optional(z.string()),
  appliedGroups: z.optional(z.array(z.string())),
  appliedGroupsAt: z.optional(z.string()),
  /** The groups value of the last sign-in that wrote (a digest): an equal value may be one Cognito kept. */
  groupsClaimSha256: z.optional(z.string()),
});

export type LinkedIdentity = z.infer<typeof identitySchema>;

export async function identityBySubject(connectionId: string, subject: string): Promise<LinkedIdentity | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.identityBySubject(connectionId, subject), ConsistentRead: true }),
  );
  return Item ? identitySchema.parse(Item) : undefined;
}

export class ConcurrentSignInError extends Error {
  override name = 'ConcurrentSignInError';
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

function membershipWrite(change: MembershipChange): TransactItem {
  const { after } = change;
  const item = {
    ...keys.membership(after.userId, after.accountId),
    ...keys.membersOfAccount(after.accountId, after.userId),
    entity: ENTITY.membership,
    userId: after.userId,
    accountId: after.accountId,
    role: after.role,
    status: after.status,
    changedAt: after.changedAt,
    reason: after.reason,
    changedBy: 'sign-in',
  };
  if (change.kind === 'create') {
    return { Put: { TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } };
  }
  // Overwrite only the state the plan was made from: a concurrent event or sign-in cancels it.
  return {
    Put: {
      TableName: tableName,
      Item: item,
      ConditionExpression: '#status = :status AND changedAt = :changedAt AND #role = :role',
      ExpressionAttributeNames: { '#status': 'status', '#role': 'role' },
      ExpressionAttributeValues: { ':status': change.before.status, ':changedAt': change.before.changedAt, ':role': change.before.role },
    },
  };
}

function auditWrite(change: MembershipChange, connectionId: string): TransactItem {
  const { after } = change;
  return {
    Put: {
      TableName: tableName,
      Item: {
        ...keys.auditEntry(after.accountId, after.changedAt, `sign-in-${change.kind}`, after.userId),
        entity: ENTITY.audit,
        action: `membership.${change.kind === 'create' ? 'created' : change.kind === 'changeRole' ? 'role_changed' : change.kind === 'restore' ? 'restored' : 'soft_deleted'}`,
        accountId: after.accountId,
        userId: after.userId,
        connectionId,
        occurredAt: after.changedAt,
        recordedAt: new Date().toISOString(),
        before: change.kind === 'create' ? undefined : { status: change.before.status, role: change.before.role, changedAt: change.before.changedAt },
        after: { status: after.status, role: after.role },
        reason: after.reason,
      },
    },
  };
}

/**
 * Writes a sign-in in one transaction: the user and the identities it links (first sign-in,
 * or a new email), and each membership change with its audit entry. Nothing is written when
 * nothing changed.
 */
export async function applySignIn(input: {
  connectionId: string;
  subject: string;
  email: string;
  userId: string;
  cognitoUsername: string;
  userPoolId: string;
  identity: LinkedIdentity | undefined;
  plan: SignInPlan;
  signedInAt: string;
  groupsClaimSha256: string;
}): Promise<number> {
  const { connectionId, subject, email, userId, identity } = input;
  const actions: TransactItem[] = [];
  if (!identity) {
    actions.push({
      Put: {
        TableName: tableName,
        Item: { ...keys.user(userId), entity: ENTITY.user, userId, email, createdAt: input.signedInAt },
        ConditionExpression: 'attribute_not_exists(pk) OR userId = :userId',
        ExpressionAttributeValues: { ':userId': userId },
      },
    });
  }
  const identityChanged = !identity || identity.email !== email || identity.cognitoUsername !== input.cognitoUsername || identity.groupsClaimSha256 !== input.groupsClaimSha256;
  if (identityChanged) {
    actions.push(
      {
        Put: {
          TableName: tableName,
          Item: { ...keys.identityBySubject(connectionId, subject), ...keys.linkedToConnection(connectionId, userId), entity: ENTITY.identity, userId, connectionId, subject, email, cognitoUsername: input.cognitoUsername, userPoolId: input.userPoolId, appliedGroups: identity?.appliedGroups, appliedGroupsAt: identity?.appliedGroupsAt, groupsClaimSha256: input.groupsClaimSha256, groupsClaimAt: input.signedInAt },
          ConditionExpression: 'attribute_not_exists(pk) OR userId = :userId',
          ExpressionAttributeValues: { ':userId': userId },
        },
      },
      {
        Put: {
          TableName: tableName,
          // The Cognito user rides on the email identity too: deprovisioning (which finds users by email) revokes it.
          Item: { ...keys.identityByEmail(connectionId, email), entity: ENTITY.identity, userId, connectionId, email, cognitoUsername: input.cognitoUsername, userPoolId: input.userPoolId },
          ConditionExpression: 'attribute_not_exists(pk) OR userId = :userId',
          ExpressionAttributeValues: { ':userId': userId },
        },
      },
    );
  }
  for (const change of input.plan.changes) actions.push(membershipWrite(change), auditWrite(change, connectionId));
  if (actions.length === 0) return 0;
  try {
    await documentClient.send(new TransactWriteCommand({ TransactItems: actions }));
  } catch (error) {
    if (error instanceof TransactionCanceledException) throw new ConcurrentSignInError('the user changed during sign-in', { cause: error });
    throw error;
  }
  return actions.length;
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
