/** Sign-in configuration: which connection a Cognito provider belongs to, and the SSO configs of the accounts a connection serves. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { storedAccountSchema, type AccountSsoConfig } from '../domain/sso-config.js';
import { documentClient, tableName } from './client.js';
import { logger } from '../logger.js';
import { cached } from './cache.js';
import { getConnection, type Connection } from './connections.js';
import { accountGrantsOfGroup, accountIdsServedBy, getItemsByKey } from './directory.js';
import type { Role } from '../domain/memberships.js';
import { keys } from './keys.js';

export async function connectionOfProvider(providerName: string): Promise<Connection | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: keys.provider(providerName) }));
  return typeof Item?.connectionId === 'string' ? getConnection(Item.connectionId) : undefined;
}


/**
 * The SSO configs of every account this connection serves. A stored config this code cannot read
 * (written by an older version with looser checks) is left out and logged: that account admits
 * nobody until it is fixed, and the connection's other accounts keep working.
 */
export async function ssoConfigsServedBy(connectionId: string): Promise<AccountSsoConfig[]> {
  const accountIds = await accountIdsServedBy(connectionId);
  const items = await getItemsByKey(accountIds.map(keys.account), false);
  return items.flatMap((item) => {
    const parsed = storedAccountSchema.safeParse(item);
    if (parsed.success) return [parsed.data];
    logger.error('an SSO config cannot be read; its account admits nobody until it is fixed', { connectionId, accountId: item.accountId, problem: parsed.error.issues[0]?.message });
    return [];
  });
}

/** Sign-in configuration, cached for CONFIG_CACHE_SECONDS like the webhooks' (so an unchanged sign-in reads only the user). */
export function cachedSignInConfig(ttlMs: number) {
  return { connectionOfProvider: cached(ttlMs, connectionOfProvider), ssoConfigsServedBy: cached(ttlMs, ssoConfigsServedBy) };
}

/** Which accounts an event covers: SSO configuration, read on every event, so cached like connections. */
export type AccountLookups = {
  /** The SSO configs of the accounts a connection serves (a re-add gives back only where sign-in would admit). */
  ssoConfigsServedBy: (connectionId: string) => Promise<AccountSsoConfig[]>;
  accountGrantsOfGroup: (connectionId: string, group: string) => Promise<Map<string, Role>>;
  accountIdsGrantedByGroup: (connectionId: string, group: string) => Promise<string[]>;
  accountIdsServedBy: (connectionId: string) => Promise<string[]>;
};

export function cachedAccountLookups(ttlMs: number): AccountLookups {
  const grantsOfGroup = cached(ttlMs, accountGrantsOfGroup);
  return {
    ssoConfigsServedBy: cached(ttlMs, ssoConfigsServedBy),
    accountGrantsOfGroup: grantsOfGroup,
    accountIdsGrantedByGroup: async (connectionId, group) => [...(await grantsOfGroup(connectionId, group)).keys()],
    accountIdsServedBy: cached(ttlMs, accountIdsServedBy),
  };
}
