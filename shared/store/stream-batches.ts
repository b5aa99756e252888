/**
 * The table's stream records a dead-lettered batch stands for. Lambda's on-failure record names
 * the batch by shard and sequence numbers only (DDBStreamBatchInfo); the stream keeps its records
 * for 24 hours, so within that time the inbox items the batch held can be read back from it.
 * DYNAMODB_ENDPOINT points the client at DynamoDB Local (which serves the stream too).
 */
import { DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { clientOptions, config } from '../config.js';
import { ENTITY, type Key } from './keys.js';

const { dynamoEndpoint } = config();

export const streamsClient = new DynamoDBStreamsClient(clientOptions(dynamoEndpoint));

export type StreamBatchInfo = { shardId: string; startSequenceNumber: string; endSequenceNumber: string; streamArn: string };

const EMPTY_PAGE_PAUSE_MS = 200;

/** Errors that mean the batch's records are no longer in the stream (older than 24 hours, a stream since replaced). */
const GONE = new Set(['TrimmedDataAccessException', 'ResourceNotFoundException', 'ExpiredIteratorException']);

function sequence(value: string): bigint | undefined {
  try {
    return BigInt(value);
  } catch {
    return undefined;
  }
}

/** One shard's records from `start` to `end` (sequence numbers), and the batches that lie in it. */
export type StreamRange<Batch> = { streamArn: string; shardId: string; start: bigint; end: bigint; batches: Batch[]; /** The first sequence number as the stream wrote it (leading zeros kept). */ startText: string };

/**
 * The batches as few ranges to read: per shard, overlapping ones merged (the batches of one
 * moment, spread over instances by partition key, interleave). Batches whose sequence numbers
 * do not parse are left out.
 */
export function mergedRanges<Batch extends { DDBStreamBatchInfo: StreamBatchInfo }>(batches: Batch[]): StreamRange<Batch>[] {
  const ranges: StreamRange<Batch>[] = [];
  const parsed = batches.flatMap((batch) => {
    const start = sequence(batch.DDBStreamBatchInfo.startSequenceNumber);
    const end = sequence(batch.DDBStreamBatchInfo.endSequenceNumber);
    return start === undefined || end === undefined ? [] : [{ batch, start, end: end < start ? start : end }];
  });
  parsed.sort((a, b) => a.batch.DDBStreamBatchInfo.streamArn.localeCompare(b.batch.DDBStreamBatchInfo.streamArn) || a.batch.DDBStreamBatchInfo.shardId.localeCompare(b.batch.DDBStreamBatchInfo.shardId) || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (const { batch, start, end } of parsed) {
    const { streamArn, shardId } = batch.DDBStreamBatchInfo;
    const last = ranges.at(-1);
    if (last && last.streamArn === streamArn && last.shardId === shardId && start <= last.end) {
      if (end > last.end) last.end = end;
      last.batches.push(batch);
    } else ranges.push({ streamArn, shardId, start, end, batches: [batch], startText: batch.DDBStreamBatchInfo.startSequenceNumber });
  }
  return ranges;
}

/** An inbox item named in a range: its key, and the image its last record in the range wrote. */
export type RangeEvent = { key: Key; image: Record<string, unknown> };

/**
 * The inbox items whose stream records lie in the range (other records of the shard in it too:
 * the batches' own are among them), each with the image of its last record in the range.
 * `gone`: the stream no longer holds them (older than 24 hours, a stream since replaced);
 * `unfinished`: `deadline` came first.
 */
export async function inboxEventsInRange(range: Pick<StreamRange<unknown>, 'streamArn' | 'shardId' | 'start' | 'end' | 'startText'>, deadline: number): Promise<RangeEvent[] | 'gone' | 'unfinished'> {
  let iterator: string | undefined;
  try {
    ({ ShardIterator: iterator } = await streamsClient.send(
      new GetShardIteratorCommand({ StreamArn: range.streamArn, ShardId: range.shardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: range.startText }),
    ));
  } catch (error) {
    if (GONE.has((error as Error).name) || (error as Error).name === 'ValidationException') return 'gone';
    throw error;
  }
  const found = new Map<string, RangeEvent>();
  while (iterator) {
    if (Date.now() > deadline) return 'unfinished';
    let records: StreamRecord[];
    try {
      const answer = await streamsClient.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      records = answer.Records ?? [];
      iterator = answer.NextShardIterator;
    } catch (error) {
      if (GONE.has((error as Error).name)) return 'gone';
      throw error;
    }
    for (const record of records) {
      const at = sequence(record.dynamodb?.SequenceNumber ?? '');
      if (at === undefined || at < range.start) continue;
      if (at > range.end) return [...found.values()];
      const image = record.dynamodb?.NewImage;
      const pk = record.dynamodb?.Keys?.pk?.S;
      const sk = record.dynamodb?.Keys?.sk?.S;
      // Later records of an item replace earlier ones: the last is what the item held after them.
      if (image?.entity?.S === ENTITY.inboxEvent && pk && sk) found.set(`${pk}|${sk}`, { key: { pk, sk }, image: unmarshall(image as Parameters<typeof unmarshall>[0]) });
      if (at === range.end) return [...found.values()];
    }
    // An empty page is not the end: GetRecords may answer one for a stretch of the shard with
    // nothing in it before the records further on. The range ends at a record that exists (the
    // batch's last), so reading goes on until it, a closed shard's end, or the deadline; a short
    // pause keeps an empty stretch within the stream's 5 reads a second per shard.
    if (records.length === 0) await new Promise((resolve) => setTimeout(resolve, EMPTY_PAGE_PAUSE_MS));
  }
  return [...found.values()];
}
