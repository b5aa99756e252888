/** Read side of users, identities, accounts and memberships: key lookups and Queries only (rule 5). */
import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { membershipSchema, ROLES, type Membership, type Role } from '../domain/memberships.js';
import { documentClient, tableName } from './client.js';
import { keys, type Key } from './keys.js';
import { queryIndex, queryPartition } from './query.js';

export async function findUserIdByEmail(connectionId: string, email: string): Promise<string | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.identityByEmail(connectionId, email) }),
  );
  return typeof Item?.userId === 'string' ? Item.userId : undefined;
}

const accountLinkSchema = z.object({ accountId: z.string() });
const groupGrantSchema = z.object({ accountId: z.string(), role: z.enum(ROLES) });

/** The accounts whose SSO config lists this IdP group for this connection, with the role it maps to. */
export async function accountGrantsOfGroup(connectionId: string, group: string): Promise<Map<string, Role>> {
  const items = await queryPartition(keys.accountsGrantedBy(connectionId, group));
  return new Map(items.map((item) => groupGrantSchema.parse(item)).map(({ accountId, role }) => [accountId, role]));
}

/** The accounts whose SSO config lists this IdP group for this connection. */
export async function accountIdsGrantedByGroup(connectionId: string, group: string): Promise<string[]> {
  return [...(await accountGrantsOfGroup(connectionId, group)).keys()];
}

/** Every account this connection serves. */
export async function accountIdsServedBy(connectionId: string): Promise<string[]> {
  const items = await queryPartition(keys.accountsServedBy(connectionId));
  return items.map((item) => accountLinkSchema.parse(item).accountId);
}


/** A user's memberships, read strongly consistent: the plan's conditions are built on them. */
export async function membershipsOfUser(userId: string): Promise<Membership[]> {
  const items = await queryPartition(keys.membershipsOf(userId), keys.membershipPrefix, { consistent: true });
  return items.map((item) => membershipSchema.parse(item));
}

const BATCH_GET_LIMIT = 100;

/** BatchGetItem over any number of keys, retrying what DynamoDB leaves unprocessed. */
export async function getItemsByKey(keyList: Key[], consistent: boolean): Promise<Record<string, unknown>[]> {
  // BatchGetItem refuses a request that names a key twice.
  const wanted = [...new Map(keyList.map((key) => [`${key.pk}\u0000${key.sk}`, key])).values()];
  const found: Record<string, unknown>[] = [];
  for (let start = 0; start < wanted.length; start += BATCH_GET_LIMIT) {
    let pending: Record<string, unknown>[] = wanted.slice(start, start + BATCH_GET_LIMIT);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`DynamoDB left ${pending.length} keys unprocessed`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
      const page = await documentClient.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: consistent } } }),
      );
      found.push(...(page.Responses?.[tableName] ?? []));
      pending = page.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return found;
}

const cognitoIdentitySchema = z.object({
  connectionId: z.string(),
  email: z.string(),
  userId: z.string(),
  cognitoUsername: z.optional(z.string()),
  userPoolId: z.optional(z.string()),
});

export type EmailIdentity = z.infer<typeof cognitoIdentitySchema>;

/** The email identities of these (connection, email) pairs, with the Cognito user linked at sign-in if any. */
export async function emailIdentities(wanted: { connectionId: string; email: string }[]): Promise<EmailIdentity[]> {
  const items = await getItemsByKey(wanted.map(({ connectionId, email }) => keys.identityByEmail(connectionId, email)), false);
  return items.map((item) => cognitoIdentitySchema.parse(item));
}

export function identityLookupKey(connectionId: string, email: string): string {
  return `${connectionId}\u0000${email}`;
}

/** The memberships of these (user, account) pairs that exist, read strongly consistent. */
export async function membershipsByKey(wanted: { userId: string; accountId: string }[]): Promise<Membership[]> {
  const items = await getItemsByKey(wanted.map(({ userId, accountId }) => keys.membership(userId, accountId)), true);
  return items.map((item) => membershipSchema.parse(item));
}

/** Every user linked to this connection by subject (Entra: object id), from the gsi1 listing. */
export async function linkedUsers(connectionId: string): Promise<{ userId: string; subject: string }[]> {
  const items = await queryIndex(keys.linkedUsersOf(connectionId));
  return items.flatMap((item) => {
    const subject = typeof item.pk === 'string' ? keys.subjectOfIdentityKey(connectionId, item.pk) : undefined;
    const userId = typeof item.gsi1sk === 'string' ? keys.userIdOfListing(item.gsi1sk) : undefined;
    return subject && userId ? [{ userId, subject }] : [];
  });
}
