/**
 * The one table's key design. Every entity, its keys and the query that uses them are
 * listed here and in docs/table.md; nothing else in the code builds a key by hand.
 *
 * Ids (connections, accounts, users) match ID_PATTERN, so they never contain the `#`
 * separator. Free-text parts (IdP group names, emails) come last or are URI-encoded.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export { ID_PATTERN } from '../domain/ids.js';

export const TTL_ATTRIBUTE = 'expiresAt';
/** The one index: listings by gsi1pk (an account's members, a connection's linked users, all connections, events by status). */
export const GSI1 = 'gsi1';

export type Key = { pk: string; sk: string };

/** DynamoDB refuses a partition key over 2,048 bytes (UTF-8), in a write and in a Query alike. */
export const MAX_PARTITION_KEY_BYTES = 2048;

export function fitsPartitionKey(pk: string): boolean {
  return Buffer.byteLength(pk, 'utf8') <= MAX_PARTITION_KEY_BYTES;
}

export const ENTITY = {
  connection: 'Connection',
  providerLink: 'ProviderLink',
  account: 'Account',
  accountLink: 'AccountLink',
  groupGrant: 'GroupGrant',
  user: 'User',
  identity: 'Identity',
  membership: 'Membership',
  inboxEvent: 'InboxEvent',
  audit: 'Audit',
  subscription: 'GraphSubscription',
  oktaLogCursor: 'OktaLogCursor',
  graphDeltaCursor: 'GraphDeltaCursor',
  repairMarker: 'RepairMarker',
  repairCursor: 'RepairCursor',
} as const;

export const keys = {
  /** GetItem by connection id (webhook auth). */
  connection: (connectionId: string): Key => ({ pk: `CONNECTION#${connectionId}`, sk: 'CONNECTION' }),
  /** gsi1: every connection (scheduled jobs: subscription renewal, reconciliation). */
  allConnections: 'CONNECTIONS',
  connectionListing: (connectionId: string) => ({ gsi1pk: keys.allConnections, gsi1sk: `CONNECTION#${connectionId}` }),
  connectionIdOfListing: (gsi1sk: string): string | undefined => (gsi1sk.startsWith('CONNECTION#') ? gsi1sk.slice('CONNECTION#'.length) : undefined),
  /** GetItem: Cognito provider name (any case) → connection id (sign-in provenance). */
  provider: (providerName: string): Key => ({ pk: `PROVIDER#${providerName.toLowerCase()}`, sk: 'PROVIDER' }),
  /** GetItem by account id: the account and its SSO config. */
  account: (accountId: string): Key => ({ pk: `ACCOUNT#${accountId}`, sk: 'ACCOUNT' }),
  /** Query pk: every account a connection serves (user deactivated/deleted). */
  accountsServedBy: (connectionId: string) => `CONNECTION#${connectionId}#ACCOUNTS`,
  accountLink: (connectionId: string, accountId: string): Key => ({
    pk: keys.accountsServedBy(connectionId),
    sk: `ACCOUNT#${accountId}`,
  }),
  /** Query pk: the accounts whose SSO config lists an IdP group for this connection (group removal). */
  accountsGrantedBy: (connectionId: string, group: string) =>
    `CONNECTION#${connectionId}#GROUP#${encodeURIComponent(group)}`,
  groupGrant: (connectionId: string, group: string, accountId: string): Key => ({
    pk: keys.accountsGrantedBy(connectionId, group),
    sk: `ACCOUNT#${accountId}`,
  }),
  /** GetItem by user id. */
  user: (userId: string): Key => ({ pk: `USER#${userId}`, sk: 'USER' }),
  /** GetItem: (connection, lowercased email) → user id (Okta events). */
  identityByEmail: (connectionId: string, email: string): Key => ({
    pk: `IDENTITY#${connectionId}#EMAIL#${email}`,
    sk: 'IDENTITY',
  }),
  /** GetItem: (connection, IdP subject) → user id (Okta user id, Entra object id). */
  identityBySubject: (connectionId: string, subject: string): Key => ({
    pk: `IDENTITY#${connectionId}#SUBJECT#${subject}`,
    sk: 'IDENTITY',
  }),
  /** The subject back from an identityBySubject pk (the gsi1 listing below projects keys only). */
  subjectOfIdentityKey: (connectionId: string, pk: string): string | undefined => {
    const prefix = `IDENTITY#${connectionId}#SUBJECT#`;
    return pk.startsWith(prefix) ? pk.slice(prefix.length) : undefined;
  },
  /** gsi1: every user linked to a connection by subject (Graph group checks, reconcile). */
  linkedUsersOf: (connectionId: string) => `CONNECTION#${connectionId}#LINKED`,
  linkedToConnection: (connectionId: string, userId: string) => ({
    gsi1pk: keys.linkedUsersOf(connectionId),
    gsi1sk: `USER#${userId}`,
  }),
  userIdOfListing: (gsi1sk: string): string | undefined => (gsi1sk.startsWith('USER#') ? gsi1sk.slice('USER#'.length) : undefined),
  /** Query pk + begins_with(sk, SUBSCRIPTION#): a connection and its Graph subscriptions in one read. */
  connectionPartition: (connectionId: string) => `CONNECTION#${connectionId}`,
  subscriptionPrefix: 'SUBSCRIPTION#',
  subscription: (connectionId: string, subscriptionId: string): Key => ({
    pk: `CONNECTION#${connectionId}`,
    sk: `SUBSCRIPTION#${subscriptionId}`,
  }),
  /** GetItem: where an Okta connection's System Log polling goes on (the `next` link), in the connection's partition. */
  oktaLogCursor: (connectionId: string): Key => ({ pk: `CONNECTION#${connectionId}`, sk: 'OKTA_LOG_CURSOR' }),
  /** GetItem: a connection's Graph delta link for one resource (users, groups). */
  graphDeltaCursor: (connectionId: string, resource: string): Key => ({ pk: `CONNECTION#${connectionId}`, sk: `GRAPH_DELTA#${resource}` }),
  /** Query pk + begins_with(sk, MEMBERSHIP#): all of a user's memberships. */
  membershipsOf: (userId: string) => `USER#${userId}`,
  membershipPrefix: 'MEMBERSHIP#',
  membership: (userId: string, accountId: string): Key => ({
    pk: `USER#${userId}`,
    sk: `MEMBERSHIP#${accountId}`,
  }),
  /** gsi1: an account's members (admin listing). */
  membersOfAccount: (accountId: string, userId: string) => ({
    gsi1pk: `ACCOUNT#${accountId}#MEMBERS`,
    gsi1sk: `USER#${userId}`,
  }),
  /** Conditional put on (connection, IdP event id): a redelivery is a no-op (rule 2). */
  inboxEvent: (connectionId: string, eventId: string): Key => ({
    pk: `EVENT#${connectionId}#${eventId}`,
    sk: 'EVENT',
  }),
  /** gsi1: processed events by outcome status, per connection, oldest first (e.g. the failed ones). */
  inboxByStatus: (status: string, connectionId: string, receivedAt: string, eventId: string) => ({
    gsi1pk: `EVENTS#${status}`,
    gsi1sk: `${connectionId}#${receivedAt}#${eventId}`,
  }),
  /**
   * Query pk: what the scheduled repair should redo, one partition per kind (a failed Cognito
   * group sync at sign-in, a failed revocation). Written with the failure, deleted when repaired.
   */
  repairsOf: (kind: 'GROUP_SYNC' | 'REVOCATION') => `REPAIR#${kind}`,
  groupSyncRepair: (connectionId: string, subject: string): Key => ({ pk: keys.repairsOf('GROUP_SYNC'), sk: `${connectionId}#${subject}` }),
  /** GetItem: where the last repair run of a kind stopped, so the next one goes on from there (every marker gets its turn). */
  repairCursor: (kind: 'GROUP_SYNC' | 'REVOCATION'): Key => ({ pk: 'REPAIR#CURSOR', sk: kind }),
  /** Per user too: a reconciliation revokes several users under one event, and each fails or succeeds alone. */
  revocationRepair: (connectionId: string, eventId: string, userId: string): Key => ({
    pk: keys.repairsOf('REVOCATION'),
    sk: `${connectionId}#${eventId}#${userId}`,
  }),
  /** Query pk: an account's audit trail in IdP-time order. The sk is deterministic, so an effect is audited once. */
  auditOf: (accountId: string) => `AUDIT#${accountId}`,
  auditEntry: (accountId: string, occurredAt: string, eventId: string, userId: string): Key => ({
    pk: keys.auditOf(accountId),
    sk: `${occurredAt}#${eventId}#${userId}`,
  }),
};

/** The table as the local stack and the tests create it; serverless.yml declares the same (a test checks). */
export function tableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'gsi1pk', AttributeType: 'S' },
      { AttributeName: 'gsi1sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: GSI1,
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        // Keys only: listings fetch the items they need, and an update that changes no key
        // (a membership's status, an event's attempts) then costs no index write.
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  };
}
