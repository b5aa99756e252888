/**
 * The floors the hooks are compared with, through the same document client and with the same
 * condition the inbox puts have: one PutItem of an inbox-sized item (single deliveries), and
 * one TransactWriteItems of a batch's conditional puts (batch deliveries). Import after the env is set.
 */
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, tableName } from '../../shared/store/client.js';
import { inboxItem } from '../../shared/store/inbox.js';
import { graphInboxItem } from '../../shared/store/graph-inbox.js';
import { toOktaEventRecord } from '../../shared/domain/okta-events.js';
import { graphEventType, graphRecordId, type GraphChangeRecord } from '../../shared/domain/graph-notifications.js';
import { removalEvent } from './okta.js';
import { CONNECTION_ID, GRAPH_CONNECTION_ID, GRAPH_SUBSCRIPTION_ID } from './seed-data.js';
import { round2, runPool } from './stats.js';

// Another entity than the inbox's, so the stream filters ignore these items.
const FLOOR_ENTITY = 'BenchPut';

/** The very item okta-hook stores (inboxItem). */
function inboxSizedItem(): Record<string, unknown> {
  const delivery = { connectionId: CONNECTION_ID, deliveryId: crypto.randomUUID(), receivedAt: new Date(), retentionDays: 90 };
  return { ...inboxItem(delivery, toOktaEventRecord(removalEvent(), delivery.receivedAt)), entity: FLOOR_ENTITY };
}

/** The very item graph-hook stores for a user deletion (graphInboxItem under its hash). */
function graphInboxSizedItem(): Record<string, unknown> {
  const receivedAt = new Date();
  const record: GraphChangeRecord = {
    kind: 'change',
    subscriptionId: GRAPH_SUBSCRIPTION_ID,
    changeType: 'deleted',
    resourceType: 'users',
    resourceId: crypto.randomUUID(),
    eventTime: receivedAt.toISOString(),
  };
  const item = graphInboxItem(GRAPH_CONNECTION_ID, graphRecordId(record, receivedAt), graphEventType(record), record, receivedAt, 90);
  return { ...item, entity: FLOOR_ENTITY };
}

/** The inbox put's shape and condition, without the handler around it. */
const inboxPut = () => new PutCommand({ TableName: tableName, Item: inboxSizedItem(), ConditionExpression: 'attribute_not_exists(pk)' });

export async function timedPut(): Promise<number> {
  const command = inboxPut();
  const started = performance.now();
  await documentClient.send(command);
  return performance.now() - started;
}

/** Bare puts per second with `concurrency` in flight, the same concurrency as the end-to-end run. */
export async function measurePutThroughput(options: { throughputPuts: number; concurrency: number }) {
  const commands = Array.from({ length: options.throughputPuts }, inboxPut);
  const wallMs = await runPool(commands, options.concurrency, async (command) => void (await documentClient.send(command)));
  return {
    perSecond: round2((options.throughputPuts / wallMs) * 1000),
    throughputPuts: options.throughputPuts,
    concurrency: options.concurrency,
    itemBytes: Buffer.byteLength(JSON.stringify(inboxSizedItem())),
  };
}

/**
 * The batch floor: one TransactWriteItems of `count` conditional puts of the items the hook
 * stores, as storeNewInboxItems writes a delivery, without the handler around it. No
 * deduplicating batch store can answer faster than this one round trip.
 */
async function timedTransaction(items: Record<string, unknown>[]): Promise<number> {
  const command = new TransactWriteCommand({
    TransactItems: items.map((Item) => ({ Put: { TableName: tableName, Item, ConditionExpression: 'attribute_not_exists(pk)' } })),
  });
  const started = performance.now();
  await documentClient.send(command);
  return performance.now() - started;
}

export const timedOktaBatchStore = (count: number) => timedTransaction(Array.from({ length: count }, inboxSizedItem));

export const timedGraphBatchStore = (count: number) => timedTransaction(Array.from({ length: count }, graphInboxSizedItem));
