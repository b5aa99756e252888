/**
 * The local stream runner models Lambda's event source mapping: up to parallelizationFactor
 * instances at once, each running one invocation at a time, and the records of one partition
 * key handed over in order, never two at once.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { dynamoClient, documentClient, tableName } from '../../shared/store/client.js';
import { ensureTable } from '../../shared/store/table.js';
import { LocalStream, type StreamConsumer } from '../../scripts/lib/local-stream.js';

type Invocation = { instance: string; keys: string[]; versions: string[]; startedAt: number; endedAt: number };

let streamArn: string;

beforeAll(async () => {
  streamArn = await ensureTable(dynamoClient, tableName);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A consumer of the items of one entity that records each invocation and takes a little while. */
function recordingConsumer(entity: string, invocations: Invocation[], settings: { batchSize: number; parallelization: number }): StreamConsumer {
  return {
    name: `probe-${entity}`,
    accepts: (record) => record.dynamodb?.NewImage?.entity?.S === entity,
    ...settings,
    handler: async (event: DynamoDBStreamEvent, context: Context) => {
      const startedAt = performance.now();
      await sleep(5 + Math.random() * 15);
      invocations.push({
        instance: context.logStreamName,
        keys: event.Records.map((record) => record.dynamodb?.Keys?.pk?.S ?? ''),
        versions: event.Records.map((record) => record.dynamodb?.NewImage?.version?.N ?? ''),
        startedAt,
        endedAt: performance.now(),
      });
      return { batchItemFailures: [] };
    },
  };
}

const overlap = (a: Invocation, b: Invocation) => a.startedAt < b.endedAt && b.startedAt < a.endedAt;

function overlappingPairs(invocations: Invocation[], together: (a: Invocation, b: Invocation) => boolean): [Invocation, Invocation][] {
  return invocations.flatMap((a, index) => invocations.slice(index + 1).filter((b) => together(a, b) && overlap(a, b)).map((b): [Invocation, Invocation] => [a, b]));
}

/** Drains until `count` records were handed over (DynamoDB Local may show a record a moment late). */
async function handOver(stream: LocalStream, invocations: Invocation[], count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  // Two drains at once, as start()'s loop and a test's drain() may run: they must not overlap.
  while (invocations.reduce((sum, invocation) => sum + invocation.keys.length, 0) < count) {
    if (Date.now() > deadline) throw new Error('records still not handed over after 15 s');
    await Promise.all([stream.drain(), stream.drain()]);
  }
}

async function putProbe(entity: string, pk: string, version: number): Promise<void> {
  await documentClient.send(new PutCommand({ TableName: tableName, Item: { pk, sk: 'PROBE', entity, version } }));
}

describe('local stream runner', () => {
  it('runs one invocation at a time per instance, and up to parallelizationFactor instances at once', async () => {
    const invocations: Invocation[] = [];
    const stream = new LocalStream({
      endpoint: process.env.DYNAMODB_ENDPOINT ?? '',
      streamArn,
      consumers: [recordingConsumer('InstanceProbe', invocations, { batchSize: 4, parallelization: 4 })],
    });
    await Promise.all(Array.from({ length: 80 }, (_, index) => putProbe('InstanceProbe', `INSTANCE-PROBE#${index}`, 1)));
    await handOver(stream, invocations, 80);

    expect(overlappingPairs(invocations, (a, b) => a.instance === b.instance)).toEqual([]);
    const instances = new Set(invocations.map((invocation) => invocation.instance));
    expect(instances.size).toBeGreaterThan(1);
    expect(instances.size).toBeLessThanOrEqual(4);
    expect(overlappingPairs(invocations, (a, b) => a.instance !== b.instance).length).toBeGreaterThan(0);
    expect(invocations.every((invocation) => invocation.keys.length <= 4)).toBe(true);
  });

  it('hands the records of one partition key over in order, never two of its batches at once', async () => {
    const invocations: Invocation[] = [];
    const stream = new LocalStream({
      endpoint: process.env.DYNAMODB_ENDPOINT ?? '',
      streamArn,
      consumers: [recordingConsumer('OrderProbe', invocations, { batchSize: 3, parallelization: 4 })],
    });
    const probeKeys = Array.from({ length: 6 }, (_, index) => `ORDER-PROBE#${index}`);
    // Rounds: every key's version n is written before any key's version n + 1 (an INSERT, then MODIFYs).
    for (let version = 1; version <= 8; version++) await Promise.all(probeKeys.map((pk) => putProbe('OrderProbe', pk, version)));
    await handOver(stream, invocations, probeKeys.length * 8);

    const byStart = [...invocations].sort((a, b) => a.startedAt - b.startedAt);
    for (const pk of probeKeys) {
      const seen = byStart.flatMap((invocation) => invocation.versions.filter((_, index) => invocation.keys[index] === pk));
      expect(seen, pk).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    }
    const sharingAKey = (a: Invocation, b: Invocation) => a.keys.some((pk) => b.keys.includes(pk));
    expect(overlappingPairs(invocations, sharingAKey)).toEqual([]);
  });
});
