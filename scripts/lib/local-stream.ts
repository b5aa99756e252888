/**
 * The table's stream, run locally: reads DynamoDB Local's stream and calls the real
 * process-okta-events handler the way Lambda would, with the same filters (pending inbox items),
 * partial batch responses, a retry limit, and for what still fails the on-failure destination:
 * the invocation record Lambda sends to the dead-letter queue (moto's, under npm start).
 * On AWS all of this is the event source mapping declared in serverless.yml.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
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

/**
 * Mirrors the filterPatterns of process-okta-events in serverless.yml (a test keeps them equal):
 * new Okta inbox items, and those an admin put back to pending for a replay.
 */
export const OKTA_INBOX_PENDING_FILTER: InboxFilter = {
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: { NewImage: { entity: { S: ['InboxEvent'] }, source: { S: ['okta'] }, status: { S: ['pending'] } } },
};

/**
 * Mirrors the filterPatterns of process-graph-events in serverless.yml (a test keeps them equal):
 * new Graph inbox items, and state-based hints stored again (re-armed) while already processed.
 */
export const GRAPH_INBOX_PENDING_FILTER: InboxFilter = {
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: { NewImage: { entity: { S: ['InboxEvent'] }, source: { S: ['graph'] }, status: { S: ['pending'] } } },
};

/** The chaos run's outage (SIGUSR2) lasts until at least this many batches are dead-lettered in it. */
const OUTAGE_MIN_BATCHES = 5;

/** The event source mapping of process-okta-events in serverless.yml (a test keeps them equal). */
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

export function isPendingOktaInboxItem(record: StreamRecord): boolean {
  return matchesFilter(OKTA_INBOX_PENDING_FILTER, record);
}

/** A Lambda context; `logStreamName` names the instance (execution environment), as on Lambda. */
export function lambdaContext(functionName: string, logStreamName = 'local'): Context {
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName,
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
  /** Instances running a batch at once per shard (Lambda's parallelizationFactor). */
  parallelization: number;
};

/**
 * One execution environment of a function: it runs one invocation at a time, as on Lambda, so
 * an invocation never shares it with another. Its log stream name tells invocations apart.
 */
type FunctionInstance = { logStreamName: string; idle: Promise<void> };

function invokeOn<T>(instance: FunctionInstance, invocation: () => Promise<T>): Promise<T> {
  const done = instance.idle.then(invocation);
  instance.idle = done.then(
    () => undefined,
    () => undefined,
  );
  return done;
}

/**
 * The table's partition key (`pk`) of a record: Lambda hands the records of one partition key
 * to one instance at a time, in order, whatever the parallelization factor.
 */
function partitionKeyOf(record: StreamRecord): string {
  return record.dynamodb?.Keys?.pk?.S ?? record.dynamodb?.SequenceNumber ?? '';
}

/** FNV-1a: spreads partition keys over the instances, the same key always to the same one. */
function instanceIndexOf(partitionKey: string, instances: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < partitionKey.length; index++) {
    hash ^= partitionKey.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % instances;
}

export type LocalStreamOptions = {
  endpoint: string;
  streamArn: string;
  /** process-okta-events (Okta inbox items); `consumers` adds others, such as process-graph-events. */
  handler?: StreamHandler;
  batchSize?: number;
  parallelization?: number;
  consumers?: StreamConsumer[];
  /** Attempts per record before it is "dead-lettered"; by default 1 + maximumRetryAttempts, as deployed. */
  maxAttempts?: number;
  onDeadLetter?: (records: StreamRecord[]) => void;
  /**
   * The on-failure destination (ProcessEventsDeadLetterQueue): each batch that exhausts its
   * retries is sent there as Lambda's invocation record. By default DEAD_LETTER_QUEUE_URL, at
   * SQS_ENDPOINT (npm start sets both to moto's queue); none when unset.
   */
  deadLetterQueueUrl?: string;
};

/**
 * What Lambda sends to a stream event source mapping's on-failure destination for a batch it gave
 * up on (Lambda developer guide, "Retaining discarded records for a DynamoDB event source",
 * example invocation record): pointers into the stream, not the records.
 */
export function streamInvocationRecord(input: {
  functionName: string;
  streamArn: string;
  shardId: string;
  records: StreamRecord[];
  attempts: number;
  functionError: boolean;
}) {
  const sequenceNumbers = input.records.map((record) => record.dynamodb?.SequenceNumber ?? '');
  const arrivals = input.records.map((record) => record.dynamodb?.ApproximateCreationDateTime ?? new Date());
  const iso = (date: Date | undefined) => (date ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    requestContext: {
      requestId: crypto.randomUUID(),
      functionArn: lambdaContext(input.functionName).invokedFunctionArn,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: input.attempts,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(input.functionError ? { functionError: 'Unhandled' } : {}) },
    version: '1.0',
    timestamp: new Date().toISOString(),
    DDBStreamBatchInfo: {
      shardId: input.shardId,
      startSequenceNumber: sequenceNumbers[0] ?? '',
      endSequenceNumber: sequenceNumbers.at(-1) ?? '',
      approximateArrivalOfFirstRecord: iso(arrivals[0]),
      approximateArrivalOfLastRecord: iso(arrivals.at(-1)),
      batchSize: input.records.length,
      streamArn: input.streamArn,
    },
  };
}

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
  private readonly instances = new Map<string, FunctionInstance[]>();
  /** The last pass asked for: the next one starts after it. */
  private previousPass: Promise<unknown> = Promise.resolve();
  private running = false;
  private loop: Promise<void> | undefined;
  readonly deadLetters: StreamRecord[] = [];
  /** Invocation records sent to the dead-letter queue. */
  deadLetterMessages = 0;
  private sqs: SQSClient | undefined;
  /** While on, every invocation fails before the handler runs, as in a function outage (startOutage). */
  private outage = { until: 0, hardStop: 0, minBatches: 0, deadLettered: 0 };

  constructor(private readonly options: LocalStreamOptions) {
    const okta: StreamConsumer[] = options.handler
      ? [{
          name: 'process-okta-events',
          accepts: isPendingOktaInboxItem,
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
   * One pass over every shard; returns how many records it handed to the handlers. Passes never
   * overlap (start()'s loop and a drain() may both ask for one): two at once would read a shard
   * from the same iterator twice and hand a key's records over out of order.
   */
  pollOnce(): Promise<number> {
    const pass = this.previousPass.then(() => this.pass());
    this.previousPass = pass.catch(() => undefined);
    return pass;
  }

  private async pass(): Promise<number> {
    await this.refreshShards();
    let delivered = 0;
    for (const [shardId, iterator] of this.iterators) {
      if (!iterator) continue;
      const page = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      this.iterators.set(shardId, page.NextShardIterator);
      // Each function reads the shard on its own, as separate event source mappings do.
      const counts = await Promise.all(this.consumers.map((consumer) => this.deliverAll(consumer, shardId, (page.Records ?? []).filter(consumer.accepts))));
      delivered += counts.reduce((sum, count) => sum + count, 0);
    }
    return delivered;
  }

  private instancesOf(consumer: StreamConsumer): FunctionInstance[] {
    let instances = this.instances.get(consumer.name);
    if (!instances) {
      instances = Array.from({ length: Math.max(1, consumer.parallelization) }, (_, index) => ({
        logStreamName: `local/${consumer.name}/instance-${index + 1}`,
        idle: Promise.resolve(),
      }));
      this.instances.set(consumer.name, instances);
    }
    return instances;
  }

  /**
   * As Lambda's parallelization factor does: the shard's records are spread over up to that
   * many instances by partition key; each instance takes its records in shard order, in
   * batches, one invocation at a time, so a key's records are never handled out of order or at once.
   */
  private async deliverAll(consumer: StreamConsumer, shardId: string, records: StreamRecord[]): Promise<number> {
    const instances = this.instancesOf(consumer);
    const recordsOf = instances.map((): StreamRecord[] => []);
    for (const record of records) recordsOf[instanceIndexOf(partitionKeyOf(record), instances.length)]?.push(record);
    await Promise.all(
      instances.map(async (instance, index) => {
        const own = recordsOf[index] ?? [];
        for (let start = 0; start < own.length; start += consumer.batchSize) {
          await this.deliver(consumer, instance, shardId, own.slice(start, start + consumer.batchSize));
        }
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

  /**
   * For `ms` from now every invocation of every consumer fails before its handler runs (a
   * function error, as when a deploy is broken or every call times out), so batches exhaust
   * their retries and are dead-lettered; their inbox items stay `pending`, nothing marks them.
   * It lasts until at least `minBatches` batches were dead-lettered in it (a busy stream may
   * invoke nothing for a while), but never beyond `ms` + 60 s. startOutage(0) ends it.
   */
  startOutage(ms: number, minBatches = 0): void {
    const now = Date.now();
    this.outage = { until: now + ms, hardStop: ms > 0 ? now + ms + 60_000 : 0, minBatches, deadLettered: 0 };
  }

  private inOutage(): boolean {
    const now = Date.now();
    return now < this.outage.hardStop && (now < this.outage.until || this.outage.deadLettered < this.outage.minBatches);
  }

  /** One batch on one instance: retried (failed records only) until it succeeds or is dead-lettered. */
  private async deliver(consumer: StreamConsumer, instance: FunctionInstance, shardId: string, records: StreamRecord[]): Promise<void> {
    let pending = records;
    const maxAttempts = this.options.maxAttempts ?? 1 + STREAM_SETTINGS.maximumRetryAttempts;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const event = { Records: pending.map((record) => ({ ...record, eventSourceARN: this.options.streamArn })) } as DynamoDBStreamEvent;
      let failedIds: Set<string>;
      let functionError = false;
      try {
        const response = (await invokeOn(instance, () => {
          if (this.inOutage()) throw new Error('injected function outage (CHAOS_STREAM_OUTAGE_SECONDS)');
          return consumer.handler(event, lambdaContext(consumer.name, instance.logStreamName));
        })) as DynamoDBBatchResponse | undefined;
        failedIds = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      } catch {
        functionError = true;
        failedIds = new Set(pending.map((record) => record.dynamodb?.SequenceNumber ?? ''));
      }
      pending = pending.filter((record) => failedIds.has(record.dynamodb?.SequenceNumber ?? ''));
      if (pending.length > 0 && attempt >= maxAttempts) {
        if (functionError && this.inOutage()) this.outage.deadLettered++;
        this.deadLetters.push(...pending);
        this.options.onDeadLetter?.(pending);
        await this.sendToDeadLetterQueue(streamInvocationRecord({ functionName: consumer.name, streamArn: this.options.streamArn, shardId, records: pending, attempts: attempt, functionError }));
        return;
      }
    }
  }

  /** As Lambda's on-failure destination: one message per batch given up on. A failed send is logged, not retried. */
  private async sendToDeadLetterQueue(record: ReturnType<typeof streamInvocationRecord>): Promise<void> {
    const queueUrl = this.options.deadLetterQueueUrl ?? process.env.DEAD_LETTER_QUEUE_URL;
    if (!queueUrl) return;
    this.sqs ??= new SQSClient({
      endpoint: process.env.SQS_ENDPOINT,
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(record) }));
      this.deadLetterMessages++;
      console.error(`sent a batch of ${record.DDBStreamBatchInfo.batchSize} record(s) to the dead-letter queue`);
    } catch (error) {
      console.error('could not send to the dead-letter queue:', (error as Error).message);
    }
  }

  /**
   * Polls every `intervalMs` until stop(). With CHAOS_STREAM_OUTAGE_SECONDS set (npm run chaos),
   * a SIGUSR2 to this process starts an outage of that many seconds (startOutage).
   */
  start(intervalMs = 250): void {
    this.running = true;
    const outageSeconds = Number(process.env.CHAOS_STREAM_OUTAGE_SECONDS ?? 0);
    if (outageSeconds > 0) {
      process.on('SIGUSR2', () => {
        console.error(`[chaos] stream outage: every invocation fails for ${outageSeconds} s, and until ${OUTAGE_MIN_BATCHES} batches are dead-lettered`);
        this.startOutage(outageSeconds * 1000, OUTAGE_MIN_BATCHES);
      });
    }
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
