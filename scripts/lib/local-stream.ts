/**
 * The table's stream, run locally: reads DynamoDB Local's stream and calls the real
 * process-events handler the way Lambda would, with the same filter (INSERTs of inbox items),
 * partial batch responses, a retry limit and a "dead letter" log for what still fails.
 * On AWS all of this is the event source mapping declared in serverless.yml.
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | unknown>;

type InboxFilter = {
  eventName: string[];
  dynamodb: { NewImage: { entity: { S: string[] }; source: { S: string[] }; status?: { S: string[] } } };
};

/** Mirrors the filterPatterns of process-events in serverless.yml (a test keeps them equal). */
export const INBOX_INSERT_FILTER: InboxFilter = {
  eventName: ['INSERT'],
  dynamodb: { NewImage: { entity: { S: ['InboxEvent'] }, source: { S: ['okta'] } } },
};

/**
 * Mirrors the filterPatterns of process-graph-events in serverless.yml (a test keeps them equal):
 * new Graph inbox items, and state-based hints stored again (re-armed) while already processed.
 */
export const GRAPH_INBOX_PENDING_FILTER: InboxFilter = {
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: { NewImage: { entity: { S: ['InboxEvent'] }, source: { S: ['graph'] }, status: { S: ['pending'] } } },
};

/** The event source mapping of process-events in serverless.yml (a test keeps them equal). */
export const STREAM_SETTINGS = { batchSize: 25, parallelizationFactor: 5, maximumRetryAttempts: 5 };

/** The event source mapping of process-graph-events: small batches, each record may wait on Graph. */
export const GRAPH_STREAM_SETTINGS = { batchSize: 10, parallelizationFactor: 2, maximumRetryAttempts: 5 };

export function matchesFilter(filter: InboxFilter, record: StreamRecord): boolean {
  const image = record.dynamodb?.NewImage;
  return (
    filter.eventName.includes(record.eventName ?? '') &&
    filter.dynamodb.NewImage.entity.S.includes(image?.entity?.S ?? '') &&
    filter.dynamodb.NewImage.source.S.includes(image?.source?.S ?? '') &&
    (filter.dynamodb.NewImage.status?.S.includes(image?.status?.S ?? '') ?? true)
  );
}

export function isInboxInsert(record: StreamRecord): boolean {
  return matchesFilter(INBOX_INSERT_FILTER, record);
}

export function lambdaContext(functionName: string): Context {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** One function on the stream: its filter, handler and batching, as its event source mapping. */
export type StreamConsumer = {
  name: string;
  accepts: (record: StreamRecord) => boolean;
  handler: StreamHandler;
  batchSize: number;
  /** Batches processed at once (Lambda's parallelizationFactor). */
  parallelization: number;
};

export type LocalStreamOptions = {
  endpoint: string;
  streamArn: string;
  /** process-events (Okta inbox items); `consumers` adds others, such as process-graph-events. */
  handler?: StreamHandler;
  batchSize?: number;
  parallelization?: number;
  consumers?: StreamConsumer[];
  /** Attempts per record before it is "dead-lettered" (the deployed limit is in serverless.yml). */
  maxAttempts?: number;
  onDeadLetter?: (records: StreamRecord[]) => void;
};

/** process-graph-events as the deployed event source mapping runs it. */
export function graphConsumer(handler: StreamHandler): StreamConsumer {
  return {
    name: 'process-graph-events',
    accepts: (record) => matchesFilter(GRAPH_INBOX_PENDING_FILTER, record),
    handler,
    batchSize: GRAPH_STREAM_SETTINGS.batchSize,
    parallelization: GRAPH_STREAM_SETTINGS.parallelizationFactor,
  };
}

export class LocalStream {
  private readonly client: DynamoDBStreamsClient;
  private readonly iterators = new Map<string, string | undefined>();
  private readonly consumers: StreamConsumer[];
  private running = false;
  private loop: Promise<void> | undefined;
  readonly deadLetters: StreamRecord[] = [];

  constructor(private readonly options: LocalStreamOptions) {
    const okta: StreamConsumer[] = options.handler
      ? [{
          name: 'process-events',
          accepts: isInboxInsert,
          handler: options.handler,
          batchSize: options.batchSize ?? STREAM_SETTINGS.batchSize,
          parallelization: options.parallelization ?? STREAM_SETTINGS.parallelizationFactor,
        }]
      : [];
    this.consumers = [...okta, ...(options.consumers ?? [])];
    this.client = new DynamoDBStreamsClient({
      endpoint: options.endpoint,
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }

  /** Picks up shards that appeared since the last poll, each from its oldest record. */
  private async refreshShards(): Promise<void> {
    const { StreamDescription } = await this.client.send(new DescribeStreamCommand({ StreamArn: this.options.streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      if (!shard.ShardId || this.iterators.has(shard.ShardId)) continue;
      const { ShardIterator } = await this.client.send(
        new GetShardIteratorCommand({ StreamArn: this.options.streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      this.iterators.set(shard.ShardId, ShardIterator);
    }
  }

  /**
   * One pass over every shard; returns how many inbox records it handed to the handler.
   * Like Lambda's parallelization factor, several batches of a shard run at once. (Lambda
   * keeps records with the same partition key in order; every inbox item has its own key.)
   */
  async pollOnce(): Promise<number> {
    await this.refreshShards();
    let delivered = 0;
    for (const [shardId, iterator] of this.iterators) {
      if (!iterator) continue;
      const page = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      this.iterators.set(shardId, page.NextShardIterator);
      // Each function reads the shard on its own, as separate event source mappings do.
      const counts = await Promise.all(this.consumers.map((consumer) => this.deliverAll(consumer, (page.Records ?? []).filter(consumer.accepts))));
      delivered += counts.reduce((sum, count) => sum + count, 0);
    }
    return delivered;
  }

  private async deliverAll(consumer: StreamConsumer, records: StreamRecord[]): Promise<number> {
    const batches: StreamRecord[][] = [];
    for (let start = 0; start < records.length; start += consumer.batchSize) batches.push(records.slice(start, start + consumer.batchSize));
    const lanes = Math.min(consumer.parallelization, batches.length);
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) await this.deliver(consumer, batch);
      }),
    );
    return records.length;
  }

  /** Polls until a pass finds nothing new: everything written so far has been processed. */
  async drain(): Promise<number> {
    let total = 0;
    for (let delivered = await this.pollOnce(); delivered > 0; delivered = await this.pollOnce()) total += delivered;
    return total;
  }

  private async deliver(consumer: StreamConsumer, records: StreamRecord[]): Promise<void> {
    let pending = records;
    const maxAttempts = this.options.maxAttempts ?? 3;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const event = { Records: pending.map((record) => ({ ...record, eventSourceARN: this.options.streamArn })) } as DynamoDBStreamEvent;
      let failedIds: Set<string>;
      try {
        const response = (await consumer.handler(event, lambdaContext(consumer.name))) as DynamoDBBatchResponse | undefined;
        failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      } catch {
        failedIds = new Set(pending.map((record) => record.dynamodb?.SequenceNumber ?? ''));
      }
      pending = pending.filter((record) => failedIds.has(record.dynamodb?.SequenceNumber ?? ''));
      if (pending.length > 0 && attempt >= maxAttempts) {
        this.deadLetters.push(...pending);
        this.options.onDeadLetter?.(pending);
        return;
      }
    }
  }

  start(intervalMs = 250): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.pollOnce();
        } catch (error) {
          console.error('local stream poll failed:', (error as Error).message);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
