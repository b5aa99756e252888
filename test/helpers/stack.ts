/**
 * A test file's own table in the shared DynamoDB Local, seeded, with the real stream driving
 * the real process-okta-events handler. Reads here may Scan: they are assertions, not hot paths.
 */
import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { dynamoClient, documentClient, tableName } from '../../shared/store/client.js';
import { ensureTable } from '../../shared/store/table.js';
import { keys } from '../../shared/store/keys.js';
import { parseSeed } from '../../shared/domain/seed.js';
import { seededUserId, seedItems, writeSeed } from '../../shared/store/seed-writer.js';
import { graphConsumer, LocalStream } from '../../scripts/lib/local-stream.js';
import { getInboxEvent } from '../../shared/store/inbox.js';
import { handler as processEvents } from '../../functions/process-okta-events.js';
import { handler as processGraphEvents } from '../../functions/process-graph-events.js';
import { registerSecretsIn } from './log-scan.js';

export const SECRET_A1 = 'test-okta-a-secret-one-0000000000000000';
export const SECRET_A2 = 'test-okta-a-secret-two-0000000000000000';
export const SECRET_B = 'test-okta-b-secret-0000000000000000000000';
export const ENTRA_A_TENANT = '00000000-0000-4000-8000-0000000d0001';
export const ENTRA_A_CLIENT_ID = '00000000-0000-4000-8000-0000000d0c11';
export const GRAPH_CLIENT_STATE = 'dev-clientstate-0000000000000000';

/** Two Okta orgs; okta-a serves acme and globex, okta-b serves initech. */
export const testSeed = {
  connections: [
    { id: 'okta-a', type: 'okta', providerNames: ['OktaA'], hookSecrets: [SECRET_A1, SECRET_A2] },
    { id: 'okta-b', type: 'okta', providerNames: ['OktaB'], hookSecrets: [SECRET_B] },
    // Sign-in cases: an org whose only account has SSO switched off, one that never restores, an Entra tenant.
    { id: 'okta-c', type: 'okta', providerNames: ['OktaC'], hookSecrets: [SECRET_B] },
    { id: 'okta-d', type: 'okta', providerNames: ['OktaD'], hookSecrets: [SECRET_B] },
    {
      id: 'entra-a',
      type: 'entra',
      tenantId: ENTRA_A_TENANT,
      providerNames: ['EntraA'],
      graph: { clientId: ENTRA_A_CLIENT_ID, clientSecretRef: 'sso-sync/test/entra-a' },
      // The fixtures' subscriptions: users, and every group.
      subscriptions: [
        { id: '00000000-0000-4000-8000-0000000d5001', resource: 'users', expiresAt: '2099-01-01T00:00:00Z', clientStates: [GRAPH_CLIENT_STATE] },
        { id: '00000000-0000-4000-8000-0000000d5002', resource: 'groups', expiresAt: '2099-01-01T00:00:00Z', clientStates: [GRAPH_CLIENT_STATE] },
      ],
    },
    // Another tenant, with a subscription of the same id and a group of the same id as entra-a's.
    {
      id: 'entra-b',
      type: 'entra',
      tenantId: '00000000-0000-4000-8000-0000000e0001',
      providerNames: ['EntraB'],
      graph: { clientId: '00000000-0000-4000-8000-0000000e0c11', clientSecretRef: 'sso-sync/test/entra-b' },
      subscriptions: [
        { id: '00000000-0000-4000-8000-0000000e5001', resource: 'users', expiresAt: '2099-01-01T00:00:00Z', clientStates: ['entra-b-clientstate-000000000000'] },
      ],
    },
  ],
  accounts: [
    {
      id: 'acme',
      ssoConfig: {
        active: true,
        allowedDomains: ['example.com'],
        providers: [
          {
            connectionId: 'okta-a',
            providerName: 'OktaA',
            groups: [
              { group: 'Finance-Approvers', role: 'Admin' },
              { group: 'Payroll-Admins', role: 'Author' },
            ],
          },
        ],
      },
    },
    {
      id: 'globex',
      ssoConfig: {
        active: true,
        allowedDomains: ['example.com'],
        providers: [{ connectionId: 'okta-a', providerName: 'OktaA', groups: [{ group: 'Payroll-Admins', role: 'Viewer' }] }],
      },
    },
    {
      id: 'dormant',
      ssoConfig: {
        active: false,
        allowedDomains: ['example.com'],
        providers: [{ connectionId: 'okta-c', providerName: 'OktaC', groups: [{ group: 'Finance-Approvers', role: 'Admin' }] }],
      },
    },
    {
      id: 'strict',
      ssoConfig: {
        active: true,
        restoreOnSignIn: false,
        allowedDomains: ['example.com'],
        providers: [{ connectionId: 'okta-d', providerName: 'OktaD', groups: [{ group: 'Finance-Approvers', role: 'Reviewer' }] }],
      },
    },
    {
      id: 'contoso',
      ssoConfig: {
        active: true,
        allowedDomains: ['example.com'],
        providers: [
          {
            connectionId: 'entra-a',
            providerName: 'EntraA',
            groups: [
              { group: '00000000-0000-4000-8000-0000000d2001', role: 'Author' },
              // A second group granting the same account (a user may be in either).
              { group: '00000000-0000-4000-8000-0000000d2003', role: 'Viewer' },
            ],
          },
        ],
      },
    },
    {
      id: 'northwind',
      ssoConfig: {
        active: true,
        allowedDomains: ['example.com'],
        providers: [
          { connectionId: 'entra-a', providerName: 'EntraA', groups: [{ group: '00000000-0000-4000-8000-0000000d2002', role: 'Viewer' }] },
        ],
      },
    },
    {
      id: 'fabrikam',
      ssoConfig: {
        active: true,
        allowedDomains: ['example.com'],
        providers: [
          { connectionId: 'entra-b', providerName: 'EntraB', groups: [{ group: '00000000-0000-4000-8000-0000000d2001', role: 'Admin' }] },
        ],
      },
    },
    {
      id: 'initech',
      ssoConfig: {
        active: true,
        allowedDomains: ['example.com'],
        providers: [{ connectionId: 'okta-b', providerName: 'OktaB', groups: [{ group: 'Finance-Approvers', role: 'Admin' }] }],
      },
    },
  ],
  users: [
    {
      email: 'alex.doe@example.com',
      identities: [{ connectionId: 'okta-a' }, { connectionId: 'okta-b' }],
      memberships: [
        { accountId: 'acme', role: 'Admin', changedAt: '2025-01-01T00:00:00Z' },
        { accountId: 'globex', role: 'Viewer', changedAt: '2025-01-01T00:00:00Z' },
        { accountId: 'initech', role: 'Admin', changedAt: '2025-01-01T00:00:00Z' },
      ],
    },
    {
      email: 'riley.chen@example.com',
      identities: [{ connectionId: 'okta-a' }],
      memberships: [
        { accountId: 'acme', role: 'Author', changedAt: '2025-01-01T00:00:00Z' },
        { accountId: 'globex', role: 'Viewer', changedAt: '2025-01-01T00:00:00Z' },
      ],
    },
  ],
};

export const userIdOf = seededUserId;

export async function createSeededTable(): Promise<LocalStream> {
  registerSecretsIn(testSeed);
  const streamArn = await ensureTable(dynamoClient, tableName);
  await writeSeed(parseSeed(structuredClone(testSeed)));
  return new LocalStream({
    endpoint: process.env.DYNAMODB_ENDPOINT ?? '',
    streamArn,
    handler: processEvents as never,
    consumers: [graphConsumer(processGraphEvents as never)],
    maxAttempts: 3,
  });
}

export async function membership(email: string, accountId: string) {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.membership(userIdOf(email), accountId), ConsistentRead: true }),
  );
  return Item;
}

export async function itemsOf(entity: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'entity = :entity',
        ExpressionAttributeValues: { ':entity': entity },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

type SeedUser = { email: string; identities: { connectionId: string; subject?: string }[]; memberships: { accountId: string; role: string; changedAt?: string }[] };

/** Writes only a user's items (user, identities, memberships), so tests never share memberships. */
export async function addSeedUser(user: SeedUser): Promise<string> {
  const seed = parseSeed({ ...structuredClone(testSeed), users: [user] });
  const userEntities = new Set(['User', 'Identity', 'Membership']);
  const items = seedItems(seed, new Date()).filter((item) => userEntities.has(item.entity as string));
  await Promise.all(items.map((Item) => documentClient.send(new PutCommand({ TableName: tableName, Item }))));
  return userIdOf(user.email.toLowerCase());
}

/**
 * Adds a user of its own to a test (identities on okta-a and okta-b, a Viewer membership in
 * every account), writing only the user's items, so tests never share memberships.
 */
export async function addUser(email: string, changedAt = '2025-01-01T00:00:00Z'): Promise<string> {
  await addSeedUser({
    email,
    identities: [{ connectionId: 'okta-a' }, { connectionId: 'okta-b' }],
    memberships: ['acme', 'globex', 'initech'].map((accountId) => ({ accountId, role: 'Viewer', changedAt })),
  });
  return email.toLowerCase();
}

/**
 * Runs the stream until these events have left `pending`. DynamoDB Local may show a record on
 * the stream a moment after the write, so one empty poll is not proof that nothing is coming.
 */
export async function processUntilSettled(stream: LocalStream, connectionId: string, eventIds: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await stream.drain();
    const events = await Promise.all(eventIds.map((eventId) => getInboxEvent(connectionId, eventId)));
    const missing = eventIds.filter((_, index) => events[index] === undefined);
    if (missing.length > 0) throw new Error(`never stored: ${missing.join(', ')}`);
    if (events.every((event) => event?.status !== 'pending')) return;
    if (Date.now() > deadline) throw new Error('events still pending after 10 s of stream processing');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let sequence = 0;

/**
 * A stream batch of INSERT records of these stored items, in this order, as Lambda hands it to
 * a stream handler: for calling a handler directly (several at once, say) instead of through the stream.
 */
export function insertRecordsOf(items: Record<string, unknown>[]): DynamoDBStreamEvent {
  return {
    Records: items.map((item) => {
      sequence += 1;
      const image = marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
      return {
        eventID: `test-${sequence}`,
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        eventSourceARN: 'arn:aws:dynamodb:local:000000000000:table/test/stream/local',
        dynamodb: {
          Keys: { pk: image.pk, sk: image.sk },
          NewImage: image,
          SequenceNumber: String(sequence).padStart(21, '0'),
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      };
    }) as DynamoDBStreamEvent['Records'],
  };
}

/** The stored inbox item of an event, as the stream's NewImage would carry it. */
export async function storedInboxItem(connectionId: string, eventId: string): Promise<Record<string, unknown>> {
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: keys.inboxEvent(connectionId, eventId), ConsistentRead: true }),
  );
  if (!Item) throw new Error(`inbox event ${eventId} of ${connectionId} is not stored`);
  return Item;
}
