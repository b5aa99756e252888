import * as z from 'zod/mini';
import { normaliseEmail } from './privacy.js';

/**
 * Okta event hook wire format (developer.okta.com/docs/concepts/event-hooks): a
 * `com.okta.event_hook` envelope with System Log events in `data.events[]`.
 * Only the fields we use are kept: zod strips the rest (IPs, user agents, geo).
 */
const text = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));

const oktaTargetSchema = z.object({
  id: z.nullish(z.string()),
  type: z.nullish(z.string()),
  alternateId: z.nullish(z.string()),
  displayName: z.nullish(z.string()),
});

const oktaLogEventSchema = z.object({
  uuid: text(128),
  published: z.iso.datetime({ offset: true }),
  eventType: text(256),
  outcome: z.nullish(z.object({ result: z.nullish(z.string()) })),
  target: z.nullish(z.array(oktaTargetSchema).check(z.maxLength(50))),
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
  published: string;
  outcomeResult: string | null;
  targets: OktaTarget[];
};

export function toOktaEventRecord(event: OktaLogEvent): OktaEventRecord {
  return {
    eventId: event.uuid,
    eventType: event.eventType,
    published: new Date(event.published).toISOString(),
    outcomeResult: event.outcome?.result ?? null,
    targets: (event.target ?? []).map((target) => ({
      type: target.type ?? null,
      id: target.id ?? null,
      alternateId: target.alternateId ?? null,
      displayName: target.displayName ?? null,
    })),
  };
}

export const OKTA_GROUP_REMOVED = 'group.user_membership.remove';
export const OKTA_GROUP_ADDED = 'group.user_membership.add';
export const OKTA_USER_DEACTIVATED = 'user.lifecycle.deactivate';
export const OKTA_USER_DELETE_INITIATED = 'user.lifecycle.delete.initiated';

/** What an event asks us to do, in the domain's words. */
export type DeprovisionIntent =
  | { kind: 'groupRemoval'; email: string; group: string; occurredAt: string; reason: string }
  | { kind: 'userDeprovisioned'; email: string; occurredAt: string; reason: string };

/** A user (re-)added to a group: memberships the IdP removed come back (rule 8: evidence from the IdP). */
export type ReAddIntent = { kind: 'groupAdded'; email: string; group: string; occurredAt: string; reason: string };

export type OktaEventDecision =
  | { action: 'deprovision'; intent: DeprovisionIntent }
  | { action: 'restore'; intent: ReAddIntent }
  | { action: 'skip'; reason: string }
  | { action: 'invalid'; reason: string };

/** Targets are picked by `type`, never by position: Okta does not promise an order. */
function targetsOfType(record: OktaEventRecord, type: string): OktaTarget[] {
  return record.targets.filter((target) => target.type === type);
}

function singleUserEmail(record: OktaEventRecord): { email: string } | { invalid: string } {
  const users = targetsOfType(record, 'User');
  if (users.length !== 1) return { invalid: `expected exactly one User target, found ${users.length}` };
  const login = users[0]?.alternateId?.trim();
  if (!login || !login.includes('@')) return { invalid: 'the User target has no email login (alternateId)' };
  return { email: normaliseEmail(login) };
}

/**
 * Decides what one stored Okta event means. Pure: no lookups. Failed attempts are logged by
 * Okta too, so only `outcome.result === "SUCCESS"` acts; missing targets are invalid, never
 * silently successful.
 */
export function decideOktaEvent(record: OktaEventRecord, actedOnTypes: ReadonlySet<string>): OktaEventDecision {
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
        : { action: 'deprovision', intent: { kind: 'groupRemoval', ...change, reason: `removed from IdP group "${group}"` } };
    }
    case OKTA_USER_DEACTIVATED:
    case OKTA_USER_DELETE_INITIATED:
      return {
        action: 'deprovision',
        intent: {
          kind: 'userDeprovisioned',
          email: user.email,
          occurredAt: record.published,
          reason: record.eventType === OKTA_USER_DEACTIVATED ? 'IdP user deactivated' : 'IdP user deleted',
        },
      };
    default:
      return { action: 'skip', reason: `no deprovisioning rule for event type ${record.eventType}` };
  }
}
