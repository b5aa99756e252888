/**
 * The table's stream records a dead-lettered batch stands for. Lambda's on-failure record names
 * the batch by shard and sequence numbers only (DDBStreamBatchInfo); the stream keeps its records
 * for 24 hours, so within that time the inbox items the batch held can be read back from it.
 * DYNAMODB_ENDPOINT points the client at DynamoDB Local (which serves the stream too).
 */
import { DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { clientOptions, config } from '../config.js';
import { ENTITY, type Key } from './keys.js';

const { dynamoEndpoint } = config();

export const streamsClient = new DynamoDBStreamsClient(clientOptions(dynamoEndpoint));

export type StreamBatchInfo = { shardId: string; startSequenceNumber: string; endSequenceNumber: string; streamArn: string };

/** Errors that mean the batch's records are no longer in the stream (older than 24 hours, a stream since replaced). */
const GONE = new Set(['TrimmedDataAccessException', 'ResourceNotFoundException', 'ExpiredIteratorException']);

/** At most this many GetRecords pages (1,000 records each) per batch: a batch spans few. */
const MAX_PAGES = 20;

function sequence(value: string): bigint | undefined {
  try {
    return BigInt(value);
  } catch {
    return undefined;
  }
}

/**
 * The keys of the inbox items whose stream records lie between the batch's first and last
 * sequence numbers (other records of the shard in that range too: the batch's own are among
 * them), or `undefined` when the stream no longer holds them.
 */
export async function inboxKeysOfBatch(batch: StreamBatchInfo): Promise<Key[] | undefined> {
  const start = sequence(batch.startSequenceNumber);
  const end = sequence(batch.endSequenceNumber);
  if (start === undefined || end === undefined) return undefined;
  let iterator: string | undefined;
  try {
    ({ ShardIterator: iterator } = await streamsClient.send(
      new GetShardIteratorCommand({ StreamArn: batch.streamArn, ShardId: batch.shardId, ShardIteratorType: 'AT_SEQUENCE_NUMBER', SequenceNumber: batch.startSequenceNumber }),
    ));
  } catch (error) {
    if (GONE.has((error as Error).name) || (error as Error).name === 'ValidationException') return undefined;
    throw error;
  }
  const found = new Map<string, Key>();
  for (let page = 0; iterator && page < MAX_PAGES; page++) {
    let records: StreamRecord[];
    try {
      const answer = await streamsClient.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      records = answer.Records ?? [];
      iterator = answer.NextShardIterator;
    } catch (error) {
      if (GONE.has((error as Error).name)) return found.size > 0 ? [...found.values()] : undefined;
      throw error;
    }
    for (const record of records) {
      const at = sequence(record.dynamodb?.SequenceNumber ?? '');
      if (at === undefined || at < start) continue;
      if (at > end) return [...found.values()];
      const image = record.dynamodb?.NewImage;
      const pk = record.dynamodb?.Keys?.pk?.S;
      const sk = record.dynamodb?.Keys?.sk?.S;
      if (image?.entity?.S === ENTITY.inboxEvent && pk && sk) found.set(`${pk}|${sk}`, { pk, sk });
    }
    // An open shard answers an empty page at its end: nothing further is there yet.
    if (records.length === 0) break;
  }
  return [...found.values()];
}
