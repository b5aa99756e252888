import { createHash } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { hashHookSecret } from '../domain/hook-secrets.js';
import type { Seed } from '../domain/seed.js';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys } from './keys.js';
import { subscriptionItem } from './subscriptions.js';

type Item = Record<string, unknown> & { pk: string; sk: string };

/** A stable id for a seeded user without one, so loading the same file twice changes nothing. */
export function seededUserId(email: string): string {
  return `u-${createHash('sha256').update(email).digest('hex').slice(0, 20)}`;
}

/** Every item a seed file stands for, keyed by the table design in keys.ts. Pure. */
export function seedItems(seed: Seed, loadedAt: Date): Item[] {
  const now = loadedAt.toISOString();
  const items: Item[] = [];

  for (const connection of seed.connections) {
    items.push({
      ...keys.connection(connection.id),
      ...keys.connectionListing(connection.id),
      entity: ENTITY.connection,
      connectionId: connection.id,
      type: connection.type,
      tenantId: connection.tenantId?.toLowerCase(),
      graph: connection.graph,
      orgUrl: connection.type === 'okta' ? connection.orgUrl : undefined,
      oktaApiTokenRef: connection.type === 'okta' ? connection.oktaApiTokenRef : undefined,
      deprovisionOnDisable: connection.type === 'entra' ? connection.deprovisionOnDisable : undefined,
      deprovisionOnSuspend: connection.type === 'okta' ? connection.deprovisionOnSuspend : undefined,
      name: connection.name,
      providerNames: connection.providerNames,
      hookAuthHeader: connection.hookAuthHeader.toLowerCase(),
      hookSecretHashes: [...connection.hookSecrets.map(hashHookSecret), ...connection.hookSecretSha256],
      updatedAt: now,
    });
    for (const subscription of connection.subscriptions) {
      items.push(
        subscriptionItem(connection.id, {
          subscriptionId: subscription.id,
          resource: subscription.resource.toLowerCase(),
          changeType: subscription.changeType,
          expiresAt: new Date(subscription.expiresAt).toISOString(),
          clientStateHashes: [...subscription.clientStates.map(hashHookSecret), ...subscription.clientStateSha256],
        }),
      );
    }
    for (const providerName of connection.providerNames) {
      items.push({ ...keys.provider(providerName), entity: ENTITY.providerLink, providerName, connectionId: connection.id });
    }
  }

  for (const account of seed.accounts) {
    items.push({ ...keys.account(account.id), entity: ENTITY.account, accountId: account.id, name: account.name, ssoConfig: account.ssoConfig, updatedAt: now });
    for (const provider of account.ssoConfig.providers) {
      items.push({ ...keys.accountLink(provider.connectionId, account.id), entity: ENTITY.accountLink, accountId: account.id, connectionId: provider.connectionId });
      for (const { group, role } of provider.groups) {
        items.push({ ...keys.groupGrant(provider.connectionId, group, account.id), entity: ENTITY.groupGrant, accountId: account.id, connectionId: provider.connectionId, group, role });
      }
    }
  }

  for (const user of seed.users) {
    const userId = user.id ?? seededUserId(user.email);
    items.push({ ...keys.user(userId), entity: ENTITY.user, userId, email: user.email, createdAt: now });
    for (const identity of user.identities) {
      items.push({ ...keys.identityByEmail(identity.connectionId, user.email), entity: ENTITY.identity, userId, connectionId: identity.connectionId, email: user.email });
      if (identity.subject) {
        const subject = identity.subject;
        items.push({
          ...keys.identityBySubject(identity.connectionId, subject),
          ...keys.linkedToConnection(identity.connectionId, userId),
          entity: ENTITY.identity,
          userId,
          connectionId: identity.connectionId,
          subject,
        });
      }
    }
    for (const membership of user.memberships) {
      items.push({
        ...keys.membership(userId, membership.accountId),
        ...keys.membersOfAccount(membership.accountId, userId),
        entity: ENTITY.membership,
        userId,
        accountId: membership.accountId,
        role: membership.role,
        status: membership.status,
        changedAt: membership.changedAt ? new Date(membership.changedAt).toISOString() : now,
        reason: 'seeded',
      });
    }
  }

  // One item per key: an account listing a connection twice must not write its link twice.
  return [...new Map(items.map((item) => [`${item.pk}\u0000${item.sk}`, item])).values()];
}

/** Writes a parsed seed in batches of 25, retrying what DynamoDB leaves unprocessed. */
export async function writeSeed(seed: Seed, loadedAt = new Date()): Promise<number> {
  const items = seedItems(seed, loadedAt);
  for (let start = 0; start < items.length; start += 25) {
    let requests = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
      const result = await documentClient.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      if (attempt > 8 && requests.length > 0) throw new Error(`DynamoDB left ${requests.length} seed items unprocessed`);
    }
  }
  return items.length;
}
