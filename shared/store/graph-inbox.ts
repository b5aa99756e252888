/**
 * Graph notifications in the inbox: the same table, key scheme and outcome updates as Okta
 * events (inbox.ts), with `source: "graph"`, so the stream hands them to process-graph-events.
 * Only what processing needs is kept: never the clientState or the raw payload.
 */
import * as z from 'zod/mini';
import { graphEventType, graphRecordId, isStateBasedHint, type GraphRecord } from '../domain/graph-notifications.js';
import { ENTITY, keys, TTL_ATTRIBUTE } from './keys.js';
import { storeNewInboxItems, type StoreCounts } from './inbox.js';

export const graphInboxEventSchema = z.object({
  entity: z.literal(ENTITY.inboxEvent),
  source: z.literal('graph'),
  connectionId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  /** IdP time of the change when Graph gives one, else when it reached us. */
  published: z.string(),
  receivedAt: z.string(),
  record: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('change'),
      subscriptionId: z.string(),
      changeType: z.string(),
      resourceType: z.enum(['users', 'groups']),
      resourceId: z.string(),
      removedMembers: z.optional(z.array(z.string())),
      addedMembers: z.optional(z.array(z.string())),
      eventTime: z.optional(z.string()),
    }),
    z.object({ kind: z.literal('lifecycle'), subscriptionId: z.string(), lifecycleEvent: z.string() }),
    // Enqueued by the schedule or the command line rather than by Graph.
    z.object({ kind: z.literal('reconcile'), trigger: z.string() }),
  ]),
  status: z.enum(['pending', 'applied', 'skipped', 'stale', 'invalid', 'failed']),
  detail: z.optional(z.string()),
  attempts: z._default(z.number(), 0),
});

export type GraphInboxEvent = z.infer<typeof graphInboxEventSchema>;
export type GraphInboxRecord = GraphInboxEvent['record'];

function eventTimeOf(record: GraphInboxRecord, receivedAt: Date): string {
  const eventTime = record.kind === 'change' && record.eventTime ? Date.parse(record.eventTime) : NaN;
  // An event time in the future would make the event win over every later change: cap it.
  return new Date(Number.isNaN(eventTime) ? receivedAt.getTime() : Math.min(eventTime, receivedAt.getTime())).toISOString();
}

export function graphInboxItem(connectionId: string, eventId: string, eventType: string, record: GraphInboxRecord, receivedAt: Date, retentionDays: number) {
  return {
    ...keys.inboxEvent(connectionId, eventId),
    entity: ENTITY.inboxEvent,
    source: 'graph',
    connectionId,
    eventId,
    eventType,
    published: eventTimeOf(record, receivedAt),
    receivedAt: receivedAt.toISOString(),
    record,
    status: 'pending',
    attempts: 0,
    [TTL_ATTRIBUTE]: Math.floor(receivedAt.getTime() / 1000) + retentionDays * 86_400,
  };
}

/** Stores verified notifications under their hash: once each, except state-based hints, which are re-armed (isStateBasedHint). */
export function storeGraphRecords(input: {
  connectionId: string;
  records: GraphRecord[];
  receivedAt: Date;
  retentionDays: number;
}): Promise<StoreCounts> {
  return storeNewInboxItems(
    input.records.map((record) => ({
      ...graphInboxItem(input.connectionId, graphRecordId(record, input.receivedAt), graphEventType(record), record, input.receivedAt, input.retentionDays),
      rearm: isStateBasedHint(record),
    })),
  );
}

/**
 * Queues a reconciliation of one connection as an inbox event, so it gets the stream's retries
 * and dead-letter queue. One per connection, trigger and minute: a repeated schedule run is one.
 */
export async function storeReconcileRequest(input: {
  connectionId: string;
  trigger: string;
  receivedAt: Date;
  retentionDays: number;
}): Promise<StoreCounts & { eventId: string }> {
  const minute = input.receivedAt.toISOString().slice(0, 16).replace(/[-:]/g, '');
  const eventId = `reconcile-${input.trigger}-${minute}`;
  const counts = await storeNewInboxItems([
    graphInboxItem(input.connectionId, eventId, 'reconcile', { kind: 'reconcile', trigger: input.trigger }, input.receivedAt, input.retentionDays),
  ]);
  return { ...counts, eventId };
}
