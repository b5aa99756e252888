/**
 * Turns one stored Okta event into a plan: its effect (which memberships to soft-delete, or,
 * for a re-add, to give back) and its outcome (applied, skipped, stale, invalid). Planning only
 * reads; committing writes the effects, their audit entries and the outcome in one
 * transaction. This path never creates a user or a membership.
 */
import { decideOktaEvent, type DeprovisionIntent, type ReAddIntent, type ReinstateIntent } from '../domain/okta-events.js';
import { outcomeOfPlan, outranks, planDemotions, planReinstatements, planRestores, planSoftDeletes, type EventOutcome, type Membership, type Role } from '../domain/memberships.js';
import { emailDomain } from '../domain/admission.js';
import { findUserIdByEmail, membershipsOfUser } from '../store/directory.js';
import type { AccountLookups } from '../store/sso-configs.js';
import { applyPlannedEvent, type PlannedEvent } from '../store/deprovision.js';
import type { OktaInboxEvent } from '../store/inbox.js';
import type { Connection } from '../domain/connection.js';
import { readOktaUserGroups, type OktaUserGroups } from '../idp/okta-user-groups.js';
import { secretValue } from '../idp/secrets.js';

/** What an acted-on Okta event asks of the memberships. */
type OktaIntent = DeprovisionIntent | ReAddIntent | ReinstateIntent;

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
  /** The user's current Okta groups, asked of the connection's org with its API token (throws when Okta does not answer usably). */
  oktaUserGroups: (connection: OktaApiConnection, oktaUserId: string) => Promise<OktaUserGroups>;
};

/** An Okta connection that can call its org's API. */
export type OktaApiConnection = Connection & { orgUrl: string; oktaApiTokenRef: string };

const hasOktaApi = (connection: Connection | undefined): connection is OktaApiConnection =>
  connection?.type === 'okta' && typeof connection.orgUrl === 'string' && typeof connection.oktaApiTokenRef === 'string';

/** One call to Okta (and a cached secret read) for this user's groups. */
export async function askOktaForUserGroups(connection: OktaApiConnection, oktaUserId: string): Promise<OktaUserGroups> {
  return readOktaUserGroups(connection.orgUrl, oktaUserId, await secretValue(connection.oktaApiTokenRef));
}

export function directLookups(settings: ProcessingSettings): EventLookups {
  return {
    accounts: settings.accounts,
    connection: settings.connection,
    userIdByEmail: findUserIdByEmail,
    memberships: (userId) => membershipsOfUser(userId),
    oktaUserGroups: askOktaForUserGroups,
  };
}

/**
 * A suspension acts only where the connection's deprovisionOnSuspend is on (the default, also for
 * a connection written before the setting existed); the reason to skip otherwise.
 */
async function suspensionKeptBy(connectionId: string, intent: OktaIntent, lookups: EventLookups): Promise<string | undefined> {
  if (intent.kind !== 'userDeprovisioned' || intent.cause !== 'suspended') return undefined;
  const connection = await lookups.connection(connectionId);
  return connection?.deprovisionOnSuspend === false
    ? 'user suspended in Okta, but this connection keeps suspended users (deprovisionOnSuspend off)'
    : undefined;
}

/** The accounts an intent covers: those granted by the group, or, for the person, every account of the connection (rule 4). */
export function accountsCoveredBy(accounts: AccountLookups, connectionId: string, intent: OktaIntent): Promise<string[]> {
  return intent.kind === 'groupRemoval' || intent.kind === 'groupAdded'
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

/** Accounts a group removal keeps, each with the Okta group that still grants it and that group's role there, and a note for the outcome. */
type StillGranted = { kept: Map<string, { group: string; role: Role }>; note?: string };

/**
 * Issue 11: a group removal takes away only what no other group of the user still grants. For the
 * memberships the removal would soft-delete in accounts that another group of this connection
 * also grants, the user's current Okta groups are asked for (one call, only then); an account
 * one of those groups grants is kept, with the highest role they grant there (a lower one than
 * the membership's is a demotion). Without an API token, today's rule, said in the outcome; a
 * user Okta no longer knows loses the memberships; any other failure throws (the stream retries).
 */
async function stillGrantedByOtherGroups(
  connectionId: string,
  intent: Extract<DeprovisionIntent, { kind: 'groupRemoval' }>,
  wouldDelete: readonly string[],
  lookups: EventLookups,
): Promise<StillGranted> {
  const none: StillGranted = { kept: new Map() };
  if (wouldDelete.length === 0) return none;
  const candidates = new Set(wouldDelete);
  const otherGroups = new Map<string, Array<{ group: string; role: Role }>>();
  for (const { accountId, ssoConfig } of await lookups.accounts.ssoConfigsServedBy(connectionId)) {
    if (!candidates.has(accountId)) continue;
    const grants = ssoConfig.providers
      .filter((provider) => provider.connectionId === connectionId)
      .flatMap((provider) => provider.groups)
      .filter(({ group }) => group !== intent.group);
    if (grants.length > 0) otherGroups.set(accountId, grants);
  }
  if (otherGroups.size === 0) return none;
  const connection = await lookups.connection(connectionId);
  if (!hasOktaApi(connection)) return { ...none, note: 'no Okta API token: other groups not checked' };
  if (!intent.oktaUserId) return { ...none, note: 'the event names no Okta user id: other groups not checked' };
  const answer = await lookups.oktaUserGroups(connection, intent.oktaUserId);
  if (answer.kind === 'userGone') return { ...none, note: 'the user is not found in Okta: other groups not checked' };
  const kept = new Map<string, { group: string; role: Role }>();
  for (const [accountId, grants] of otherGroups) {
    // The highest role of the groups Okta still lists (a sign-in would map the same); ties by name, for a stable outcome.
    const granting = grants
      .filter(({ group }) => answer.names.has(group))
      .sort((a, b) => (outranks(a.role, b.role) ? -1 : outranks(b.role, a.role) ? 1 : a.group.localeCompare(b.group)))[0];
    if (granting) kept.set(accountId, granting);
  }
  return { kept };
}

function withStillGranted(outcome: EventOutcome, { kept, note }: StillGranted): EventOutcome {
  const keptDetail = [...kept]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([accountId, { group }]) => `kept membership in ${accountId}: still granted by Okta group "${group}"`)
    .join('; ');
  if (keptDetail) {
    return outcome.status === 'applied' ? { status: 'applied', detail: `${outcome.detail}; ${keptDetail}` } : { status: 'skipped', detail: keptDetail };
  }
  return note ? { ...outcome, detail: `${outcome.detail} (${note})` } : outcome;
}

async function planIntent(event: OktaInboxEvent, intent: OktaIntent, lookups: EventLookups): Promise<PlannedEvent> {
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
      intent.kind === 'groupRemoval' || intent.kind === 'groupAdded'
        ? `group "${intent.group}" is not configured for any account of this connection`
        : 'this connection serves no account',
    );
  }
  if (!userId) return skipped('no user with this email is linked to this connection');

  const memberships = await lookups.memberships(userId, accountIds);
  const change = { occurredAt: intent.occurredAt, eventId: event.eventId, reason: intent.reason };
  if (intent.kind === 'userReinstated') {
    const plan = planReinstatements(memberships, { accountIds: new Set(accountIds), occurredAt: intent.occurredAt });
    return { event, plan, outcome: outcomeOfPlan(plan) };
  }
  if (grants) {
    const plan = planRestores(memberships, { ...change, roles: await grantsWhereSignInAdmits(grants, event.connectionId, intent.email, lookups.accounts) });
    return { event, plan, outcome: outcomeOfPlan(plan) };
  }
  const softDeletes = (covered: readonly string[]) =>
    planSoftDeletes(memberships, { ...change, accountIds: new Set(covered), removal: intent.kind === 'groupRemoval' ? 'group' : 'user' });
  const plan = softDeletes(accountIds);
  if (intent.kind !== 'groupRemoval') return { event, plan, outcome: outcomeOfPlan(plan) };
  // (A membership this event demoted earlier is active, so a redelivery asks about it again and reads the same.)
  const still = await stillGrantedByOtherGroups(event.connectionId, intent, plan.softDeletes.map(({ before }) => before.accountId), lookups);
  if (still.kept.size === 0) return { event, plan, outcome: withStillGranted(outcomeOfPlan(plan), still) };
  const roles = new Map([...still.kept].map(([accountId, { role }]) => [accountId, role]));
  const narrowed = { ...softDeletes(accountIds.filter((accountId) => !still.kept.has(accountId))), ...planDemotions(memberships, { ...change, roles }) };
  return { event, plan: narrowed, outcome: withStillGranted(outcomeOfPlan(narrowed), still) };
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
    case 'reinstate':
      return planIntent(event, decision.intent, lookups);
  }
}

/** One event on its own: plan with fresh reads, then commit. Errors propagate so the stream retries. */
export async function processOktaEvent(event: OktaInboxEvent, settings: ProcessingSettings): Promise<EventOutcome> {
  const planned = await planOktaEvent(event, settings.actedOnTypes, directLookups(settings));
  await applyPlannedEvent(planned);
  return planned.outcome;
}
