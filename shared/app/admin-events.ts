/**
 * The admin API's events: the ones a person should look at (failed, invalid, stale, skipped), by
 * status and connection with cursor pagination; one event's outcome, attempts and revocation; and
 * a replay through the normal processor, of one event or in bulk.
 */
import { isDeepStrictEqual } from 'node:util';
import * as z from 'zod/mini';
import { ConfigError, config } from '../config.js';
import { ConflictError, NotFoundError, ValidationError } from '../http/errors.js';
import { logger } from '../logger.js';
import { eventsByStatus, getEventItem, markForReplay, rearmPendingEvent } from '../store/admin-directory.js';
import { deleteDeadLetters, receiveDeadLetters, releaseDeadLetters, type StreamBatchRecord } from '../store/dead-letter-queue.js';
import { inboxEventsInRange, mergedRanges, type RangeEvent } from '../store/stream-batches.js';
import { getItemsByKey } from '../store/directory.js';

export const LISTED_STATUSES = ['failed', 'invalid', 'stale', 'skipped'] as const;
const connectionIdSchema = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/));
export const listQuerySchema = z.object({
  status: z._default(z.enum(LISTED_STATUSES), 'failed'),
  connectionId: z.optional(connectionIdSchema),
  type: z.optional(z.string().check(z.maxLength(128))),
  cursor: z.optional(z.string().check(z.maxLength(2048))),
  limit: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)), 25),
});

/** An inbox item as a person reads it: no keys, no retention attribute. */
export function eventView(item: Record<string, unknown>) {
  const { pk: _pk, sk: _sk, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, entity: _entity, expiresAt: _expiresAt, ...event } = item;
  return event;
}

function decodeCursor(cursor: string | undefined): Record<string, unknown> | undefined {
  if (!cursor) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ValidationError('cursor: not a cursor this API returned');
}

export async function listEvents(query: Record<string, string | undefined>) {
  const parsed = listQuerySchema.safeParse(query);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`${issue?.path.join('.') ?? 'query'}: ${issue?.message ?? 'invalid'}; status is one of ${LISTED_STATUSES.join(', ')} (applied events are in the accounts' audit trails)`);
  }
  const { status, connectionId, type, cursor, limit } = parsed.data;
  const page = await eventsByStatus({ status, connectionId, cursor: decodeCursor(cursor), limit });
  const events = page.items.map(eventView).filter((event) => !type || event.eventType === type);
  return { events, ...(page.next ? { cursor: Buffer.from(JSON.stringify(page.next)).toString('base64url') } : {}) };
}

export async function getEvent(connectionId: string, eventId: string) {
  const item = await getEventItem(connectionId, eventId);
  if (!item) throw new NotFoundError(`no event ${eventId} of connection ${connectionId}`);
  return eventView(item);
}

/** Hands the event to its processor again; processing is idempotent, so what it did once is not done twice. */
export async function replayEvent(connectionId: string, eventId: string) {
  await getEvent(connectionId, eventId);
  if (!(await markForReplay(connectionId, eventId))) throw new ConflictError('the event is pending already');
  return { connectionId, eventId, status: 'pending' };
}

/** The body of POST /admin/events/replay: every failed event of one connection, or whatever the dead-letter queue holds. */
export const replayRequestSchema = z.union([
  z.strictObject({ connectionId: connectionIdSchema, status: z.literal('failed') }),
  z.strictObject({ source: z.literal('dead-letter-queue') }),
]);

/** Per request, so one call stays well inside API Gateway's 30-second limit; `more` says to call again. */
const MAX_EVENTS_PER_REPLAY = 500;
/** Ten messages (one receive): each names up to 25 events to read back and re-arm, within one call's time. */
const MAX_DEAD_LETTERS_PER_REPLAY = 10;
/** A taken message is hidden this long: past the call's 30 s, so one whose call failed comes back soon. */
const DEAD_LETTER_VISIBILITY_SECONDS = 60;
const PARALLEL_REPLAYS = 10;
const PARALLEL_REARMS = 25;

type ReplayCounts = { replayed: number; alreadyPending: number; more: boolean };

/**
 * Puts the failed events (of one connection, or of all) back to pending, paging the status
 * index. A replayed event leaves the index, so a second call goes on where this one stopped.
 */
async function replayFailedEvents(connectionId: string | undefined): Promise<ReplayCounts> {
  const counts: ReplayCounts = { replayed: 0, alreadyPending: 0, more: false };
  let cursor: Record<string, unknown> | undefined;
  do {
    const room = MAX_EVENTS_PER_REPLAY - counts.replayed - counts.alreadyPending;
    if (room <= 0) return { ...counts, more: true };
    const page = await eventsByStatus({ status: 'failed', connectionId, cursor, limit: Math.min(100, room) });
    for (let start = 0; start < page.items.length; start += PARALLEL_REPLAYS) {
      const outcomes = await Promise.all(
        page.items.slice(start, start + PARALLEL_REPLAYS).map((item) => markForReplay(String(item.connectionId), String(item.eventId))),
      );
      for (const replayed of outcomes) counts[replayed ? 'replayed' : 'alreadyPending'] += 1;
    }
    cursor = page.next;
  } while (cursor);
  return counts;
}

/** Time one call gives to reading the dead-lettered batches back from the stream and re-arming their events (API Gateway allows 30 s in all). */
const STREAM_READ_BUDGET_MS = 15_000;

type ReceivedBatch = { receiptHandle: string; batch: StreamBatchRecord };

/**
 * The events of the dead-lettered batches that are still `pending`, read back from the stream
 * (it keeps records 24 hours; overlapping batches of a shard are read once), put back to their
 * processor. An event is re-armed only while its record in the range is still the last thing
 * written to it: any later write that left it pending (a re-arm by an earlier call, Graph storing
 * it again) made a newer stream record, which the processor gets or which is dead-lettered in
 * its own batch. So however many calls and overlapping batches name an event, it is re-armed
 * once per dead-lettered record, and events of other instances' batches that the range covers
 * are not re-armed again and again while they wait their turn. `expired`: batches the stream no
 * longer holds; `unread`: those this call had no time left for, or whose range held an event that
 * could not be re-armed (their messages go back).
 */
async function rearmBatches(received: ReceivedBatch[]): Promise<{ rearmed: number; expired: number; unread: ReceivedBatch[] }> {
  const deadline = Date.now() + STREAM_READ_BUDGET_MS;
  const found = new Map<string, RangeEvent & { range: ReceivedBatch[] }>();
  let expired = 0;
  const unread = new Set<ReceivedBatch>();
  const ranges = mergedRanges(received.map((letter) => ({ ...letter.batch, letter })));
  for (const range of ranges) {
    const letters = range.batches.map((batch) => batch.letter);
    const events = Date.now() > deadline ? 'unfinished' : await inboxEventsInRange(range, deadline);
    if (events === 'unfinished') for (const letter of letters) unread.add(letter);
    else if (events === 'gone') expired += letters.length;
    else for (const event of events) found.set(`${event.key.pk}|${event.key.sk}`, { ...event, range: letters });
  }
  // Most of a range's events were processed long ago: one batched read finds those still pending as the range left them.
  const current = await getItemsByKey([...found.values()].map((event) => event.key), true);
  const toRearm = current.flatMap((item) => {
    const event = found.get(`${String(item.pk)}|${String(item.sk)}`);
    return event && item.status === 'pending' && isDeepStrictEqual(item, event.image) ? [event] : [];
  });
  let rearmed = 0;
  let failed = 0;
  for (let start = 0; start < toRearm.length; start += PARALLEL_REARMS) {
    // Out of time: every batch goes back to the queue; re-arming again later is harmless (processing is idempotent).
    if (Date.now() > deadline) return { rearmed, expired, unread: received };
    const slice = toRearm.slice(start, start + PARALLEL_REARMS);
    const outcomes = await Promise.allSettled(slice.map((event) => rearmPendingEvent(event.key)));
    outcomes.forEach((outcome, index) => {
      if (outcome.status === 'fulfilled') rearmed += outcome.value ? 1 : 0;
      else {
        failed += 1;
        for (const letter of slice[index]?.range ?? []) unread.add(letter);
      }
    });
  }
  // One write that failed (after the SDK's retries) must not cost the others: the batches of its
  // range go back to the queue and the next call re-arms what is still pending; the answer says `more`.
  if (failed > 0) logger.warn('some pending events of dead-lettered batches could not be re-armed; their messages go back to the queue', { count: failed });
  return { rearmed, expired, unread: [...unread] };
}

/**
 * Lambda's on-failure record names a stream batch (shard and sequence numbers), not the items
 * in it. Two cases: an attempt that ran and failed left its inbox event `failed` (the status
 * index finds it); an attempt that never got that far (a timeout, a crash, the failure's own
 * write failing) left it `pending`, and only the stream says which events those are. So: take
 * the messages first; read each batch's records back from the stream and re-arm its events still
 * pending; put every failed event back to pending; only then delete the messages — a message is
 * never deleted before the events it stands for are pending again. A batch older than the
 * stream's 24 hours is deleted after the failed events are replayed (its pending events, if
 * any, wait for reconciliation). When this call could not do it all, `more` says to call again.
 */
async function replayDeadLetters(queueUrl: string) {
  const letters = await receiveDeadLetters(queueUrl, MAX_DEAD_LETTERS_PER_REPLAY, DEAD_LETTER_VISIBILITY_SECONDS);
  const batches = letters.flatMap((letter) => (letter.batch ? [{ receiptHandle: letter.receiptHandle, batch: letter.batch }] : []));
  const { rearmed, expired, unread } = await rearmBatches(batches);
  const counts = await replayFailedEvents(undefined);
  const unreadHandles = new Set(unread.map((letter) => letter.receiptHandle));
  const done = batches.filter((letter) => !unreadHandles.has(letter.receiptHandle)).map((letter) => letter.receiptHandle);
  const deleted = counts.more ? 0 : await deleteDeadLetters(queueUrl, done);
  // What this call had no time to read goes back to the queue now, for the next call.
  if (unread.length > 0) await releaseDeadLetters(queueUrl, [...unreadHandles]).catch((error) => logger.warn('could not release dead-letter messages; they come back after their visibility timeout', { error: error as Error }));
  if (batches.length < letters.length) logger.warn('dead-letter messages that are not stream batch records were left in the queue', { count: letters.length - batches.length });
  if (expired > 0) logger.warn('dead-lettered batches no longer in the stream: only their failed events could be replayed', { count: expired });
  const more = counts.more || unread.length > 0 || letters.length >= MAX_DEAD_LETTERS_PER_REPLAY;
  return { source: 'dead-letter-queue', messages: letters.length, deleted, unrecognised: letters.length - batches.length, expired, rearmed, ...counts, more };
}

/** POST /admin/events/replay: replays in bulk and answers with counts. */
export async function replayEvents(body: unknown) {
  const parsed = replayRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new ValidationError('give {"connectionId": "...", "status": "failed"} or {"source": "dead-letter-queue"}');
  }
  const request = parsed.data;
  if ('source' in request) {
    const queueUrl = config().deadLetterQueueUrl;
    if (!queueUrl) throw new ConfigError('DEAD_LETTER_QUEUE_URL is required to replay the dead-letter queue');
    return replayDeadLetters(queueUrl);
  }
  return { connectionId: request.connectionId, status: 'failed', ...(await replayFailedEvents(request.connectionId)) };
}
