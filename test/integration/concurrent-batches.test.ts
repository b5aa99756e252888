/**
 * Several stream batches at once in one process, as `npm start`'s stream runner and a warm Lambda
 * instance under load may run them: each invocation reports its own records, and an event
 * recorded `failed` is always reported back to the stream (retried, then dead-lettered).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { oktaDelivery, oktaLogEvent, withGroup, withUser, type OktaLogEvent } from '../helpers/fixtures.js';
import {
  addSeedUser,
  addUser,
  createSeededTable,
  insertRecordsOf,
  itemsOf,
  processUntilSettled,
  SECRET_A1,
  storedInboxItem,
} from '../helpers/stack.js';
import { postToOktaHook } from '../helpers/okta.js';
import { about, graphNotification, postToGraphHook } from '../helpers/graph.js';
import { clearFaults, failWhenMentioning, holdWhenMentioning } from '../helpers/faults.js';
import { getInboxEvent } from '../../shared/store/inbox.js';
import { lambdaContext, type LocalStream } from '../../scripts/lib/local-stream.js';
import { handler as processEvents } from '../../functions/process-okta-events.js';
import { handler as processGraphEvents } from '../../functions/process-graph-events.js';

const TRANSACT_COMMANDS = ['TransactWriteCommand', 'TransactWriteItemsCommand'];
const UPDATE_COMMANDS = ['UpdateCommand', 'UpdateItemCommand'];

type StreamHandler = (event: DynamoDBStreamEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
});

afterEach(clearFaults);

const sequenceNumbersOf = (batch: DynamoDBStreamEvent, eventIds: string[]) =>
  batch.Records.filter((record) => eventIds.includes(record.dynamodb?.NewImage?.eventId?.S ?? '')).map((record) => record.dynamodb?.SequenceNumber);

/**
 * Runs batch `first` and, while it is recording the failed attempt of `heldEventId`, runs batch
 * `second` from start to end in the same process: the interleaving a shared processor got wrong.
 */
async function secondBatchDuringFirstsFailure(handler: StreamHandler, first: DynamoDBStreamEvent, second: DynamoDBStreamEvent, heldEventId: string) {
  let releaseFirst!: () => void;
  const secondDone = new Promise<void>((resolve) => (releaseFirst = resolve));
  const firstIsRecordingTheFailure = holdWhenMentioning(UPDATE_COMMANDS, heldEventId, secondDone);
  const firstResponse = handler(first, lambdaContext('first-invocation'));
  await firstIsRecordingTheFailure;
  const secondResponse = await handler(second, lambdaContext('second-invocation')).finally(releaseFirst);
  return { first: (await firstResponse) as DynamoDBBatchResponse, second: secondResponse as DynamoDBBatchResponse };
}

const removalFor = (email: string) => withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), email), 'Finance-Approvers');

describe('process-okta-events: two batches at once in one process', () => {
  async function storedBatch(events: OktaLogEvent[]): Promise<DynamoDBStreamEvent> {
    expect((await postToOktaHook('okta-a', oktaDelivery(events), { authorization: SECRET_A1 })).statusCode).toBe(200);
    return insertRecordsOf(await Promise.all(events.map((event) => storedInboxItem('okta-a', event.uuid))));
  }

  it('each batch reports its own records: every event applied or reported failed, none "not processed"', async () => {
    const failing = await Promise.all(['failing.one@example.com', 'failing.two@example.com'].map((email) => addUser(email)));
    const firstUsers = await Promise.all([1, 2, 3].map((n) => addUser(`first.batch.${n}@example.com`)));
    const secondUsers = await Promise.all([1, 2, 3].map((n) => addUser(`second.batch.${n}@example.com`)));
    const failingEvents = failing.map(removalFor);
    const firstEvents = [...failingEvents, ...firstUsers.map(removalFor)];
    const secondEvents = secondUsers.map(removalFor);
    const first = await storedBatch(firstEvents);
    const second = await storedBatch(secondEvents);
    for (const event of failingEvents) failWhenMentioning(TRANSACT_COMMANDS, event.uuid);

    const responses = await secondBatchDuringFirstsFailure(processEvents as StreamHandler, first, second, failingEvents[1]?.uuid ?? '');

    const failingIds = failingEvents.map((event) => event.uuid);
    expect(responses.first.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(sequenceNumbersOf(first, failingIds).sort());
    expect(responses.second.batchItemFailures).toEqual([]);
    for (const event of failingEvents) {
      expect(await getInboxEvent('okta-a', event.uuid)).toMatchObject({ status: 'failed', attempts: 1, detail: expect.stringContaining('injected') });
    }
    for (const event of [...firstEvents.slice(2), ...secondEvents]) {
      expect(await getInboxEvent('okta-a', event.uuid)).toMatchObject({ status: 'applied', attempts: 0 });
    }
  });
});

describe('a burst for one user through the local stream (several batches at once, as npm start runs them)', () => {
  it('every one of 500 events ends with an outcome: none left failed, none dead-lettered', async () => {
    const email = await addUser('busy.user@example.com');
    // Removals and deactivations of one user: every batch touches the same memberships, so
    // concurrent batches conflict, fail some events, and the stream must retry them.
    const events = Array.from({ length: 500 }, (_, index) =>
      index % 2 ? withUser(oktaLogEvent('okta-user-deactivate.json'), email) : removalFor(email),
    );
    for (let start = 0; start < events.length; start += 50) {
      expect((await postToOktaHook('okta-a', oktaDelivery(events.slice(start, start + 50)), { authorization: SECRET_A1 })).statusCode).toBe(200);
    }
    const deadBefore = stream.deadLetters.length;
    const eventIds = events.map((event) => event.uuid);
    await processUntilSettled(stream, 'okta-a', eventIds);

    const wanted = new Set(eventIds);
    const outcomes = (await itemsOf('InboxEvent')).filter((item) => wanted.has(item.eventId as string));
    expect(outcomes).toHaveLength(500);
    expect(outcomes.filter((item) => item.status === 'failed').map((item) => item.detail)).toEqual([]);
    expect(stream.deadLetters.length).toBe(deadBefore);
    expect(outcomes.filter((item) => item.status === 'applied').length).toBeGreaterThan(0);
  }, 60_000);
});

describe('process-graph-events: two batches at once in one process', () => {
  let counter = 0;
  async function entraUserDeletion(): Promise<string> {
    counter += 1;
    const objectId = `00000000-0000-4000-8000-${(0xc10000 + counter).toString(16).padStart(12, '0')}`;
    await addSeedUser({
      email: `concurrent-entra-${counter}@example.com`,
      identities: [{ connectionId: 'entra-a', subject: objectId }],
      memberships: [{ accountId: 'contoso', role: 'Author', changedAt: '2025-01-01T00:00:00Z' }],
    });
    return objectId;
  }

  /** Stores a user-deletion notification per object id through the real hook; returns their inbox items in that order. */
  async function storedDeletions(objectIds: string[]): Promise<Record<string, unknown>[]> {
    const body = { value: objectIds.map((objectId) => about(graphNotification('graph-user-deleted.json'), objectId)) };
    expect((await postToGraphHook('entra-a', body)).statusCode).toBe(202);
    const items = await itemsOf('InboxEvent');
    return objectIds.map((objectId) => {
      const item = items.find((candidate) => (candidate.record as { resourceId?: string } | undefined)?.resourceId === objectId);
      if (!item) throw new Error(`no inbox item about ${objectId}`);
      return item;
    });
  }

  it('a failed event is reported in its own batch even when another batch ran meanwhile', async () => {
    const failing = await storedDeletions([await entraUserDeletion(), await entraUserDeletion()]);
    const firstOthers = await storedDeletions([await entraUserDeletion(), await entraUserDeletion()]);
    const secondOthers = await storedDeletions([await entraUserDeletion(), await entraUserDeletion()]);
    const failingIds = failing.map((item) => item.eventId as string);
    for (const eventId of failingIds) failWhenMentioning(TRANSACT_COMMANDS, eventId);
    const first = insertRecordsOf([...failing, ...firstOthers]);
    const second = insertRecordsOf(secondOthers);

    const responses = await secondBatchDuringFirstsFailure(processGraphEvents as StreamHandler, first, second, failingIds[1] ?? '');

    expect(responses.first.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(sequenceNumbersOf(first, failingIds).sort());
    expect(responses.second.batchItemFailures).toEqual([]);
    for (const eventId of failingIds) expect(await storedInboxItem('entra-a', eventId)).toMatchObject({ status: 'failed', attempts: 1 });
    for (const item of [...firstOthers, ...secondOthers]) {
      expect(await storedInboxItem('entra-a', item.eventId as string)).toMatchObject({ status: 'applied', attempts: 0 });
    }
  });
});
