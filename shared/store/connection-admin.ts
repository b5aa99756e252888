/**
 * The admin API's writes of connections: create one, rotate and retire its hook secret,
 * deactivate it. Every write is conditional on what was read (`updatedAt`), so two admins
 * cannot overwrite each other; each is audited with the admin.
 */
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { AdminPrincipal } from '../http/admin-auth.js';
import { ConflictError } from '../http/errors.js';
import { documentClient, tableName } from './client.js';
import { ENTITY, keys } from './keys.js';
import { getItemsByKey } from './directory.js';

export type RawConnection = Record<string, unknown> & { connectionId: string; type: 'okta' | 'entra'; updatedAt?: string; hookSecretHashes?: string[] };

export async function getRawConnection(connectionId: string): Promise<RawConnection | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: keys.connection(connectionId), ConsistentRead: true }));
  return Item as RawConnection | undefined;
}

/** Many connections in few reads (BatchGetItem, 100 keys a call), in the order of `connectionIds`. */
export async function getRawConnections(connectionIds: readonly string[]): Promise<RawConnection[]> {
  const items = (await getItemsByKey(connectionIds.map((connectionId) => keys.connection(connectionId)), true)) as RawConnection[];
  const byId = new Map(items.map((item) => [item.connectionId, item]));
  return connectionIds.flatMap((connectionId) => byId.get(connectionId) ?? []);
}

function auditPut(connectionId: string, action: string, admin: AdminPrincipal, at: string, details: Record<string, unknown> = {}) {
  return {
    Put: {
      TableName: tableName,
      Item: { ...keys.auditEntry(`connection-${connectionId}`, at, `admin-${admin.sub}`, action), entity: ENTITY.audit, action: `connection.${action}`, connectionId, admin, occurredAt: at, recordedAt: at, ...details },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
}

async function transact(items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>, conflict: string): Promise<void> {
  try {
    await documentClient.send(new TransactWriteCommand({ TransactItems: items }));
  } catch (error) {
    if (error instanceof TransactionCanceledException) throw new ConflictError(conflict);
    throw error;
  }
}

/** A new connection; refused when the id is taken. */
export async function createConnection(item: RawConnection, admin: AdminPrincipal): Promise<void> {
  const at = new Date().toISOString();
  await transact(
    [
      { Put: { TableName: tableName, Item: { ...keys.connection(item.connectionId), ...keys.connectionListing(item.connectionId), entity: ENTITY.connection, ...item, createdBy: admin, updatedAt: at }, ConditionExpression: 'attribute_not_exists(pk)' } },
      auditPut(item.connectionId, 'created', admin, at, { type: item.type }),
    ],
    `connection ${item.connectionId} exists already`,
  );
}

/** Changes a connection's attributes (and removes those named in `remove`), conditional on it being as read; audited. */
export async function updateConnection(seen: RawConnection, changes: Record<string, unknown>, action: string, admin: AdminPrincipal, remove: readonly string[] = []): Promise<void> {
  const at = new Date().toISOString();
  const names = Object.keys(changes);
  const values = Object.fromEntries(names.map((name, index) => [`:v${index}`, changes[name]]));
  const removal = remove.length > 0 ? ` REMOVE ${remove.map((_, index) => `#r${index}`).join(', ')}` : '';
  await transact(
    [
      {
        Update: {
          TableName: tableName,
          Key: keys.connection(seen.connectionId),
          ConditionExpression: seen.updatedAt === undefined ? 'attribute_exists(pk) AND attribute_not_exists(updatedAt)' : 'updatedAt = :seen',
          UpdateExpression: `SET ${names.map((_, index) => `#n${index} = :v${index}`).join(', ')}, updatedAt = :at${removal}`,
          ExpressionAttributeNames: { ...Object.fromEntries(names.map((name, index) => [`#n${index}`, name])), ...Object.fromEntries(remove.map((name, index) => [`#r${index}`, name])) },
          ExpressionAttributeValues: { ...values, ':at': at, ...(seen.updatedAt === undefined ? {} : { ':seen': seen.updatedAt }) },
        },
      },
      auditPut(seen.connectionId, action, admin, at),
    ],
    'the connection changed meanwhile; read it again and retry',
  );
}

