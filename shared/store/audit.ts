/** One audit entry per membership change, whoever made it (an IdP event, a sign-in, an admin). */
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Membership } from '../domain/memberships.js';
import { tableName } from './client.js';
import { ENTITY, keys } from './keys.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

export type AuditedBy =
  | { eventId: string; connectionId: string }
  | { signIn: string; connectionId: string }
  | { admin: { sub: string; username: string } };

/** The sort key's middle part: what made the change, so one change is audited once (the put is conditional). */
function changeId(by: AuditedBy): string {
  if ('eventId' in by) return by.eventId;
  if ('signIn' in by) return `sign-in-${by.signIn}`;
  return `admin-${by.admin.sub}`;
}

/** The Put of the audit entry of one membership change (`before` absent: the membership was created). */
export function membershipAuditPut(change: { before?: Membership; after: Membership }, action: string, by: AuditedBy): TransactItem {
  const { before, after } = change;
  return {
    Put: {
      TableName: tableName,
      Item: {
        ...keys.auditEntry(after.accountId, after.changedAt, changeId(by), after.userId),
        entity: ENTITY.audit,
        action: `membership.${action}`,
        accountId: after.accountId,
        userId: after.userId,
        ...('connectionId' in by ? { connectionId: by.connectionId } : {}),
        ...('eventId' in by ? { eventId: by.eventId } : {}),
        ...('admin' in by ? { admin: by.admin } : {}),
        occurredAt: after.changedAt,
        recordedAt: new Date().toISOString(),
        before: before ? { status: before.status, role: before.role, changedAt: before.changedAt } : undefined,
        after: { status: after.status, role: after.role },
        reason: after.reason,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}
