/**
 * Issue 12, part 3: fuzzing the two stream processors (process-okta-events, process-graph-events)
 * directly, with batches of DynamoDB stream records whose images are inbox items gone wrong: valid
 * items mutated (wrong types, missing and extra fields, unknown event types and kinds, huge
 * strings, deep nesting, `__proto__`), items claiming other or unknown connections, records that
 * are not INSERTs or carry no image, and images that are not DynamoDB's shape at all. Each image
 * that DynamoDB can store is stored first (as a writer would have), so the processor finds its item.
 *
 * What each batch must give:
 * - never an unhandled rejection; the handler answers a partial batch response, or rejects with
 *   powertools' FullBatchFailureError (every record failed: the stream retries the batch) and
 *   nothing else;
 * - no silent drop: every record whose item is stored (under the key of its connection and event
 *   id, as every real one is) is either reported in batchItemFailures (the stream retries it, then
 *   dead-letters it) or has an outcome recorded on that item (status no longer pending);
 * A quarter of the batches have every write naming one record's item fail (its outcome cannot be
 * recorded): that record must then be reported failed.
 * - nothing applied to another connection: every item the batch added or changed (writes recorded
 *   by test/helpers/write-watch.ts) belongs to a connection some record of the batch names, and a
 *   membership or audit entry only to an account such a connection serves.
 * A case is one batch of 1 to 4 records. `npm run fuzz` makes 2,000 batches per processor, not
 * 10,000: a batch costs about 100 ms here (the processors' real work: lookups, commits, outcome
 * writes), and the 10,000 per route is for the HTTP routes and the Cognito triggers.
 */
import fc from 'fast-check';
import { marshall } from '@aws-sdk/util-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { handler as processOktaEvents } from '../../functions/process-okta-events.js';
import { handler as processGraphEvents } from '../../functions/process-graph-events.js';
import { lambdaContext } from '../../scripts/lib/local-stream.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { inboxItem } from '../../shared/store/inbox.js';
import { keys } from '../../shared/store/keys.js';
import { graphInboxItem, type GraphInboxRecord } from '../../shared/store/graph-inbox.js';
import { toOktaEventRecord } from '../../shared/domain/okta-events.js';
import { createSeededTable, testSeed } from '../helpers/stack.js';
import { oktaLogEvent, withGroup, withUser } from '../helpers/fixtures.js';
import { mutated } from '../helpers/fuzz-bodies.js';
import { countCase, fuzzRuns, reportFuzzTally } from '../helpers/fuzz.js';
import { failOnUnhandledRejections, fuzzTimeout } from '../helpers/fuzz-http.js';
import { WriteWatch } from '../helpers/write-watch.js';
import { clearFaults, failWhenMentioning } from '../helpers/faults.js';

const WRITE_COMMANDS = ['TransactWriteCommand', 'TransactWriteItemsCommand', 'UpdateCommand', 'UpdateItemCommand', 'PutCommand', 'PutItemCommand'];

/** Batches per processor in the full run (scripts/fuzz.ts expects as many). */
const STREAM_BATCHES = 2_000;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Item = Record<string, unknown>;

let watch: WriteWatch;
beforeAll(async () => {
  await createSeededTable();
  watch = await WriteWatch.start();
});
failOnUnhandledRejections();
reportFuzzTally('fuzz-stream-processors');

/** The accounts each connection serves, from the seed. */
const accountsOf = (connectionIds: Set<string>) =>
  new Set(testSeed.accounts.filter((account) => account.ssoConfig.providers.some((provider) => connectionIds.has(provider.connectionId))).map((account) => account.id));

const OKTA_CONNECTIONS = ['okta-a', 'okta-a', 'okta-b', 'okta-c', 'entra-a', 'no-such-connection'];
const PEOPLE = ['alex.doe@example.com', 'riley.chen@example.com', 'ALEX.DOE@example.com', 'stranger@example.com'];

function validOktaItem(): Json {
  const pick = <T>(values: T[]) => values[Math.floor(Math.random() * values.length)] as T;
  const kinds = [
    () => withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), pick(PEOPLE)), pick(['Finance-Approvers', 'Payroll-Admins', 'Everyone'])),
    () => withUser(oktaLogEvent('okta-user-deactivate.json'), pick(PEOPLE)),
    () => ({ ...withUser(oktaLogEvent('okta-user-deactivate.json'), pick(PEOPLE)), eventType: pick(['user.session.start', 'user.lifecycle.suspend', 'user.lifecycle.delete.initiated', 'group.user_membership.add']) }),
  ];
  const event = { ...pick(kinds)(), uuid: crypto.randomUUID() };
  const item = inboxItem({ connectionId: pick(OKTA_CONNECTIONS), deliveryId: crypto.randomUUID(), receivedAt: new Date(), retentionDays: 1 }, toOktaEventRecord(event as never, new Date()));
  return JSON.parse(JSON.stringify(item)) as Json;
}

const SUBSCRIPTIONS = ['00000000-0000-4000-8000-0000000d5001', '00000000-0000-4000-8000-0000000d5002', '00000000-0000-4000-8000-0000000e5001', 'no-such-subscription'];
const GRAPH_CONNECTIONS = ['entra-a', 'entra-a', 'entra-b', 'okta-a', 'no-such-connection'];

function validGraphItem(): Json {
  const pick = <T>(values: T[]) => values[Math.floor(Math.random() * values.length)] as T;
  const userId = `00000000-0000-4000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
  const records: (() => [string, GraphInboxRecord])[] = [
    () => ['users.deleted', { kind: 'change', subscriptionId: pick(SUBSCRIPTIONS), changeType: 'deleted', resourceType: 'users', resourceId: userId }],
    () => ['users.updated', { kind: 'change', subscriptionId: pick(SUBSCRIPTIONS), changeType: 'updated', resourceType: 'users', resourceId: userId, eventTime: new Date().toISOString() }],
    () => ['groups.updated', { kind: 'change', subscriptionId: pick(SUBSCRIPTIONS), changeType: 'updated', resourceType: 'groups', resourceId: '00000000-0000-4000-8000-0000000d2001', removedMembers: [userId] }],
    () => ['lifecycle.subscriptionRemoved', { kind: 'lifecycle', subscriptionId: pick(SUBSCRIPTIONS), lifecycleEvent: pick(['subscriptionRemoved', 'unknownEvent']) }],
  ];
  const [eventType, record] = pick(records)();
  return JSON.parse(JSON.stringify(graphInboxItem(pick(GRAPH_CONNECTIONS), crypto.randomUUID(), eventType, record, new Date(), 1))) as Json;
}

let sequence = 0;

type Envelope = 'insert' | 'modify' | 'remove' | 'no image' | 'not marshalled' | 'bad attribute';

/** A stream record of `image` as Lambda hands it over, with an odd envelope now and then. */
function streamRecord(image: Json, envelope: Envelope): DynamoDBRecord {
  sequence += 1;
  let newImage: Record<string, AttributeValue> | undefined;
  try {
    newImage = image && typeof image === 'object' && !Array.isArray(image) ? (marshall(image, { removeUndefinedValues: true }) as Record<string, AttributeValue>) : undefined;
  } catch {
    newImage = undefined;
  }
  if (envelope === 'not marshalled') newImage = image as never;
  if (envelope === 'bad attribute') newImage = { ...(newImage ?? {}), targets: { Z: 'not a type' } as never, attempts: { N: 'not a number' } };
  if (envelope === 'no image') newImage = undefined;
  const item = image && typeof image === 'object' && !Array.isArray(image) ? (image as Item) : {};
  return {
    eventID: `fuzz-${sequence}`,
    eventName: envelope === 'modify' ? 'MODIFY' : envelope === 'remove' ? 'REMOVE' : 'INSERT',
    eventSource: 'aws:dynamodb',
    eventSourceARN: 'arn:aws:dynamodb:local:000000000000:table/test/stream/local',
    dynamodb: {
      Keys: typeof item.pk === 'string' && typeof item.sk === 'string' ? { pk: { S: item.pk }, sk: { S: item.sk } } : undefined,
      ...(newImage ? { NewImage: newImage } : {}),
      SequenceNumber: String(sequence).padStart(21, '0'),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  } as DynamoDBRecord;
}

const envelope = fc.constantFrom<Envelope>('insert', 'insert', 'insert', 'insert', 'insert', 'insert', 'insert', 'insert', 'modify', 'remove', 'no image', 'not marshalled', 'bad attribute');

/** One record: a valid item (a quarter of them) or a mutated one, in an envelope. */
const recordOf = (valid: () => Json) =>
  fc.tuple(fc.oneof({ weight: 1, arbitrary: fc.constant(null).map(() => valid()) }, { weight: 3, arbitrary: mutated(valid).map(({ document }) => document) }), envelope);

/** Stores the image the way a writer would have (when DynamoDB takes it); false when it does not. */
async function store(image: Json): Promise<boolean> {
  if (!image || typeof image !== 'object' || Array.isArray(image) || typeof image.pk !== 'string' || typeof image.sk !== 'string') return false;
  try {
    await documentClient.send(new PutCommand({ TableName: tableName, Item: image as Item }));
    return true;
  } catch {
    return false;
  }
}

/**
 * Now and then, the batch's items of other connections take the first item's event id (Okta's
 * uuids are the sender's to choose; two connections' events may share one), keyed as the store keys them.
 */
function sharingEventIds(images: Json[], share: boolean): Json[] {
  const first = images[0] as Item | null;
  if (!share || !first || typeof first !== 'object' || typeof first.eventId !== 'string') return images;
  return images.map((image, index) => {
    const item = image as Item | null;
    if (index === 0 || !item || typeof item !== 'object' || typeof item.connectionId !== 'string' || item.connectionId === first.connectionId) return image;
    return { ...item, eventId: first.eventId, pk: `EVENT#${item.connectionId}#${String(first.eventId)}` } as Json;
  });
}

const keyOf = (item: Item) => JSON.stringify([item.pk, item.sk]);

describe.each([
  { processor: 'process-okta-events', handler: processOktaEvents, valid: validOktaItem },
  { processor: 'process-graph-events', handler: processGraphEvents, valid: validGraphItem },
])('$processor, fuzzed with odd stream records', ({ processor, handler, valid }) => {
  it('never an unhandled rejection; every record is reported failed or has an outcome; nothing applied to another connection', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(recordOf(valid), { minLength: 1, maxLength: 4 }), fc.boolean(), fc.option(fc.nat(3), { freq: 3 }), async (generated, share, faulty) => {
        countCase(`stream ${processor}`);
        const images = sharingEventIds(generated.map(([image]) => image), share);
        const records = generated.map(([, kind], index) => ({ image: images[index] as Json, kind, record: streamRecord(images[index] as Json, kind) }));
        const stored = new Map<string, boolean>();
        let answer: { batchItemFailures: { itemIdentifier: string }[] } | undefined;
        let fullFailure = false;
        const { added, changed } = await watch.around(async () => {
          for (const { image } of records) stored.set(JSON.stringify(image), await store(image));
          // Now and then, every write naming one record's item fails (storage trouble on its outcome).
          const faultyItem = faulty === null ? undefined : (records[faulty % records.length]?.image as Item | null);
          if (faultyItem && typeof faultyItem.pk === 'string') failWhenMentioning(WRITE_COMMANDS, faultyItem.pk);
          try {
            answer = (await handler({ Records: records.map(({ record }) => record) } as DynamoDBStreamEvent, lambdaContext(processor))) as typeof answer;
          } catch (error) {
            expect((error as Error).name, `the handler rejected with ${String(error)}`).toBe('FullBatchFailureError');
            fullFailure = true;
          } finally {
            clearFaults();
          }
        });
        const described = records.map(({ image, kind }) => `${kind}: ${JSON.stringify(image)?.slice(0, 300)}`).join('\n');
        if (!fullFailure) expect(answer, described).toMatchObject({ batchItemFailures: expect.any(Array) });
        const failed = new Set((answer?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));

        // No silent drop: a record not reported failed has its outcome on its stored item. Only for a
        // record whose item exists under the key the processors derive (connection and event id):
        // every real stream record; an item that is gone is left alone on purpose (outcomeUpdate
        // never resurrects one TTL removed).
        for (const { image, record } of records) {
          if (fullFailure || failed.has(record.dynamodb?.SequenceNumber ?? '')) continue;
          const item = image as Item;
          const ownKey = typeof item.connectionId === 'string' && typeof item.eventId === 'string' ? keys.inboxEvent(item.connectionId, item.eventId) : undefined;
          if (!stored.get(JSON.stringify(image)) || item.pk !== ownKey?.pk || item.sk !== ownKey?.sk) continue;
          // Read here, not taken from the case's changes: a shrinking fast-check replays a case, and its item may read as before.
          const { Item: storedItem } = await documentClient.send(new GetCommand({ TableName: tableName, Key: ownKey, ConsistentRead: true }));
          expect(storedItem?.status, `${processor} reported success for a record without recording an outcome:\n${described}`).toMatch(/^(applied|skipped|stale|invalid|failed)$/);
        }

        // Nothing applied to another connection.
        const named = new Set(records.map(({ image }) => (image as Item | null)?.connectionId).filter((id): id is string => typeof id === 'string'));
        const served = accountsOf(named);
        // The records' own items, stored above as their writer would have: checked for outcomes, not here.
        const setup = new Set(records.filter(({ image }) => stored.get(JSON.stringify(image))).map(({ image }) => keyOf(image as Item)));
        for (const item of [...added, ...changed.flatMap(({ before, after: now }) => (now ? [before, now] : [before]))]) {
          if (setup.has(keyOf(item))) continue;
          if (typeof item.connectionId === 'string') expect(named.has(item.connectionId), `wrote ${JSON.stringify(item).slice(0, 300)} for a connection no record names:\n${described}`).toBe(true);
          if ((item.entity === 'Membership' || item.entity === 'Audit') && typeof item.accountId === 'string') {
            expect(served.has(item.accountId), `wrote ${JSON.stringify(item).slice(0, 300)} in an account no named connection serves:\n${described}`).toBe(true);
          }
        }
      }),
      { numRuns: fuzzRuns(10, STREAM_BATCHES) },
    );
    await watch.expectTableMatchesModel();
  }, fuzzTimeout(fuzzRuns(10, STREAM_BATCHES), 2_000));
});
