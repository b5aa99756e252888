/**
 * Turns one stored Okta event into a plan: its effect (which memberships to soft-delete, or,
 * for a re-add, to give back) and its outcome (applied, skipped, stale, invalid). Planning only
 * reads; committing writes the effects, their audit entries and the outcome in one
 * transaction. This path never creates a user or a membership.
 */
import { decideOktaEvent, type DeprovisionIntent, type ReAddIntent } from '../domain/okta-events.js';
import { outcomeOfPlan, planRestores, planSoftDeletes, type EventOutcome, type Membership, type Role } from '../domain/memberships.js';
import { emailDomain } from '../domain/admission.js';
import { findUserIdByEmail, membershipsOfUser } from '../store/directory.js';
import type { AccountLookups } from '../store/sso-configs.js';
import { applyPlannedEvent, type PlannedEvent } from '../store/deprovision.js';
import type { OktaInboxEvent } from '../store/inbox.js';
import type { Connection } from '../domain/connection.js';

export type ProcessingSettings = {
  actedOnTypes: ReadonlySet<string>;
  accounts: AccountLookups;
  /** The connection's settings (deprovisionOnSuspend): cached like the accounts (cachedConnectionLookup). */
  connection: (connectionId: string) => Promise<Connection | undefined>;
};

/** What planning needs to read; answered one call at a time, or from a batch's prefetch. */
export type EventLookups = {
  accounts: AccountLookups;
  connection: (connectionId: string) => Promise<Connection | undefined>;
  userIdByEmail: (connectionId: string, email: string) => Promise<string | undefined>;
  memberships: (userId: string, accountIds: readonly string[]) => Promise<Membership[]>;
};

export function directLookups(settings: ProcessingSettings): EventLookups {
  return { accounts: settings.accounts, connection: settings.connection, userIdByEmail: findUserIdByEmail, memberships: (userId) => membershipsOfUser(userId) };
}

/**
 * A suspension acts only where the connection's deprovisionOnSuspend is on (the default, also for
 * a connection written before the setting existed); the reason to skip otherwise.
 */
async function suspensionKeptBy(connectionId: string, intent: DeprovisionIntent | ReAddIntent, lookups: EventLookups): Promise<string | undefined> {
  if (intent.kind !== 'userDeprovisioned' || intent.cause !== 'suspended') return undefined;
  const connection = await lookups.connection(connectionId);
  return connection?.deprovisionOnSuspend === false
    ? 'user suspended in Okta, but this connection keeps suspended users (deprovisionOnSuspend off)'
    : undefined;
}

/** The accounts an intent covers: those granted by the group, or every account of the connection (rule 4). */
export function accountsCoveredBy(accounts: AccountLookups, connectionId: string, intent: DeprovisionIntent | ReAddIntent): Promise<string[]> {
  return intent.kind !== 'userDeprovisioned'
    ? accounts.accountIdsGrantedByGroup(connectionId, intent.group)
    : accounts.accountIdsServedBy(connectionId);
}

/** A re-add gives back only where a sign-in would admit the person: an active SSO config that allows their email's domain. */
async function grantsWhereSignInAdmits(grants: ReadonlyMap<string, Role>, connectionId: string, email: string, accounts: AccountLookups): Promise<Map<string, Role>> {
  const configs = new Map((await accounts.ssoConfigsServedBy(connectionId)).map(({ accountId, ssoConfig }) => [accountId, ssoConfig]));
  const domain = emailDomain(email);
  return new Map(
    [...grants].filter(([accountId]) => {
      const config = configs.get(accountId);
      return config?.active === true && config.allowedDomains.some((allowed) => allowed.toLowerCase() === domain);
    }),
  );
}

async function planIntent(event: OktaInboxEvent, intent: DeprovisionIntent | ReAddIntent, lookups: EventLookups): Promise<PlannedEvent> {
  const kept = await suspensionKeptBy(event.connectionId, intent, lookups);
  if (kept) return { event, outcome: { status: 'skipped', detail: kept } };
  const [grants, accountIds, userId] = await Promise.all([
    intent.kind === 'groupAdded' ? lookups.accounts.accountGrantsOfGroup(event.connectionId, intent.group) : undefined,
    accountsCoveredBy(lookups.accounts, event.connectionId, intent),
    lookups.userIdByEmail(event.connectionId, intent.email),
  ]);
  const skipped = (detail: string): PlannedEvent => ({ event, outcome: { status: 'skipped', detail } });
  if (accountIds.length === 0) {
    return skipped(
      intent.kind !== 'userDeprovisioned'
        ? `group "${intent.group}" is not configured for any account of this connection`
        : 'this connection serves no account',
    );
  }
  if (!userId) return skipped('no user with this email is linked to this connection');

  const memberships = await lookups.memberships(userId, accountIds);
  const change = { occurredAt: intent.occurredAt, eventId: event.eventId, reason: intent.reason };
  const plan = grants
    ? planRestores(memberships, { ...change, roles: await grantsWhereSignInAdmits(grants, event.connectionId, intent.email, lookups.accounts) }) : planSoftDeletes(memberships, { ...change, accountIds: new Set(accountIds), removal: intent.kind === 'groupRemoval' ? 'group' : 'user' });
  return { event, plan, outcome: outcomeOfPlan(plan) };
}

export async function planOktaEvent(event: OktaInboxEvent, actedOnTypes: ReadonlySet<string>, lookups: EventLookups): Promise<PlannedEvent> {
  const decision = decideOktaEvent(event, actedOnTypes);
  switch (decision.action) {
    case 'skip':
      return { event, outcome: { status: 'skipped', detail: decision.reason } };
    case 'invalid':
      return { event, outcome: { status: 'invalid', detail: decision.reason } };
    case 'deprovision':
    case 'restore':
      return planIntent(event, decision.intent, lookups);
  }
}

/** One event on its own: plan with fresh reads, then commit. Errors propagate so the stream retries. */
export async function processOktaEvent(event: OktaInboxEvent, settings: ProcessingSettings): Promise<EventOutcome> {
  const planned = await planOktaEvent(event, settings.actedOnTypes, directLookups(settings));
  await applyPlannedEvent(planned);
  return planned.outcome;
}
