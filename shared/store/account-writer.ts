/**
 * The admin API's writes of an account and its SSO config. One transaction puts the account item
 * on the condition that it is still the version the caller's If-Match named (its `updatedAt`, so a
 * read-then-write race is caught by DynamoDB, not by the read), keeps the GroupGrant and
 * AccountLink items in step with the config, and appends the audit entry naming the admin.
 */
import { createHash } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { groupGrantsOf, type SsoConfig } from '../domain/sso-config.js';
import type { AdminPrincipal } from '../http/admin-auth.js';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys } from './keys.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
export type AccountItem = Record<string, unknown> & { accountId: string; updatedAt?: string; ssoConfig?: SsoConfig; ssoConfigDeletedAt?: string };

/** DynamoDB's limit on the actions of one TransactWriteItems. */
export const MAX_TRANSACT_ITEMS = 100;

/** The account item, read strongly consistent (its ETag is what the next write will be conditional on). */
export async function readAccount(accountId: string): Promise<AccountItem | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: keys.account(accountId), ConsistentRead: true }));
  return Item as AccountItem | undefined;
}

/** A strong ETag of the account item's version: every write sets a new `updatedAt`. Quoted, as RFC 9110 wants. */
export function etagOf(item: AccountItem): string {
  return `"${createHash('sha256').update(`${item.accountId}\u0000${item.updatedAt ?? ''}`).digest('base64url').slice(0, 22)}"`;
}

/** Now, but always after the version it replaces, so two writes never share an `updatedAt` (and so an ETag). */
export function nextUpdatedAt(seen: AccountItem | undefined, now = new Date()): string {
  const after = seen?.updatedAt ? Date.parse(seen.updatedAt) + 1 : 0;
  return new Date(Math.max(now.getTime(), Number.isNaN(after) ? 0 : after)).toISOString();
}

/** The write lost: the item is no longer the version that was read. */
export class AccountChangedError extends Error {
  override name = 'AccountChangedError';
}

export type AccountWrite = {
  seen: AccountItem | undefined;
  /** The whole new account item (without keys); its `updatedAt` is nextUpdatedAt(seen). */
  after: AccountItem;
  /** The live config before and after: the group grants and account links follow it. Undefined: none. */
  configBefore: SsoConfig | undefined;
  configAfter: SsoConfig | undefined;
  audit: { action: string; admin: AdminPrincipal; before?: unknown; after?: unknown };
};

function accountPut(write: AccountWrite): TransactItem {
  const { seen, after } = write;
  const condition = !seen
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : seen.updatedAt === undefined
      ? { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(updatedAt)' }
      : { ConditionExpression: 'updatedAt = :seen', ExpressionAttributeValues: { ':seen': seen.updatedAt } };
  return { Put: { TableName: tableName, Item: { ...after, ...keys.account(after.accountId), entity: ENTITY.account }, ...condition } };
}

/**
 * The GroupGrant and AccountLink changes from one config to the next: a removed group no longer
 * grants (its item is deleted), and a connection no provider of the config names any more no longer
 * serves the account. A config that is kept but inactive keeps them: IdP removals still apply.
 */
export function grantChanges(accountId: string, before: SsoConfig | undefined, after: SsoConfig | undefined): TransactItem[] {
  const actions: TransactItem[] = [];
  const grantsBefore = groupGrantsOf(before);
  const grantsAfter = groupGrantsOf(after);
  for (const [id, { connectionId, group }] of grantsBefore) {
    if (!grantsAfter.has(id)) actions.push({ Delete: { TableName: tableName, Key: keys.groupGrant(connectionId, group, accountId) } });
  }
  for (const [id, grant] of grantsAfter) {
    if (grantsBefore.get(id)?.role === grant.role) continue;
    actions.push({ Put: { TableName: tableName, Item: { ...keys.groupGrant(grant.connectionId, grant.group, accountId), entity: ENTITY.groupGrant, accountId, ...grant } } });
  }
  const connectionsBefore = new Set((before?.providers ?? []).map((provider) => provider.connectionId));
  const connectionsAfter = new Set((after?.providers ?? []).map((provider) => provider.connectionId));
  for (const connectionId of connectionsBefore) {
    if (!connectionsAfter.has(connectionId)) actions.push({ Delete: { TableName: tableName, Key: keys.accountLink(connectionId, accountId) } });
  }
  for (const connectionId of connectionsAfter) {
    if (!connectionsBefore.has(connectionId)) {
      actions.push({ Put: { TableName: tableName, Item: { ...keys.accountLink(connectionId, accountId), entity: ENTITY.accountLink, accountId, connectionId } } });
    }
  }
  return actions;
}

function auditPut(write: AccountWrite): TransactItem {
  const { after, audit } = write;
  const at = after.updatedAt as string;
  return {
    Put: {
      TableName: tableName,
      // The account's new updatedAt is unique (nextUpdatedAt), so this key is too.
      Item: {
        ...keys.auditEntry(after.accountId, at, `admin-${audit.admin.sub}`, 'account'),
        entity: ENTITY.audit,
        action: audit.action,
        accountId: after.accountId,
        admin: audit.admin,
        ...(audit.before === undefined ? {} : { before: audit.before }),
        ...(audit.after === undefined ? {} : { after: audit.after }),
        occurredAt: at,
        recordedAt: new Date().toISOString(),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

/** The actions one write takes (the caller checks them against MAX_TRANSACT_ITEMS before writing). */
export function accountWriteActions(write: AccountWrite): TransactItem[] {
  return [accountPut(write), auditPut(write), ...grantChanges(write.after.accountId, write.configBefore, write.configAfter)];
}

/** Throws AccountChangedError when the account is no longer the version `seen`. */
export async function writeAccount(write: AccountWrite): Promise<void> {
  try {
    await documentClient.send(new TransactWriteCommand({ TransactItems: accountWriteActions(write) }));
  } catch (error) {
    // The account's condition is the first action; a transaction conflict is a concurrent write too.
    if (error instanceof TransactionCanceledException) {
      const reasons = error.CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed' || reasons.some((reason) => reason.Code === 'TransactionConflict')) {
        throw new AccountChangedError('the account changed meanwhile', { cause: error });
      }
    }
    throw error;
  }
}
