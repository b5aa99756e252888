/** Read side of users, identities, accounts and memberships: key lookups and Queries only (rule 5). */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { ROLES, type Membership } from '../domain/memberships.js';
import { documentClient, tableName } from './client.js';
import { keys } from './keys.js';
import { queryPartition } from './query.js';
import { cached } from './cache.js';

export async function findUserIdByEmail(connectionId: string, email: string): Promise<string | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.identityByEmail(connectionId, email) }),
  );
  return typeof Item?.userId === 'string' ? Item.userId : undefined;
}

const accountLinkSchema = z.object({ accountId: z.string() });

/** The accounts whose SSO config lists this IdP group for this connection. */
export async function accountIdsGrantedByGroup(connectionId: string, group: string): Promise<string[]> {
  const items = await queryPartition(keys.accountsGrantedBy(connectionId, group));
  return items.map((item) => accountLinkSchema.parse(item).accountId);
}

/** Every account this connection serves. */
export async function accountIdsServedBy(connectionId: string): Promise<string[]> {
  const items = await queryPartition(keys.accountsServedBy(connectionId));
  return items.map((item) => accountLinkSchema.parse(item).accountId);
}

/** Which accounts an event covers: SSO configuration, read on every event, so cached like connections. */
export type AccountLookups = {
  accountIdsGrantedByGroup: (connectionId: string, group: string) => Promise<string[]>;
  accountIdsServedBy: (connectionId: string) => Promise<string[]>;
};

export function cachedAccountLookups(ttlMs: number): AccountLookups {
  return {
    accountIdsGrantedByGroup: cached(ttlMs, accountIdsGrantedByGroup),
    accountIdsServedBy: cached(ttlMs, accountIdsServedBy),
  };
}

const membershipSchema = z.object({
  userId: z.string(),
  accountId: z.string(),
  role: z.enum(ROLES),
  status: z.enum(['active', 'deleted']),
  changedAt: z.string(),
  reason: z.string(),
  eventId: z.optional(z.string()),
});

export async function membershipsOfUser(userId: string): Promise<Membership[]> {
  const items = await queryPartition(keys.membershipsOf(userId), keys.membershipPrefix);
  return items.map((item) => membershipSchema.parse(item));
}
