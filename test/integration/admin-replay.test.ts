/**
 * POST /admin/events/replay against DynamoDB Local, its stream and moto_server's SQS: a
 * connection's failed events go back through their processor once; the invocation records the
 * local stream sends to the dead-letter queue (as Lambda's on-failure destination) are consumed,
 * their events (failed, or still pending after an outage) replayed, and the messages deleted
 * only once those events are pending again.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

// Configuration is read at the first import of shared code: the queue must exist before it.
const queueUrl = await vi.hoisted(async () => {
  const { CreateQueueCommand, SQSClient } = await import('@aws-sdk/client-sqs');
  const sqs = new SQSClient({ endpoint: process.env.SQS_ENDPOINT, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `process-events-dlq-${crypto.randomUUID()}` }));
  process.env.DEAD_LETTER_QUEUE_URL = QueueUrl;
  return QueueUrl ?? '';
});

const { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } = await import('@aws-sdk/client-sqs');
const { replayEvents } = await import('../../shared/app/admin-events.js');
const { replayEventsRoute } = await import('../../shared/app/admin-ops-routes.js');
const { sqsClient } = await import('../../shared/store/dead-letter-queue.js');
const { addSeedUser, createSeededTable, itemsOf, processUntilSettled, SECRET_A1, SECRET_B, storedInboxItem } = await import('../helpers/stack.js');
const { oktaDelivery, oktaLogEvent, withUser } = await import('../helpers/fixtures.js');
const { postToOktaHook } = await import('../helpers/okta.js');
const { clearFaults, failTimesWhenMentioning, failWhenMentioning } = await import('../helpers/faults.js');

let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
});

const SECRETS: Record<string, string> = { 'okta-a': SECRET_A1, 'okta-b': SECRET_B };
/** An account each org serves in the test seed. */
const ACCOUNTS: Record<string, string> = { 'okta-a': 'acme', 'okta-b': 'initech' };

/** Deactivations of new members of an account the org serves (not delivered yet). */
async function deactivationsOfNewMembers(connectionId: string, count: number) {
  const events = [];
  for (let index = 0; index < count; index++) {
    const email = `failing.${crypto.randomUUID().slice(0, 8)}@example.com`;
    await addSeedUser({ email, identities: [{ connectionId }], memberships: [{ accountId: ACCOUNTS[connectionId] ?? '', role: 'Viewer', changedAt: '2025-01-01T00:00:00Z' }] });
    events.push(withUser(oktaLogEvent('okta-user-deactivate.json'), email));
  }
  return events;
}

/** One delivery each: a delivery of several is stored in a transaction, which a fault would fail too. */
async function deliverEach(connectionId: string, events: Awaited<ReturnType<typeof deactivationsOfNewMembers>>) {
  for (const event of events) expect((await postToOktaHook(connectionId, oktaDelivery([event]), { authorization: SECRETS[connectionId] ?? '' })).statusCode).toBe(200);
}

/** Deactivations of new members whose commits fail on every attempt, until the stream gives up on them. */
async function failedDeactivations(connectionId: string, count: number): Promise<string[]> {
  const events = await deactivationsOfNewMembers(connectionId, count);
  for (const event of events) failWhenMentioning(['TransactWriteCommand', 'TransactWriteItemsCommand'], event.uuid);
  try {
    await deliverEach(connectionId, events);
    await processUntilSettled(stream, connectionId, events.map((event) => event.uuid));
    for (let pass = 0; pass < 8; pass++) await stream.drain();
  } finally {
    clearFaults();
  }
  for (const event of events) expect(await storedInboxItem(connectionId, event.uuid)).toMatchObject({ status: 'failed' });
  return events.map((event) => event.uuid);
}

async function auditEntriesOf(eventId: string) {
  return (await itemsOf('Audit')).filter((entry) => entry.eventId === eventId);
}

async function messagesInQueue(): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await sqsClient.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes?.ApproximateNumberOfMessages ?? 0), inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

describe('POST /admin/events/replay', () => {
  it("replays every failed event of the connection, and only that connection's, and the stream applies each once", async () => {
    const ofA = await failedDeactivations('okta-a', 2);
    const [ofB] = await failedDeactivations('okta-b', 1);

    expect(await replayEvents({ connectionId: 'okta-a', status: 'failed' })).toEqual({ connectionId: 'okta-a', status: 'failed', replayed: 2, alreadyPending: 0, more: false });
    await processUntilSettled(stream, 'okta-a', ofA);
    for (const eventId of ofA) {
      expect(await storedInboxItem('okta-a', eventId)).toMatchObject({ status: 'applied' });
      expect(await auditEntriesOf(eventId)).toHaveLength(1);
    }
    expect(await storedInboxItem('okta-b', ofB ?? '')).toMatchObject({ status: 'failed' });

    // Nothing failed is left: a second call replays nothing, and the effects stay single.
    expect(await replayEvents({ connectionId: 'okta-a', status: 'failed' })).toMatchObject({ replayed: 0, more: false });
    await stream.drain();
    for (const eventId of ofA) expect(await auditEntriesOf(eventId)).toHaveLength(1);
  });

  it('consumes the dead-letter queue the stream sent its failed batches to: the failed events are replayed, then the messages deleted; other messages stay', async () => {
    const sentBefore = stream.deadLetterMessages;
    const eventIds = await failedDeactivations('okta-b', 2);
    // The local stream sent each batch it gave up on as Lambda's on-failure destination does.
    expect(stream.deadLetterMessages).toBeGreaterThan(sentBefore);
    const sent = stream.deadLetterMessages; // this test's and the previous one's
    expect(await messagesInQueue()).toEqual({ visible: sent, inFlight: 0 });
    await sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not an invocation record' }));

    const answer = await replayEventsRoute.handle({ params: {}, query: {}, header: () => undefined, body: { source: 'dead-letter-queue' }, principal: { sub: 'admin', username: 'admin' } });
    // Their events were failed, not pending: the status index replays them, the stream re-arms none.
    expect(answer).toMatchObject({ status: 202, body: { source: 'dead-letter-queue', messages: sent + 1, deleted: sent, unrecognised: 1, expired: 0, rearmed: 0, alreadyPending: 0, more: false } });
    expect((answer.body as { replayed: number }).replayed).toBeGreaterThanOrEqual(eventIds.length);
    for (const eventId of eventIds) expect(await storedInboxItem('okta-b', eventId)).toMatchObject({ status: 'pending' });
    expect(await messagesInQueue()).toEqual({ visible: 0, inFlight: 1 });

    await processUntilSettled(stream, 'okta-b', eventIds);
    for (const eventId of eventIds) {
      expect(await storedInboxItem('okta-b', eventId)).toMatchObject({ status: 'applied' });
      expect(await auditEntriesOf(eventId)).toHaveLength(1);
    }
  });

  /** Three okta-a deactivations delivered while every stream invocation fails: their batches go to the dead-letter queue. */
  async function deliveredDuringAnOutage() {
    const sentBefore = stream.deadLetterMessages;
    const events = await deactivationsOfNewMembers('okta-a', 3);
    stream.startOutage(60_000);
    try {
      await deliverEach('okta-a', events);
      for (let pass = 0; pass < 4; pass++) await stream.drain();
    } finally {
      stream.startOutage(0);
    }
    return { events, sent: stream.deadLetterMessages - sentBefore };
  }

  it('brings back the events of a batch whose every attempt failed before anything was recorded (an outage): read back from the stream, applied once the fault is gone', async () => {
    const { events, sent } = await deliveredDuringAnOutage();
    const eventIds = events.map((event) => event.uuid);
    // Nothing ran, so nothing marked them failed: only the dead-letter queue knows of them.
    for (const eventId of eventIds) expect(await storedInboxItem('okta-a', eventId)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(sent).toBeGreaterThan(0);
    const { Messages } = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
    const record = JSON.parse(Messages?.[0]?.Body ?? '{}') as Record<string, Record<string, unknown>>;
    expect(record.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3, functionArn: expect.stringContaining(':function:process-okta-events') });
    expect(record.responseContext).toMatchObject({ functionError: 'Unhandled' });
    expect(record.DDBStreamBatchInfo).toMatchObject({
      shardId: expect.any(String),
      startSequenceNumber: expect.any(String),
      endSequenceNumber: expect.any(String),
      approximateArrivalOfFirstRecord: expect.any(String),
      batchSize: expect.any(Number),
      streamArn: expect.stringContaining('/stream/'),
    });

    const answer = await replayEventsRoute.handle({ params: {}, query: {}, header: () => undefined, body: { source: 'dead-letter-queue' }, principal: { sub: 'admin', username: 'admin' } });
    expect(answer).toMatchObject({ status: 202, body: { source: 'dead-letter-queue', messages: sent, deleted: sent, unrecognised: 0, expired: 0, more: false } });
    expect((answer.body as { rearmed: number }).rearmed).toBe(eventIds.length);
    await processUntilSettled(stream, 'okta-a', eventIds);
    for (const eventId of eventIds) {
      expect(await storedInboxItem('okta-a', eventId)).toMatchObject({ status: 'applied' });
      expect(await auditEntriesOf(eventId)).toHaveLength(1);
    }
    // A second replay finds nothing: the messages are gone and nothing is pending or failed.
    expect(await replayEvents({ source: 'dead-letter-queue' })).toMatchObject({ messages: 0, rearmed: 0, replayed: 0 });
  });

  it('a re-arm write that keeps failing costs no other event: the messages go back, the answer says more, and the next call finishes', async () => {
    const { events, sent } = await deliveredDuringAnOutage();
    const eventIds = events.map((event) => event.uuid);
    // Every attempt (the SDK's retries included) to re-arm the first event fails during the first call.
    failTimesWhenMentioning(['UpdateItemCommand'], eventIds[0] as string, 10);
    const first = await replayEvents({ source: 'dead-letter-queue' });
    expect(first).toMatchObject({ messages: sent, rearmed: eventIds.length - 1, more: true });
    // Only the batches whose range held the event that could not be re-armed go back to the queue.
    const kept = sent - (first as { deleted: number }).deleted;
    expect(kept).toBeGreaterThan(0);
    clearFaults();
    const second = await replayEvents({ source: 'dead-letter-queue' });
    // The events the first call re-armed have a newer stream record than the batches' own (the
    // re-arm's), which the stream will hand to the processor: only the one left over is re-armed.
    expect(second).toMatchObject({ messages: kept, deleted: kept, rearmed: 1, more: false });
    await processUntilSettled(stream, 'okta-a', eventIds);
    for (const eventId of eventIds) {
      expect(await storedInboxItem('okta-a', eventId)).toMatchObject({ status: 'applied' });
      expect(await auditEntriesOf(eventId)).toHaveLength(1);
    }
  });

  it('refuses a body that is neither form', async () => {
    for (const body of [undefined, {}, { connectionId: 'okta-a' }, { connectionId: 'okta-a', status: 'invalid' }, { source: 'sqs' }, { source: 'dead-letter-queue', connectionId: 'okta-a' }]) {
      await expect(replayEvents(body)).rejects.toMatchObject({ statusCode: 400 });
    }
  });
});
