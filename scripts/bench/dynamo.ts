/**
 * Every measurement that needs the table, in an order that keeps them apart: the baseline puts
 * and transactions (the floors) and the acks run before the stream is consumed, the end-to-end
 * run last. Each ack is measured interleaved with its floor, so both see the same server state. Import after the env is set.
 */
import { callsSince, installCallCounter, snapshot } from './calls.js';
import { runEndToEnd } from './end-to-end.js';
import { deliveryRequest, removalEvent, timedAck } from './okta.js';
import { timedGraphAck } from './graph.js';
import { measurePutThroughput, timedGraphBatchStore, timedOktaBatchStore, timedPut } from './put-item.js';
import { interleavedSamples, round2, summarize, type LatencySummary } from './stats.js';
import { prepareTable } from './table.js';

export type DynamoBenchOptions = {
  endpoint: string;
  users: number;
  endToEndEvents: number;
  concurrency: number;
  /** Sequential samples of a bare put and of a single-event ack, interleaved. */
  sequential: { warmup: number; samples: number };
  throughputPuts: number;
  batchAck: { batchSize: number; warmup: number; samples: number };
  graphBatchAck: { batchSize: number; warmup: number; samples: number };
};

/** How many times its floor a measure is, at p50 and p99. */
const ratios = (measure: LatencySummary, floor: LatencySummary) => ({ p50: round2(measure.p50Ms / floor.p50Ms), p99: round2(measure.p99Ms / floor.p99Ms) });

const ackOfEvents = (count: number) => () => timedAck(deliveryRequest(Array.from({ length: count }, () => removalEvent())));

/** DynamoDB commands of one warm single-event ack: the connection is cached, so only the inbox put should remain. */
async function warmSingleAckCalls(): Promise<number> {
  const before = snapshot();
  await ackOfEvents(1)();
  return callsSince(before, 'ack').total;
}

export async function runDynamoBenchmarks(options: DynamoBenchOptions, log: (message: string) => void) {
  installCallCounter();
  if (options.users < options.endToEndEvents) throw new Error('need at least one seeded user per end-to-end event');

  log(`creating the table and seeding ${options.users} users`);
  const table = await prepareTable(options.users);
  log(`seeded ${table.items} items`);

  const { warmup, samples } = options.sequential;
  log(`putItem and oktaAck: ${samples} sequential samples each, interleaved`);
  const [putDurations, ackDurations] = await interleavedSamples(warmup, samples, timedPut, ackOfEvents(1));
  log(`putItem: ${options.throughputPuts} puts at concurrency ${options.concurrency}`);
  const putThroughput = await measurePutThroughput({ throughputPuts: options.throughputPuts, concurrency: options.concurrency });
  const putItem = { ...summarize(putDurations), ...putThroughput };
  const oktaAck = summarize(ackDurations);
  const warmSingleAck = await warmSingleAckCalls();

  // Batches: each delivery interleaved with its floor, the bare transaction of the same conditional puts.
  const { batchSize } = options.batchAck;
  log(`oktaBatchAck: ${options.batchAck.samples} deliveries of ${batchSize} events, interleaved with their bare transaction`);
  const [batchFloorDurations, batchDurations] = await interleavedSamples(
    options.batchAck.warmup,
    options.batchAck.samples,
    () => timedOktaBatchStore(batchSize),
    ackOfEvents(batchSize),
  );
  const batchStoreFloor = { batchSize, ...summarize(batchFloorDurations) };
  const oktaBatchAck = { batchSize, ...summarize(batchDurations), overFloor: ratios(summarize(batchDurations), batchStoreFloor) };

  // Graph: the same floor; single deliveries interleaved with bare puts, as for Okta.
  log(`graphAck: ${samples} sequential samples, interleaved with puts`);
  const [graphPutDurations, graphAckDurations] = await interleavedSamples(warmup, samples, timedPut, () => timedGraphAck(1));
  const graphAck = { ...summarize(graphAckDurations), putItemAlongside: summarize(graphPutDurations) };
  const graphBatchSize = options.graphBatchAck.batchSize;
  log(`graphBatchAck: ${options.graphBatchAck.samples} deliveries of ${graphBatchSize} notifications, interleaved with their bare transaction`);
  const [graphFloorDurations, graphBatchDurations] = await interleavedSamples(
    options.graphBatchAck.warmup,
    options.graphBatchAck.samples,
    () => timedGraphBatchStore(graphBatchSize),
    () => timedGraphAck(graphBatchSize),
  );
  const graphBatchStoreFloor = { batchSize: graphBatchSize, ...summarize(graphFloorDurations) };
  const graphBatchAck = {
    batchSize: graphBatchSize,
    ...summarize(graphBatchDurations),
    overFloor: ratios(summarize(graphBatchDurations), graphBatchStoreFloor),
  };

  log(`endToEnd: ${options.endToEndEvents} group removals at concurrency ${options.concurrency}, stream running`);
  const endToEnd = await runEndToEnd({
    streamArn: table.streamArn,
    endpoint: options.endpoint,
    emails: table.emails.slice(0, options.endToEndEvents),
    concurrency: options.concurrency,
  });

  const { calls, ...endToEndResult } = endToEnd;
  return {
    putItem,
    oktaAck,
    batchStoreFloor,
    oktaBatchAck,
    graphAck,
    graphBatchStoreFloor,
    graphBatchAck,
    endToEnd: endToEndResult,
    dynamoCallsPerEvent: round2(calls.total / endToEnd.events),
    dynamoCalls: { ...calls, warmSingleAck },
  };
}
