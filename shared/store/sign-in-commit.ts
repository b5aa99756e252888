/** The write of a sign-in: the user, the identities it links, each membership change with its audit entry, in one transaction. */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { MembershipChange, SignInPlan } from '../domain/sign-in-plan.js';
import { documentClient, tableName } from './client.js';
import type { LinkedIdentity } from './identities.js';
import { ENTITY, keys } from './keys.js';
import { membershipAuditPut } from './audit.js';

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

const AUDIT_ACTION = { create: 'created', changeRole: 'role_changed', restore: 'restored', revoke: 'soft_deleted' } as const;

function auditWrite(change: MembershipChange, connectionId: string): TransactItem {
  return membershipAuditPut(change, AUDIT_ACTION[change.kind], { signIn: change.kind, connectionId });
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
  /** When that value is known to have come from the IdP (the epoch when that is unknown). */
  groupsClaimAt: string;
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
          Item: { ...keys.identityBySubject(connectionId, subject), ...keys.linkedToConnection(connectionId, userId), entity: ENTITY.identity, userId, connectionId, subject, email, cognitoUsername: input.cognitoUsername, userPoolId: input.userPoolId, appliedGroups: identity?.appliedGroups, appliedGroupsAt: identity?.appliedGroupsAt, groupsClaimSha256: input.groupsClaimSha256, groupsClaimAt: input.groupsClaimAt },
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
