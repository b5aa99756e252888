/**
 * POST /admin/events/replay against DynamoDB Local, its stream and moto_server's SQS: a
 * connection's failed events go back through their processor once; the dead-letter queue's
 * invocation records are consumed, and deleted only once their events are pending again.
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

const { GetQueueAttributesCommand, SendMessageCommand } = await import('@aws-sdk/client-sqs');
const { replayEvents } = await import('../../shared/app/admin-events.js');
const { replayEventsRoute } = await import('../../shared/app/admin-ops-routes.js');
const { sqsClient } = await import('../../shared/store/dead-letter-queue.js');
const { addSeedUser, createSeededTable, itemsOf, processUntilSettled, SECRET_A1, SECRET_B, storedInboxItem } = await import('../helpers/stack.js');
const { oktaDelivery, oktaLogEvent, withUser } = await import('../helpers/fixtures.js');
const { postToOktaHook } = await import('../helpers/okta.js');
const { clearFaults, failWhenMentioning } = await import('../helpers/faults.js');

let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
});

const SECRETS: Record<string, string> = { 'okta-a': SECRET_A1, 'okta-b': SECRET_B };
/** An account each org serves in the test seed. */
const ACCOUNTS: Record<string, string> = { 'okta-a': 'acme', 'okta-b': 'initech' };

/** Deactivations of new members (of an account the org serves) whose commits fail on every attempt, until the stream gives up on them. */
async function failedDeactivations(connectionId: string, count: number): Promise<string[]> {
  const events = [];
  for (let index = 0; index < count; index++) {
    const email = `failing.${crypto.randomUUID().slice(0, 8)}@example.com`;
    await addSeedUser({ email, identities: [{ connectionId }], memberships: [{ accountId: ACCOUNTS[connectionId] ?? '', role: 'Viewer', changedAt: '2025-01-01T00:00:00Z' }] });
    events.push(withUser(oktaLogEvent('okta-user-deactivate.json'), email));
  }
  for (const event of events) failWhenMentioning(['TransactWriteCommand', 'TransactWriteItemsCommand'], event.uuid);
  try {
    // One delivery each: a delivery of several is stored in a transaction, which the fault would fail too.
    for (const event of events) expect((await postToOktaHook(connectionId, oktaDelivery([event]), { authorization: SECRETS[connectionId] ?? '' })).statusCode).toBe(200);
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

/** What Lambda's on-failure destination sends for a batch it gave up on (Lambda developer guide, DynamoDB invocation record). */
function invocationRecordOf(records: LocalStream['deadLetters']): string {
  const sequenceNumbers = records.map((record) => record.dynamodb?.SequenceNumber ?? '');
  return JSON.stringify({
    requestContext: { requestId: crypto.randomUUID(), functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:sso-sync-test-process-okta-events', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date().toISOString(),
    DDBStreamBatchInfo: {
      shardId: 'shardId-00000001573689847184-864758bb',
      startSequenceNumber: sequenceNumbers[0],
      endSequenceNumber: sequenceNumbers.at(-1),
      approximateArrivalOfFirstRecord: new Date().toISOString(),
      approximateArrivalOfLastRecord: new Date().toISOString(),
      batchSize: records.length,
      streamArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/sso-sync-test/stream/2026-01-01T00:00:00.000',
    },
  });
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

  it('consumes the dead-letter queue: the failed events are replayed, then their messages deleted; other messages stay', async () => {
    const deadLettersBefore = stream.deadLetters.length;
    const eventIds = await failedDeactivations('okta-b', 2);
    const deadLettered = stream.deadLetters.slice(deadLettersBefore);
    expect(deadLettered.length).toBeGreaterThan(0);
    await sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: invocationRecordOf(deadLettered) }));
    await sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not an invocation record' }));

    const answer = await replayEventsRoute.handle({ params: {}, query: {}, header: () => undefined, body: { source: 'dead-letter-queue' }, principal: { sub: 'admin', username: 'admin' } });
    expect(answer).toMatchObject({ status: 202, body: { source: 'dead-letter-queue', messages: 2, deleted: 1, unrecognised: 1, alreadyPending: 0, more: false } });
    expect((answer.body as { replayed: number }).replayed).toBeGreaterThanOrEqual(eventIds.length);
    for (const eventId of eventIds) expect(await storedInboxItem('okta-b', eventId)).toMatchObject({ status: 'pending' });
    expect(await messagesInQueue()).toEqual({ visible: 0, inFlight: 1 });

    await processUntilSettled(stream, 'okta-b', eventIds);
    for (const eventId of eventIds) {
      expect(await storedInboxItem('okta-b', eventId)).toMatchObject({ status: 'applied' });
      expect(await auditEntriesOf(eventId)).toHaveLength(1);
    }
  });

  it('refuses a body that is neither form', async () => {
    for (const body of [undefined, {}, { connectionId: 'okta-a' }, { connectionId: 'okta-a', status: 'invalid' }, { source: 'sqs' }, { source: 'dead-letter-queue', connectionId: 'okta-a' }]) {
      await expect(replayEvents(body)).rejects.toMatchObject({ statusCode: 400 });
    }
  });
});
