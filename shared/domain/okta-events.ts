import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { normaliseEmail } from './privacy.js';
import { describeIssues } from '../validation.js';

/**
 * Okta event hook wire format (developer.okta.com/docs/concepts/event-hooks): a
 * `com.okta.event_hook` envelope with System Log events in `data.events[]`.
 * Only the fields we use are kept: zod strips the rest (IPs, user agents, geo).
 *
 * The delivery schema checks shapes only. Lengths are checked per event (OKTA_BOUNDS), so one
 * event over a bound is kept as invalid instead of costing the rest of its delivery.
 */
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

/**
 * What an Okta event may store, in one place. Every stored string is bounded, so an inbox item
 * stays far below DynamoDB's 400 KB item limit and the keys built from it (inbox event, identity
 * by email) below 2,048 bytes. Where Okta documents a limit, the bound is at or above it.
 */
export const OKTA_BOUNDS = {
  /** System Log `uuid` is a UUID (36 characters); the inbox key is built from it. */
  uuidLength: 128,
  /**
   * A User target's alternateId is the login, an email: RFC 5321 paths are at most 256 octets,
   * 254 without the angle brackets (Okta's own login limit is 100).
   */
  alternateIdLength: 254,
  /** A UserGroup target's displayName is the group name: 1 to 255 characters in Okta (Groups API, Workflows "Create group"). */
  displayNameLength: 255,
  /** Okta object ids are 20 characters (00u…, 00g…); Okta documents no limit. */
  targetIdLength: 64,
  /** Target types are short names: User, UserGroup, AppInstance. */
  targetTypeLength: 64,
  /** outcome.result is one of SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE, UNKNOWN. */
  outcomeResultLength: 32,
  /** System Log events name a handful of targets. */
  targetsPerEvent: 50,
} as const;

const oktaTargetSchema = z.object({
  id: z.nullish(z.string()),
  type: z.nullish(z.string()),
  alternateId: z.nullish(z.string()),
  displayName: z.nullish(z.string()),
});

export const oktaLogEventSchema = z.object({
  uuid: z.string().check(z.minLength(1)),
  published: z.iso.datetime({ offset: true }),
  // Not stored unless it is one of the configured types, which are short.
  eventType: z.string().check(z.minLength(1)),
  outcome: z.nullish(z.object({ result: z.nullish(z.string()) })),
  target: z.nullish(z.array(oktaTargetSchema)),
});

const bounded = (max: number) => z.nullish(z.string().check(z.maxLength(max)));

/** The same event with OKTA_BOUNDS applied: its issues are the reason an event is invalid. */
const oktaLogEventBoundsSchema = z.object({
  uuid: z.string().check(z.maxLength(OKTA_BOUNDS.uuidLength)),
  outcome: z.nullish(z.object({ result: bounded(OKTA_BOUNDS.outcomeResultLength) })),
  target: z.nullish(
    z
      .array(
        z.object({
          id: bounded(OKTA_BOUNDS.targetIdLength),
          type: bounded(OKTA_BOUNDS.targetTypeLength),
          alternateId: bounded(OKTA_BOUNDS.alternateIdLength),
          displayName: bounded(OKTA_BOUNDS.displayNameLength),
        }),
      )
      .check(z.maxLength(OKTA_BOUNDS.targetsPerEvent)),
  ),
});

export const oktaDeliverySchema = z.object({
  eventType: z.literal('com.okta.event_hook'),
  eventId: z.optional(text(128)),
  data: z.object({ events: z.array(oktaLogEventSchema).check(z.maxLength(1000)) }),
});

export type OktaDelivery = z.infer<typeof oktaDeliverySchema>;
export type OktaLogEvent = z.infer<typeof oktaLogEventSchema>;

export type OktaTarget = {
  type: string | null;
  id: string | null;
  alternateId: string | null;
  displayName: string | null;
};

/** The slim, normalised form of one Okta System Log event that the inbox keeps. */
export type OktaEventRecord = {
  eventId: string;
  eventType: string;
  /** IdP time, capped at arrival: every ordering decision (and a membership's changedAt) uses it. */
  published: string;
  /** Okta's `published`, only when it was later than arrival and so was capped. */
  publishedAsSent?: string;
  outcomeResult: string | null;
  targets: OktaTarget[];
  /** Set when a field is over its bound (OKTA_BOUNDS): the event is invalid, and the over-long values are not kept. */
  invalidReason?: string;
};

/** A value over its bound is not kept: storing it is what would break the item or its keys. */
function within(value: string | null | undefined, max: number): string | null {
  return value === null || value === undefined || value.length > max ? null : value;
}

/**
 * The inbox id of an event: its uuid, or, for a uuid over its bound, a hash of it. The hash keeps
 * the key short and still deduplicates Okta's redeliveries of that event.
 */
function eventIdOf(uuid: string): string {
  if (uuid.length <= OKTA_BOUNDS.uuidLength) return uuid;
  return `sha256-${createHash('sha256').update(uuid).digest('hex')}`;
}

/**
 * The record of one event as it arrived at `receivedAt`. A `published` later than arrival (an
 * IdP clock error, or a forged time) is capped at arrival: left as sent, it would make the event
 * newer than every real change to come, and the user could never be restored.
 */
export function toOktaEventRecord(event: OktaLogEvent, receivedAt: Date): OktaEventRecord {
  const publishedAt = new Date(event.published);
  const capped = publishedAt.getTime() > receivedAt.getTime();
  const bounds = oktaLogEventBoundsSchema.safeParse(event);
  return {
    eventId: eventIdOf(event.uuid),
    eventType: event.eventType,
    published: (capped ? receivedAt : publishedAt).toISOString(),
    ...(capped ? { publishedAsSent: publishedAt.toISOString() } : {}),
    outcomeResult: within(event.outcome?.result, OKTA_BOUNDS.outcomeResultLength),
    targets: (event.target ?? []).slice(0, OKTA_BOUNDS.targetsPerEvent).map((target) => ({
      type: within(target.type, OKTA_BOUNDS.targetTypeLength),
      id: within(target.id, OKTA_BOUNDS.targetIdLength),
      alternateId: within(target.alternateId, OKTA_BOUNDS.alternateIdLength),
      displayName: within(target.displayName, OKTA_BOUNDS.displayNameLength),
    })),
    ...(bounds.success ? {} : { invalidReason: `over a bound: ${describeIssues(bounds.error)}` }),
  };
}

export const OKTA_GROUP_REMOVED = 'group.user_membership.remove';
export const OKTA_GROUP_ADDED = 'group.user_membership.add';
export const OKTA_USER_DEACTIVATED = 'user.lifecycle.deactivate';
export const OKTA_USER_DELETE_INITIATED = 'user.lifecycle.delete.initiated';
export const OKTA_USER_SUSPENDED = 'user.lifecycle.suspend';
export const OKTA_USER_ACTIVATED = 'user.lifecycle.activate';
export const OKTA_USER_REACTIVATED = 'user.lifecycle.reactivate';
export const OKTA_USER_UNSUSPENDED = 'user.lifecycle.unsuspend';

/** What an event asks us to do, in the domain's words. */
export type DeprovisionIntent =
  /** oktaUserId: the User target's id, to ask Okta for the user's current groups (absent if the event has none). */
  | { kind: 'groupRemoval'; email: string; group: string; occurredAt: string; reason: string; oktaUserId?: string }
  | { kind: 'userDeprovisioned'; cause: UserRemovalCause; email: string; occurredAt: string; reason: string };

/**
 * Why the person was removed. A suspension acts only where the connection's
 * `deprovisionOnSuspend` is on (like Entra's `accountEnabled: false` and `deprovisionOnDisable`).
 */
export type UserRemovalCause = 'deactivated' | 'deleted' | 'suspended';

const USER_REMOVALS: Readonly<Record<string, { cause: UserRemovalCause; reason: string }>> = {
  [OKTA_USER_DEACTIVATED]: { cause: 'deactivated', reason: 'IdP user deactivated' },
  [OKTA_USER_DELETE_INITIATED]: { cause: 'deleted', reason: 'IdP user deleted' },
  [OKTA_USER_SUSPENDED]: { cause: 'suspended', reason: 'IdP user suspended' },
};

/** A user (re-)added to a group: memberships the IdP removed come back (rule 8: evidence from the IdP). */
export type ReAddIntent = { kind: 'groupAdded'; email: string; group: string; occurredAt: string; reason: string };

/**
 * The person active again in Okta (activated after a deactivation, reactivated, unsuspended):
 * recorded on their memberships so an older removal of the person, delivered later, is stale.
 * It gives no access back by itself (a removal of the person is undone only by a sign-in or an admin).
 */
export type ReinstateIntent = { kind: 'userReinstated'; email: string; occurredAt: string; reason: string };

const USER_REINSTATEMENTS: Readonly<Record<string, string>> = {
  [OKTA_USER_ACTIVATED]: 'IdP user activated',
  [OKTA_USER_REACTIVATED]: 'IdP user reactivated',
  [OKTA_USER_UNSUSPENDED]: 'IdP user unsuspended',
};

export type OktaEventDecision =
  | { action: 'deprovision'; intent: DeprovisionIntent }
  | { action: 'restore'; intent: ReAddIntent }
  | { action: 'reinstate'; intent: ReinstateIntent }
  | { action: 'skip'; reason: string }
  | { action: 'invalid'; reason: string };

/** Targets are picked by `type`, never by position: Okta does not promise an order. */
function targetsOfType(record: OktaEventRecord, type: string): OktaTarget[] {
  return record.targets.filter((target) => target.type === type);
}

function singleUserEmail(record: OktaEventRecord): { email: string; oktaUserId?: string } | { invalid: string } {
  const users = targetsOfType(record, 'User');
  if (users.length !== 1) return { invalid: `expected exactly one User target, found ${users.length}` };
  const login = users[0]?.alternateId?.trim();
  if (!login || !login.includes('@')) return { invalid: 'the User target has no email login (alternateId)' };
  const oktaUserId = users[0]?.id?.trim();
  return { email: normaliseEmail(login), ...(oktaUserId ? { oktaUserId } : {}) };
}

/**
 * Decides what one stored Okta event means. Pure: no lookups. Failed attempts are logged by
 * Okta too, so only `outcome.result === "SUCCESS"` acts; missing targets are invalid, never
 * silently successful.
 */
export function decideOktaEvent(record: OktaEventRecord, actedOnTypes: ReadonlySet<string>): OktaEventDecision {
  if (record.invalidReason) return { action: 'invalid', reason: record.invalidReason };
  if (!actedOnTypes.has(record.eventType)) {
    return { action: 'skip', reason: `event type ${record.eventType} is not acted on` };
  }
  if (record.outcomeResult !== 'SUCCESS') {
    return { action: 'skip', reason: `outcome is ${record.outcomeResult ?? 'missing'}, not SUCCESS` };
  }
  const user = singleUserEmail(record);
  if ('invalid' in user) return { action: 'invalid', reason: user.invalid };

  switch (record.eventType) {
    case OKTA_GROUP_REMOVED:
    case OKTA_GROUP_ADDED: {
      const groups = targetsOfType(record, 'UserGroup');
      if (groups.length !== 1) {
        return { action: 'invalid', reason: `expected exactly one UserGroup target, found ${groups.length}` };
      }
      const group = groups[0]?.displayName?.trim();
      if (!group) return { action: 'invalid', reason: 'the UserGroup target has no displayName' };
      const change = { email: user.email, group, occurredAt: record.published };
      return record.eventType === OKTA_GROUP_ADDED
        ? { action: 'restore', intent: { kind: 'groupAdded', ...change, reason: `re-added to IdP group "${group}"` } }
        : {
            action: 'deprovision',
            intent: { kind: 'groupRemoval', ...change, reason: `removed from IdP group "${group}"`, ...(user.oktaUserId ? { oktaUserId: user.oktaUserId } : {}) },
          };
    }
    case OKTA_USER_DEACTIVATED:
    case OKTA_USER_DELETE_INITIATED:
    case OKTA_USER_SUSPENDED: {
      const { cause, reason } = USER_REMOVALS[record.eventType]!;
      return { action: 'deprovision', intent: { kind: 'userDeprovisioned', cause, email: user.email, occurredAt: record.published, reason } };
    }
    case OKTA_USER_ACTIVATED:
    case OKTA_USER_REACTIVATED:
    case OKTA_USER_UNSUSPENDED:
      return { action: 'reinstate', intent: { kind: 'userReinstated', email: user.email, occurredAt: record.published, reason: USER_REINSTATEMENTS[record.eventType]! } };
    default:
      return { action: 'skip', reason: `no deprovisioning rule for event type ${record.eventType}` };
  }
}
