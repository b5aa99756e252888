/**
 * Group removals of distinct seeded users posted through the hook at a fixed concurrency while
 * the local stream feeds the real process-okta-events handler; each event's ack and "applied" times
 * are taken in-process. Import after the env is set.
 */
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { handler as processEvents } from '../../functions/process-okta-events.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { keys } from '../../shared/store/keys.js';
import { LocalStream, STREAM_SETTINGS, type StreamHandler } from '../lib/local-stream.js';
import { callsSince, inPhase, snapshot } from './calls.js';
import { deliveryRequest, removalEvent, timedAck, type HookRequest } from './okta.js';
import { CONNECTION_ID, REMOVAL_GROUP } from './seed-data.js';
import { percentile, round2, runPool, sleep, summarize } from './stats.js';

const IDLE_STOP_MS = 5_000;
const HARD_STOP_MS = 120_000;

const eventIdOf = (record: DynamoDBRecord) => (record.dynamodb?.NewImage?.eventId as AttributeValue | undefined)?.S ?? '';
const sequenceOf = (record: DynamoDBRecord) => record.dynamodb?.SequenceNumber ?? '';

/**
 * Passes only this run's events to the real handler (the acks measured earlier stay pending,
 * unprocessed) and stamps each event when the batch that applied it returns.
 */
type StreamStats = { batches: number; handlerMs: number };

function timedStreamHandler(wanted: ReadonlySet<string>, appliedAt: Map<string, number>, stats: StreamStats): StreamHandler {
  const realHandler = processEvents as unknown as StreamHandler;
  return async (event, context) => {
    const records = event.Records.filter((record) => wanted.has(eventIdOf(record)));
    if (records.length === 0) return { batchItemFailures: [] };
    const started = performance.now();
    const response = (await inPhase('process', () => realHandler({ Records: records }, context))) as DynamoDBBatchResponse | undefined;
    const finished = performance.now();
    stats.batches += 1;
    stats.handlerMs += finished - started;
    const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    for (const record of records) if (!failed.has(sequenceOf(record))) appliedAt.set(eventIdOf(record), finished);
    return response;
  };
}

/** Polls the stream until every event is handled, or nothing new arrives for a while after posting ended. */
async function pumpStream(stream: LocalStream, isDone: () => boolean, postingDone: () => boolean): Promise<void> {
  const started = performance.now();
  let lastProgress = started;
  while (!isDone()) {
    const now = performance.now();
    if (now - started > HARD_STOP_MS) return;
    if (postingDone() && now - lastProgress > IDLE_STOP_MS) return;
    const delivered = await stream.pollOnce();
    if (delivered > 0) lastProgress = performance.now();
    else await sleep(5);
  }
}

/** Final inbox status of each event, read back with consistent BatchGets. */
async function statusesOf(eventIds: readonly string[]): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (let start = 0; start < eventIds.length; start += 100) {
    let pending: Record<string, unknown>[] = eventIds.slice(start, start + 100).map((id) => keys.inboxEvent(CONNECTION_ID, id));
    while (pending.length > 0) {
      const page = await documentClient.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: 'eventId, #status', ExpressionAttributeNames: { '#status': 'status' } },
          },
        }),
      );
      for (const item of page.Responses?.[tableName] ?? []) statuses.set(String(item.eventId), String(item.status));
      pending = page.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return statuses;
}

function countBy(values: Iterable<string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

export async function runEndToEnd(options: { streamArn: string; endpoint: string; emails: readonly string[]; concurrency: number }) {
  const requests: HookRequest[] = options.emails.map((email) => deliveryRequest([removalEvent({ email, group: REMOVAL_GROUP })]));
  const eventIds = requests.flatMap((request) => request.eventIds);
  const wanted = new Set(eventIds);
  const ackedAt = new Map<string, number>();
  const appliedAt = new Map<string, number>();
  const ackDurations: number[] = [];
  const streamStats: StreamStats = { batches: 0, handlerMs: 0 };

  const stream = new LocalStream({
    endpoint: options.endpoint,
    streamArn: options.streamArn,
    handler: timedStreamHandler(wanted, appliedAt, streamStats),
    // As deployed (serverless.yml): batch size, parallelization factor, 1 + maximumRetryAttempts tries.
    maxAttempts: 1 + STREAM_SETTINGS.maximumRetryAttempts,
  });
  // Skip everything written so far (seed, baseline puts, earlier acks): this run starts on an empty stream.
  await stream.drain();

  const callsBefore = snapshot();
  let posting = true;
  const started = performance.now();
  const pumping = pumpStream(stream, () => appliedAt.size >= wanted.size, () => !posting);
  const posted = runPool(requests, options.concurrency, async (request) => {
    ackDurations.push(await timedAck(request));
    const now = performance.now();
    for (const id of request.eventIds) ackedAt.set(id, now);
  }).finally(() => (posting = false));
  // Settle both before failing, so no poll is left running against a stopped DynamoDB Local.
  const [postResult, pumpResult] = await Promise.allSettled([posted, pumping]);
  if (postResult.status === 'rejected') throw postResult.reason;
  if (pumpResult.status === 'rejected') throw pumpResult.reason;
  const postingMs = postResult.value;
  const pumpMs = performance.now() - started;

  const ack = callsSince(callsBefore, 'ack');
  const processing = callsSince(callsBefore, 'process');
  if (appliedAt.size === 0) throw new Error('end-to-end: the stream applied no event (see the progress above)');
  const lastApplied = Math.max(...appliedAt.values());
  const ackToApplied = eventIds.flatMap((id) => {
    const applied = appliedAt.get(id);
    const acked = ackedAt.get(id);
    return applied !== undefined && acked !== undefined ? [applied - acked] : [];
  });
  const statuses = await statusesOf(eventIds);
  const notApplied = eventIds.filter((id) => statuses.get(id) !== 'applied').length;
  const events = eventIds.length;
  const ackToAppliedSorted = ackToApplied.sort((a, b) => a - b);

  return {
    events,
    concurrency: options.concurrency,
    // Events whose inbox item says "applied", from the first post to the last applied batch.
    perSecond: round2(((events - notApplied) / (lastApplied - started)) * 1000),
    wallMs: round2(lastApplied - started),
    ackToAppliedP50Ms: round2(percentile(ackToAppliedSorted, 0.5)),
    ackToAppliedP99Ms: round2(percentile(ackToAppliedSorted, 0.99)),
    ackUnderLoad: summarize(ackDurations),
    // Acks outpace the stream when postingMs is well below wallMs; the backlog is the ack→applied delay.
    postingMs: round2(postingMs),
    ackedPerSecond: round2((requests.length / postingMs) * 1000),
    stream: {
      batches: streamStats.batches,
      handlerMsPerBatch: round2(streamStats.handlerMs / Math.max(1, streamStats.batches)),
      // The rest of the stream's time: DescribeStream/GetRecords polls and idle waits.
      handlerShareOfWall: round2(streamStats.handlerMs / pumpMs),
    },
    notApplied,
    statuses: countBy(eventIds.map((id) => statuses.get(id) ?? 'missing')),
    deadLettered: stream.deadLetters.length,
    calls: {
      total: ack.total + processing.total,
      ackPerEvent: round2(ack.total / events),
      processPerEvent: round2(processing.total / events),
      ackByCommand: ack.byCommand,
      processByCommand: processing.byCommand,
      meanMsByCommand: { ...ack.meanMsByCommand, ...processing.meanMsByCommand },
    },
  };
}
