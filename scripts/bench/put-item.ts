/**
 * The floor the hook is compared with: one PutItem of an inbox-sized item through the same
 * document client, with the same condition the inbox put has. Import after the env is set.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, tableName } from '../../shared/store/client.js';
import { inboxItem } from '../../shared/store/inbox.js';
import { toOktaEventRecord } from '../../shared/domain/okta-events.js';
import { removalEvent } from './okta.js';
import { CONNECTION_ID } from './seed-data.js';
import { round2, runPool } from './stats.js';

/** The very item the hook stores (inboxItem), but another entity, so the stream filter ignores it. */
function inboxSizedItem(): Record<string, unknown> {
  const delivery = { connectionId: CONNECTION_ID, deliveryId: crypto.randomUUID(), receivedAt: new Date(), retentionDays: 90 };
  return { ...inboxItem(delivery, toOktaEventRecord(removalEvent(), delivery.receivedAt)), entity: 'BenchPut' };
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
