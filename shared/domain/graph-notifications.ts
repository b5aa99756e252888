/**
 * Microsoft Graph change and lifecycle notifications: the wire shape, the checks each one must
 * pass before it is stored, and the record we keep of it. Pure: no AWS, no Graph calls.
 *
 * One POST may carry notifications for several subscriptions, so every item is checked on its
 * own (subscription held by this connection, clientState, tenant) and only those that pass are
 * kept. Graph notifications carry no id: the record's id is a hash of what it says (rule 2).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { matchesAnyHookSecret } from './hook-secrets.js';

/** A validation token is a short sentence; anything much longer is not Graph. */
export const MAX_VALIDATION_TOKEN_LENGTH = 1024;

const MAX_NOTIFICATIONS_PER_DELIVERY = 1000;

/**
 * What a Graph notification may hold, in one place. Object, subscription and tenant ids are GUIDs
 * in Graph; the other strings are short names. A notification over a bound is rejected like any
 * malformed one (it cannot be verified before it is read, so nothing of it is stored).
 */
export const GRAPH_BOUNDS = {
  /** Graph documents clientState as at most 128 characters; some room for other senders. */
  clientStateLength: 255,
  /** changeType (created, updated, deleted) and lifecycleEvent names. */
  nameLength: 64,
  /** `users/{id}` or `groups/{id}`; subscriptions on other resources are not ours. */
  resourceLength: 512,
  /** An ISO 8601 time. */
  eventTimeLength: 64,
  /**
   * Removed members kept from `members@delta`. A longer list (or one with an entry that is not a
   * GUID) is not kept: the notification is then processed as a group change without a member
   * list, which checks every linked member of the group against Graph, so no removal is missed.
   * 1,000 GUIDs are about 40 KB of the 400 KB an item may hold.
   */
  removedMembers: 1000,
  /**
   * Added members kept from `members@delta` (candidates for a restore, each confirmed with
   * Graph). A longer list is not kept: those members get access back at their next sign-in
   * (the directory check) instead.
   */
  addedMembers: 1000,
} as const;

/** Graph object, subscription and tenant ids: GUIDs, in any case. */
const GUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const GUID = new RegExp(`^${GUID_PATTERN}$`, 'i');
const guid = () => z.string().check(z.regex(GUID, 'expected a GUID'));
const bounded = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

const memberDeltaSchema = z.object({
  // Its bound (a GUID) is checked with the list's (membersOf), not here.
  id: z.string().check(z.minLength(1)),
  // "deleted" in change notifications, {"reason": "deleted"} in delta query answers.
  '@removed': z.optional(z.unknown()),
});

const changeNotificationSchema = z.object({
  subscriptionId: guid(),
  clientState: z.optional(z.string().check(z.maxLength(GRAPH_BOUNDS.clientStateLength))),
  changeType: bounded(GRAPH_BOUNDS.nameLength),
  resource: bounded(GRAPH_BOUNDS.resourceLength),
  tenantId: guid(),
  resourceData: z.object({
    id: guid(),
    organizationId: z.optional(guid()),
    eventTime: z.optional(z.string().check(z.maxLength(GRAPH_BOUNDS.eventTimeLength))),
    'members@delta': z.optional(z.array(memberDeltaSchema)),
  }),
});

const lifecycleNotificationSchema = z.object({
  subscriptionId: guid(),
  clientState: z.optional(z.string().check(z.maxLength(GRAPH_BOUNDS.clientStateLength))),
  tenantId: guid(),
  lifecycleEvent: bounded(GRAPH_BOUNDS.nameLength),
});

/** The envelope: `{"value": [...]}`. Items are checked one by one afterwards. */
export const graphDeliverySchema = z.object({
  value: z.array(z.unknown()).check(z.minLength(1), z.maxLength(MAX_NOTIFICATIONS_PER_DELIVERY)),
});

export type NotificationKind = 'change' | 'lifecycle';

export type GraphChangeRecord = {
  kind: 'change';
  subscriptionId: string;
  changeType: string;
  resourceType: 'users' | 'groups';
  /** The user's or group's object id, lowercased. */
  resourceId: string;
  /** Object ids listed as removed in `members@delta`; absent when Graph sent no delta. */
  removedMembers?: string[];
  /** Object ids listed as added in `members@delta` (a re-add may give back what a removal took). */
  addedMembers?: string[];
  eventTime?: string;
};

export type GraphLifecycleRecord = {
  kind: 'lifecycle';
  subscriptionId: string;
  lifecycleEvent: string;
};

export type GraphRecord = GraphChangeRecord | GraphLifecycleRecord;

/** What the checks need to know about the connection the URL names. */
export type GraphReceiver = {
  tenantId: string;
  subscriptions: readonly { subscriptionId: string; resource: string; clientStateHashes: readonly string[] }[];
};

export type Rejection = { index: number; reason: 'malformed' | 'unknown subscription' | 'clientState mismatch' | 'wrong tenant' | 'resource mismatch' };

export type CheckedDelivery = { records: GraphRecord[]; rejected: Rejection[] };

const RESOURCE_PATTERN = new RegExp(`^(users|groups)/(${GUID_PATTERN})$`, 'i');

function parseResource(resource: string): { resourceType: 'users' | 'groups'; resourceId: string } | undefined {
  const match = RESOURCE_PATTERN.exec(resource);
  if (!match) return undefined;
  return { resourceType: match[1]!.toLowerCase() as 'users' | 'groups', resourceId: match[2]!.toLowerCase() };
}

/** The subscription a "users" notification comes from watches "users"; a group's, "groups/<id>" (or all "groups"). */
function resourceFitsSubscription(resourceType: string, resourceId: string, subscriptionResource: string): boolean {
  const watched = subscriptionResource.toLowerCase();
  return watched === resourceType || watched === `${resourceType}/${resourceId}`;
}

/**
 * The object ids `members@delta` lists as removed, or as added, lowercased, deduplicated and
 * sorted; undefined when Graph sent no list, or one over its bounds (GRAPH_BOUNDS, GUIDs).
 */
function membersOf(delta: z.infer<typeof memberDeltaSchema>[] | undefined, change: 'removed' | 'added'): string[] | undefined {
  if (!delta || delta.some((member) => !GUID.test(member.id))) return undefined;
  const isRemoval = (member: z.infer<typeof memberDeltaSchema>) => member['@removed'] !== undefined && member['@removed'] !== null;
  const listed = delta.filter((member) => isRemoval(member) === (change === 'removed')).map((member) => member.id.toLowerCase());
  const unique = [...new Set(listed)].sort();
  return unique.length <= (change === 'removed' ? GRAPH_BOUNDS.removedMembers : GRAPH_BOUNDS.addedMembers) ? unique : undefined;
}

function toChangeRecord(notification: z.infer<typeof changeNotificationSchema>, resource: NonNullable<ReturnType<typeof parseResource>>): GraphChangeRecord {
  const delta = notification.resourceData['members@delta'];
  const removed = membersOf(delta, 'removed');
  const added = removed ? membersOf(delta, 'added') : undefined;
  return {
    kind: 'change',
    subscriptionId: notification.subscriptionId,
    changeType: notification.changeType,
    ...resource,
    ...(removed ? { removedMembers: removed } : {}),
    ...(added?.length ? { addedMembers: added } : {}),
    ...(notification.resourceData.eventTime ? { eventTime: notification.resourceData.eventTime } : {}),
  };
}

/**
 * Checks every item of a delivery against the connection: the subscription must be one this
 * connection holds, the clientState must match its hash (constant time) and the tenant must be
 * the connection's. Returns the records of the items that pass and why each other one failed.
 */
export function checkDelivery(items: readonly unknown[], kind: NotificationKind, receiver: GraphReceiver): CheckedDelivery {
  const records: GraphRecord[] = [];
  const rejected: Rejection[] = [];
  const tenantId = receiver.tenantId.toLowerCase();
  items.forEach((item, index) => {
    const parsed = (kind === 'change' ? changeNotificationSchema : lifecycleNotificationSchema).safeParse(item);
    if (!parsed.success) return rejected.push({ index, reason: 'malformed' });
    const notification = parsed.data;
    const subscription = receiver.subscriptions.find((held) => held.subscriptionId === notification.subscriptionId);
    if (!subscription) return rejected.push({ index, reason: 'unknown subscription' });
    if (!matchesAnyHookSecret(notification.clientState, subscription.clientStateHashes)) {
      return rejected.push({ index, reason: 'clientState mismatch' });
    }
    if (notification.tenantId.toLowerCase() !== tenantId) return rejected.push({ index, reason: 'wrong tenant' });
    if (!('lifecycleEvent' in notification)) {
      const resource = parseResource(notification.resource);
      const organization = notification.resourceData.organizationId?.toLowerCase();
      if (
        !resource ||
        resource.resourceId !== notification.resourceData.id.toLowerCase() ||
        (organization !== undefined && organization !== tenantId) ||
        !resourceFitsSubscription(resource.resourceType, resource.resourceId, subscription.resource)
      ) {
        return rejected.push({ index, reason: 'resource mismatch' });
      }
      return records.push(toChangeRecord(notification, resource));
    }
    return records.push({ kind: 'lifecycle', subscriptionId: notification.subscriptionId, lifecycleEvent: notification.lifecycleEvent });
  });
  return { records, rejected };
}

/**
 * The inbox id of a record: a hash of what it says plus the UTC day it arrived. Graph resends
 * an unanswered notification for up to 4 hours, and those copies collapse into one item. The
 * day keeps two real changes that read the same (a user edited twice, weeks apart) apart; a
 * resend that crosses midnight is processed twice, which state-based processing makes harmless.
 */
export function graphRecordId(record: GraphRecord, receivedAt: Date): string {
  const day = receivedAt.toISOString().slice(0, 10);
  const canonical = JSON.stringify([day, record.kind, record.subscriptionId, ...Object.entries(record).sort(([a], [b]) => a.localeCompare(b))]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 40);
}

/** The event type shown in logs and listings: "users.deleted", "groups.updated", "lifecycle.missed". */
export function graphEventType(record: GraphRecord): string {
  return record.kind === 'lifecycle' ? `lifecycle.${record.lifecycleEvent}` : `${record.resourceType}.${record.changeType}`;
}

/**
 * A hint whose processing asks Graph for the current state (a user or group update, with or
 * without a member list, a lifecycle event) can read the same for two changes of that user or
 * group. A copy must not be dropped as a duplicate: the change it announces may have happened
 * after the earlier copy was processed. Processing it again is harmless. A deletion is final
 * (object ids are never reused) and is stored once.
 */
export function isStateBasedHint(record: GraphRecord): boolean {
  return record.kind === 'lifecycle' || record.changeType === 'updated';
}
