/**
 * Processes a stream batch of inbox events with as few round trips as correctness allows:
 *   1. prefetch: the users of all events in one BatchGetItem, their in-scope memberships in
 *      another (SSO configuration comes from the warm cache); a group removal that needs the
 *      user's current Okta groups asks Okta while planning, at most once per user and batch;
 *   2. plan every event from that snapshot (pure domain decisions);
 *   3. group commit: the plans of events that touch different memberships go into shared
 *      transactions, each still all-or-nothing with its conditions.
 * Anything that does not fit that shape — a failed prefetch or group transaction, or events
 * of one batch touching the same membership — is processed one event at a time with fresh
 * reads (processOktaEvent), in IdP time order, so each event still succeeds or fails alone.
 */
import { decideOktaEvent } from '../domain/okta-events.js';
import type { EventOutcome, Membership } from '../domain/memberships.js';
import { emailIdentities, identityLookupKey, membershipsByKey, type EmailIdentity } from '../store/directory.js';
import { applyPlannedGroup, MAX_TRANSACTION_ACTIONS, membershipsWrittenBy, plannedActions, type PlannedEvent } from '../store/deprovision.js';
import type { OktaInboxEvent } from '../store/inbox.js';
import { logger } from '../logger.js';
import { OktaLookupError, type OktaUserGroups } from '../idp/okta-user-groups.js';
import {
  accountsCoveredBy,
  askOktaForUserGroups,
  planOktaEvent,
  processOktaEvent,
  type EventLookups,
  type ProcessingSettings,
} from './process-okta-event.js';

export type EventResult = { outcome: EventOutcome } | { error: unknown };

/** Reads everything the batch's plans need, in two batched calls, and answers planning from memory. */
async function prefetch(events: OktaInboxEvent[], settings: ProcessingSettings): Promise<{ lookups: EventLookups; identities: EmailIdentity[] }> {
  const intents = events.flatMap((event) => {
    const decision = decideOktaEvent(event, settings.actedOnTypes);
    return decision.action === 'deprovision' || decision.action === 'restore' || decision.action === 'reinstate' ? [{ event, intent: decision.intent }] : [];
  });
  const identities = await emailIdentities(intents.map(({ event, intent }) => ({ connectionId: event.connectionId, email: intent.email })));
  const userIds = new Map(identities.map((identity) => [identityLookupKey(identity.connectionId, identity.email), identity.userId]));
  const wanted = new Map<string, { userId: string; accountId: string }>();
  for (const { event, intent } of intents) {
    const userId = userIds.get(identityLookupKey(event.connectionId, intent.email));
    if (!userId) continue;
    for (const accountId of await accountsCoveredBy(settings.accounts, event.connectionId, intent)) {
      wanted.set(`${userId}\u0000${accountId}`, { userId, accountId });
    }
  }
  const memberships = await membershipsByKey([...wanted.values()]);
  // A user's Okta groups are asked for only while planning an event that needs them, once per batch.
  const oktaGroups = new Map<string, Promise<OktaUserGroups>>();
  return {
    identities,
    lookups: {
      accounts: settings.accounts,
      connection: settings.connection,
      userIdByEmail: async (connectionId, email) => userIds.get(identityLookupKey(connectionId, email)),
      memberships: async (userId: string): Promise<Membership[]> => memberships.filter((m) => m.userId === userId),
      oktaUserGroups: (connection, oktaUserId) => {
        const key = `${connection.connectionId}\u0000${oktaUserId}`;
        let answer = oktaGroups.get(key);
        if (!answer) {
          answer = askOktaForUserGroups(connection, oktaUserId);
          oktaGroups.set(key, answer);
        }
        return answer;
      },
    },
  };
}

const byIdpTime = (a: { published: string }, b: { published: string }) => Date.parse(a.published) - Date.parse(b.published);

/** Plans that write a membership another plan of the batch also writes cannot share a snapshot. */
function splitOverlapping(plans: PlannedEvent[]): { together: PlannedEvent[]; alone: PlannedEvent[] } {
  const writers = new Map<string, number>();
  for (const plan of plans) for (const key of membershipsWrittenBy(plan)) writers.set(key, (writers.get(key) ?? 0) + 1);
  const overlaps = (plan: PlannedEvent) => membershipsWrittenBy(plan).some((key) => (writers.get(key) ?? 0) > 1);
  return { together: plans.filter((plan) => !overlaps(plan)), alone: plans.filter(overlaps) };
}

/** Whole events into transactions of at most 100 actions; an event too big for one goes alone. */
function packGroups(plans: PlannedEvent[]): { groups: PlannedEvent[][]; tooBig: PlannedEvent[] } {
  const groups: PlannedEvent[][] = [];
  const tooBig: PlannedEvent[] = [];
  let current: PlannedEvent[] = [];
  let size = 0;
  for (const plan of plans) {
    const actions = plannedActions(plan).length;
    if (actions > MAX_TRANSACTION_ACTIONS) {
      tooBig.push(plan);
      continue;
    }
    if (size + actions > MAX_TRANSACTION_ACTIONS) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(plan);
    size += actions;
  }
  if (current.length > 0) groups.push(current);
  return { groups, tooBig };
}

async function processAlone(event: OktaInboxEvent, settings: ProcessingSettings): Promise<EventResult> {
  try {
    return { outcome: await processOktaEvent(event, settings) };
  } catch (error) {
    return { error };
  }
}

/** Each event's result, and the users' email identities the batch read (revocation reuses them). */
export type BatchOutcome = { results: Map<string, EventResult>; identities?: EmailIdentity[] };

/**
 * The key of an event's result: its connection and its id. Not the id alone: two connections'
 * events may share one (Okta's uuids are the sender's to choose), and one's result then stood for
 * both, so a failed event could be reported as done and never retried (found by fuzzing the processor).
 */
export const resultKey = (event: Pick<OktaInboxEvent, 'connectionId' | 'eventId'>) => JSON.stringify([event.connectionId, event.eventId]);

export async function processOktaBatch(events: OktaInboxEvent[], settings: ProcessingSettings): Promise<BatchOutcome> {
  const results = new Map<string, EventResult>();
  const one = async (event: OktaInboxEvent) => results.set(resultKey(event), await processAlone(event, settings));

  let lookups: EventLookups;
  let identities: EmailIdentity[];
  try {
    ({ lookups, identities } = await prefetch(events, settings));
  } catch (error) {
    logger.warn('batch prefetch failed; processing the events one at a time', { error: error as Error });
    for (const event of [...events].sort(byIdpTime)) await one(event);
    return { results };
  }

  const planned: PlannedEvent[] = [];
  const unplanned: OktaInboxEvent[] = [];
  for (const event of events) {
    try {
      planned.push(await planOktaEvent(event, settings.actedOnTypes, lookups));
    } catch (error) {
      // Okta did not answer: asking again alone would only call it twice; the stream retries the event.
      if (error instanceof OktaLookupError) results.set(resultKey(event), { error });
      else unplanned.push(event);
    }
  }

  const { together, alone } = splitOverlapping(planned);
  const { groups, tooBig } = packGroups(together);
  for (const group of groups) {
    try {
      await applyPlannedGroup(group);
      for (const plan of group) results.set(resultKey(plan.event), { outcome: plan.outcome });
    } catch (error) {
      logger.warn('group commit failed; committing its events one at a time', { events: group.length, error: error as Error });
      for (const plan of group) await one(plan.event);
    }
  }
  for (const event of [...alone, ...tooBig].map((plan) => plan.event).sort(byIdpTime)) await one(event);
  for (const event of unplanned) await one(event);
  return { results, identities };
}
