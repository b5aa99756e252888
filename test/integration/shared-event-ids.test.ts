/**
 * Two connections' events with the same event id in one stream batch (Okta's uuids are the
 * sender's to choose: an org's admin can send any): each record is reported with its own result.
 * Results were keyed by event id alone, so one connection's result stood for both records: the
 * record whose commit failed was reported done and never retried (left pending). Found by fuzzing
 * the processor (fuzz-stream-processors.test.ts makes such batches); pinned here with a storage
 * fault on one of them.
 */
import { afterEach, beforeAll, expect, it } from 'vitest';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { handler as processEvents } from '../../functions/process-okta-events.js';
import { lambdaContext } from '../../scripts/lib/local-stream.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { inboxItem, getInboxEvent } from '../../shared/store/inbox.js';
import { toOktaEventRecord } from '../../shared/domain/okta-events.js';
import { addUser, createSeededTable, insertRecordsOf } from '../helpers/stack.js';
import { oktaLogEvent, withGroup, withUser } from '../helpers/fixtures.js';
import { clearFaults, failWhenMentioning } from '../helpers/faults.js';

beforeAll(async () => {
  await createSeededTable();
});
afterEach(clearFaults);

async function storedRemoval(connectionId: string, eventId: string, email: string) {
  const event = { ...withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), email), 'Finance-Approvers'), uuid: eventId };
  const item = inboxItem({ connectionId, deliveryId: crypto.randomUUID(), receivedAt: new Date(), retentionDays: 1 }, toOktaEventRecord(event as never, new Date()));
  await documentClient.send(new PutCommand({ TableName: tableName, Item: item }));
  return item;
}

it.each([
  { failing: 'okta-b', first: 'okta-a' },
  { failing: 'okta-b', first: 'okta-b' },
  { failing: 'okta-a', first: 'okta-a' },
  { failing: 'okta-a', first: 'okta-b' },
])('the same event id on okta-a and okta-b, $failing failing to commit ($first first): only $failing is reported failed, the other keeps its own outcome', async ({ failing, first }) => {
  const eventId = crypto.randomUUID();
  const email = await addUser(`shared-id-${crypto.randomUUID().slice(0, 8)}@example.com`);
  const items = { 'okta-a': await storedRemoval('okta-a', eventId, email), 'okta-b': await storedRemoval('okta-b', eventId, email) };
  const order = first === 'okta-a' ? [items['okta-a'], items['okta-b']] : [items['okta-b'], items['okta-a']];
  const batch = insertRecordsOf(order);
  // Every write naming the failing connection's item fails: its outcome cannot be committed or recorded.
  failWhenMentioning(['TransactWriteCommand', 'TransactWriteItemsCommand', 'UpdateCommand', 'UpdateItemCommand'], `EVENT#${failing}#${eventId}`);
  const response = (await processEvents(batch, lambdaContext('shared-event-ids'))) as DynamoDBBatchResponse;
  const sequenceOf = (connectionId: string) => batch.Records[order.indexOf(items[connectionId as 'okta-a'])]?.dynamodb?.SequenceNumber;
  const other = failing === 'okta-a' ? 'okta-b' : 'okta-a';
  expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual([sequenceOf(failing)]);
  clearFaults();
  expect((await getInboxEvent(other, eventId))?.status).not.toMatch(/^(pending|failed)$/);
  expect((await getInboxEvent(failing, eventId))?.status).toBe('pending');
});
