/**
 * Records an SSO setup made through the admin API, in one transaction: the connection it belongs to
 * (created from the issuer when new), each provider → connection link (refused when the name
 * belongs to a connection already), the account and its SSO config (the providers and domains
 * added to any it had), the account → connection link and the group grants. Conditional on what
 * was read, so two setups at once cannot half-overwrite each other.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { SsoConfig } from '../domain/admission.js';
import type { ImpliedConnection } from '../domain/sso-provider-request.js';
import type { AdminPrincipal } from '../http/admin-auth.js';
import { ConflictError } from '../http/errors.js';
import { documentClient, tableName } from './client.js';
import { grantChanges, nextUpdatedAt, type AccountItem } from './account-writer.js';
import { ENTITY, keys, type Key } from './keys.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type Item = Record<string, unknown>;

export type SsoSetupRecord = {
  accountId: string;
  connectionId: string;
  /** Set when the connection may be new: what to create it from. */
  impliedConnection?: ImpliedConnection;
  providers: { providerName: string; groups: SsoConfig['providers'][number]['groups'] }[];
  allowedDomains: string[];
  clientId: string;
  clientSecretRef: string;
  admin: AdminPrincipal;
};

/** The id of a connection created from an issuer: the Okta org's name, or the Entra tenant's first 8 characters. */
export function connectionIdOf(connection: ImpliedConnection): string {
  if (connection.type === 'entra') return `entra-${connection.tenantId.toLowerCase().slice(0, 8)}`;
  const org = new URL(connection.orgUrl).hostname.split('.')[0] ?? 'org';
  return `okta-${org.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 58)}`;
}

async function read(key: Key): Promise<Item | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  return Item;
}

/** A Put of an item that replaces exactly what was read (or nothing, when nothing was). */
function putOver(item: Item, seen: Item | undefined): TransactItem {
  const condition = seen
    ? seen.updatedAt === undefined
      ? { ConditionExpression: 'attribute_not_exists(updatedAt)' }
      : { ConditionExpression: 'updatedAt = :seen', ExpressionAttributeValues: { ':seen': seen.updatedAt } }
    : { ConditionExpression: 'attribute_not_exists(pk)' };
  return { Put: { TableName: tableName, Item: item, ...condition } };
}

function newConnectionItem(record: SsoSetupRecord, implied: ImpliedConnection, now: string): Item {
  return {
    ...keys.connection(record.connectionId),
    ...keys.connectionListing(record.connectionId),
    entity: ENTITY.connection,
    connectionId: record.connectionId,
    type: implied.type,
    ...(implied.type === 'entra' ? { tenantId: implied.tenantId.toLowerCase(), deprovisionOnDisable: true } : { orgUrl: implied.orgUrl }),
    providerNames: [],
    // No hook secret yet: deliveries are refused (401) until the admin sets one.
    hookAuthHeader: 'authorization',
    hookSecretHashes: [],
    createdBy: record.admin,
  };
}

/** Returns whether the connection was created. */
export async function recordSsoSetup(record: SsoSetupRecord): Promise<{ connectionCreated: boolean }> {
  const now = new Date().toISOString();
  const [connectionSeen, accountSeen] = await Promise.all([read(keys.connection(record.connectionId)), read(keys.account(record.accountId))]);
  if (!connectionSeen && !record.impliedConnection) throw new ConflictError(`connection_id: there is no connection ${record.connectionId}`);
  const connection = connectionSeen ?? newConnectionItem(record, record.impliedConnection as ImpliedConnection, now);
  const providerNames = record.providers.map((provider) => provider.providerName);
  const actions: TransactItem[] = [
    putOver({ ...connection, providerNames: [...new Set([...((connection.providerNames as string[] | undefined) ?? []), ...providerNames])], updatedAt: now }, connectionSeen),
  ];

  // A config the admin deleted (kept inactive for the IdPs' removals) is not merged into: the setup starts a new one.
  const configSeen = accountSeen?.ssoConfig as SsoConfig | undefined;
  const ssoConfig = configSeen && accountSeen?.ssoConfigDeletedAt === undefined ? configSeen : { active: true, allowedDomains: [], providers: [] };
  const added = record.providers.map(({ providerName, groups }) => ({ connectionId: record.connectionId, providerName, groups }));
  const nextConfig: SsoConfig = {
    ...ssoConfig,
    allowedDomains: [...new Set([...ssoConfig.allowedDomains, ...record.allowedDomains])],
    providers: [...ssoConfig.providers.filter((provider) => !providerNames.includes(provider.providerName)), ...added],
  };
  actions.push(
    putOver(
      // nextUpdatedAt: a new version, so a new ETag for the admin API's If-Match (shared/store/account-writer.ts).
      { ...keys.account(record.accountId), entity: ENTITY.account, accountId: record.accountId, ...(accountSeen?.name ? { name: accountSeen.name } : {}), ssoConfig: nextConfig, cognitoClientId: record.clientId, cognitoClientSecretRef: record.clientSecretRef, updatedAt: nextUpdatedAt(accountSeen as AccountItem | undefined) },
      accountSeen,
    ),
  );
  for (const providerName of providerNames) {
    // A provider name belongs to one connection: sign-in finds the connection by it.
    actions.push({
      Put: {
        TableName: tableName,
        Item: { ...keys.provider(providerName), entity: ENTITY.providerLink, providerName, connectionId: record.connectionId },
        ConditionExpression: 'attribute_not_exists(pk) OR connectionId = :connectionId',
        ExpressionAttributeValues: { ':connectionId': record.connectionId },
      },
    });
  }
  // The admin's change, in the account's audit trail.
  actions.push({
    Put: {
      TableName: tableName,
      Item: {
        ...keys.auditEntry(record.accountId, now, `admin-${record.admin.sub}`, 'sso-config'),
        entity: ENTITY.audit,
        action: 'sso_config.providers_added',
        accountId: record.accountId,
        connectionId: record.connectionId,
        admin: record.admin,
        providerNames,
        clientId: record.clientId,
        occurredAt: now,
        recordedAt: now,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  });
  // The account link and group grants follow the config: a replaced provider's groups no longer grant.
  actions.push(...grantChanges(record.accountId, configSeen, nextConfig));
  try {
    await documentClient.send(new TransactWriteCommand({ TransactItems: actions }));
  } catch (error) {
    if (error instanceof TransactionCanceledException) {
      const reasons = error.CancellationReasons ?? [];
      const linkTaken = reasons.some((reason, index) => reason.Code === 'ConditionalCheckFailed' && index >= 2 && index < 2 + providerNames.length);
      throw new ConflictError(linkTaken ? 'a provider name of this request belongs to another connection' : 'the account or connection changed meanwhile; retry');
    }
    throw error;
  }
  return { connectionCreated: !connectionSeen };
}
