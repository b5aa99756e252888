/**
 * Turns one stored Okta event into its effect and its recorded outcome. Every path ends in a
 * recorded outcome (applied, skipped, stale, invalid); errors propagate so the stream retries.
 * The deprovisioning path only ever soft-deletes: it never creates a user or a membership.
 */
import { decideOktaEvent, type DeprovisionIntent } from '../domain/okta-events.js';
import { outcomeOfPlan, planSoftDeletes, type EventOutcome } from '../domain/memberships.js';
import { findUserIdByEmail, membershipsOfUser, type AccountLookups } from '../store/directory.js';
import { applySoftDeletes } from '../store/deprovision.js';
import { recordOutcome, type InboxEvent } from '../store/inbox.js';

export type ProcessingSettings = {
  actedOnTypes: ReadonlySet<string>;
  accounts: AccountLookups;
};

/** The accounts an intent covers: those granted by the group, or every account of the connection (rule 4). */
function accountsCoveredBy(accounts: AccountLookups, connectionId: string, intent: DeprovisionIntent): Promise<string[]> {
  return intent.kind === 'groupRemoval'
    ? accounts.accountIdsGrantedByGroup(connectionId, intent.group)
    : accounts.accountIdsServedBy(connectionId);
}

async function outcomeOfIntent(event: InboxEvent, intent: DeprovisionIntent, accounts: AccountLookups): Promise<EventOutcome> {
  const [accountIds, userId] = await Promise.all([
    accountsCoveredBy(accounts, event.connectionId, intent),
    findUserIdByEmail(event.connectionId, intent.email),
  ]);
  if (accountIds.length === 0) {
    const detail =
      intent.kind === 'groupRemoval'
        ? `group "${intent.group}" is not configured for any account of this connection`
        : 'this connection serves no account';
    return recorded(event, { status: 'skipped', detail });
  }
  if (!userId) return recorded(event, { status: 'skipped', detail: 'no user with this email is linked to this connection' });

  const plan = planSoftDeletes(await membershipsOfUser(userId), {
    accountIds: new Set(accountIds),
    occurredAt: intent.occurredAt,
    eventId: event.eventId,
    reason: intent.reason,
  });
  const outcome = outcomeOfPlan(plan);
  if (plan.softDeletes.length === 0) return recorded(event, outcome);
  await applySoftDeletes(event, plan, outcome);
  return outcome;
}

async function recorded(event: InboxEvent, outcome: EventOutcome): Promise<EventOutcome> {
  await recordOutcome(event, outcome);
  return outcome;
}

export async function processOktaEvent(event: InboxEvent, settings: ProcessingSettings): Promise<EventOutcome> {
  const decision = decideOktaEvent(event, settings.actedOnTypes);
  switch (decision.action) {
    case 'skip':
      return recorded(event, { status: 'skipped', detail: decision.reason });
    case 'invalid':
      return recorded(event, { status: 'invalid', detail: decision.reason });
    case 'deprovision':
      return outcomeOfIntent(event, decision.intent, settings.accounts);
  }
}
