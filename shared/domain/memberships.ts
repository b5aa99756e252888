export const ROLES = ['Admin', 'Author', 'Reviewer', 'Viewer'] as const;
export type Role = (typeof ROLES)[number];

export type MembershipStatus = 'active' | 'deleted';

export type Membership = {
  userId: string;
  accountId: string;
  role: Role;
  status: MembershipStatus;
  /** IdP time of the change that set this state (ISO 8601). Older events never override it. */
  changedAt: string;
  reason: string;
  /** The event that set this state, when an event did. */
  eventId?: string;
  /** Who made the last change: the IdP (an event, a reconciliation), a sign-in, or an admin. */
  changedBy?: ChangeSource;
  /**
   * What an IdP removal was about: the person's groups, or the person (deactivated, suspended,
   * disabled, deleted). A re-add to a group undoes only the first kind.
   */
  removal?: RemovalScope;
};

export type RemovalScope = 'group' | 'user';

export type ChangeSource = 'idp' | 'sign-in' | 'admin';

/** Items written before `changedBy` existed: IdP changes always carried their event id, sign-ins never did. */
export function lastChangedBy(membership: Membership): ChangeSource {
  return membership.changedBy ?? (membership.eventId ? 'idp' : 'sign-in');
}

/** Soft-deleted by the IdP (rule 8): only evidence newer than that removal brings it back. */
export function removedByIdp(membership: Membership): boolean {
  return membership.status === 'deleted' && lastChangedBy(membership) === 'idp';
}

export type MembershipUpdate = { before: Membership; after: Membership };

export type IdpChangePlan = {
  softDeletes: MembershipUpdate[];
  /**
   * A re-add to a granting group: memberships the IdP removed come back; active ones are
   * confirmed at the event's time, so an older removal delivered later is stale (Okta's
   * deliveries are unordered).
   */
  restores?: MembershipUpdate[];
  /** Changed earlier by this same event: a redelivery or a retry after a partial failure. */
  appliedEarlier: Membership[];
  stale: Membership[];
  alreadyDeleted: Membership[];
  /** Re-add: removed by a sign-in or an admin, or the person was deprovisioned: not a re-add's to undo. */
  notRestorable?: Membership[];
};

export type SoftDeleteRequest = {
  accountIds: ReadonlySet<string>;
  occurredAt: string;
  eventId: string;
  reason: string;
  removal: RemovalScope;
};

/**
 * Which of a user's memberships an IdP change soft-deletes. Only memberships in the given
 * accounts are touched; an event older than a membership's last change is stale (rule 3).
 * An event at exactly the same instant wins: the IdP's removal is the later fact we know of.
 */
export function planSoftDeletes(memberships: readonly Membership[], request: SoftDeleteRequest): IdpChangePlan {
  const plan: IdpChangePlan = { softDeletes: [], appliedEarlier: [], stale: [], alreadyDeleted: [] };
  const eventTime = Date.parse(request.occurredAt);
  for (const membership of memberships) {
    if (!request.accountIds.has(membership.accountId)) continue;
    if (membership.status === 'deleted' && membership.eventId === request.eventId) plan.appliedEarlier.push(membership);
    else if (Date.parse(membership.changedAt) > eventTime) plan.stale.push(membership);
    else if (membership.status === 'deleted') plan.alreadyDeleted.push(membership);
    else {
      plan.softDeletes.push({
        before: membership,
        after: {
          ...membership,
          status: 'deleted',
          changedAt: request.occurredAt,
          reason: request.reason,
          eventId: request.eventId,
          changedBy: 'idp',
          removal: request.removal,
        },
      });
    }
  }
  return plan;
}

/** Two plans of one event, as one (their memberships are distinct). */
export function mergePlans(first: IdpChangePlan, second: IdpChangePlan): IdpChangePlan {
  const both = <T>(pick: (plan: IdpChangePlan) => T[] | undefined): T[] | undefined =>
    pick(first) || pick(second) ? [...(pick(first) ?? []), ...(pick(second) ?? [])] : undefined;
  return {
    softDeletes: both((plan) => plan.softDeletes) ?? [],
    appliedEarlier: both((plan) => plan.appliedEarlier) ?? [],
    stale: both((plan) => plan.stale) ?? [],
    alreadyDeleted: both((plan) => plan.alreadyDeleted) ?? [],
    ...(first.restores || second.restores ? { restores: both((plan) => plan.restores) } : {}),
    ...(first.notRestorable || second.notRestorable ? { notRestorable: both((plan) => plan.notRestorable) } : {}),
  };
}

/** Marks a re-add that found the membership active: its time moved, its access did not change. */
const CONFIRMED = ' (confirmed while active)';

export type RestoreRequest = {
  /** The accounts the re-added group grants, each with the role it maps to. */
  roles: ReadonlyMap<string, Role>;
  occurredAt: string;
  eventId: string;
  reason: string;
};

/**
 * Which memberships an IdP re-add gives back: those the IdP itself soft-deleted earlier for a
 * group change (not a removal by a sign-in refusal or an admin, and not a deactivated or
 * deleted person: adding them to a group gives them no access back), with the role the
 * re-added group maps to. The deprovisioning path never creates a membership (rule 4), and an
 * event older than the membership's last change is stale, as for removals.
 */
export function planRestores(memberships: readonly Membership[], request: RestoreRequest): IdpChangePlan {
  const plan: IdpChangePlan = { softDeletes: [], restores: [], appliedEarlier: [], stale: [], alreadyDeleted: [], notRestorable: [] };
  const eventTime = Date.parse(request.occurredAt);
  const changed = { changedAt: request.occurredAt, eventId: request.eventId, changedBy: 'idp' as const };
  for (const membership of memberships) {
    const role = request.roles.get(membership.accountId);
    if (!role) continue;
    if (membership.eventId === request.eventId && membership.status === 'active') plan.appliedEarlier.push(membership);
    else if (Date.parse(membership.changedAt) > eventTime) plan.stale.push(membership);
    else if (membership.status === 'active') {
      plan.restores?.push({ before: membership, after: { ...membership, ...changed, reason: `${request.reason}${CONFIRMED}` } });
    } else if (removedByIdp(membership) && membership.removal === 'group') {
      const { removal: _undone, ...kept } = membership;
      plan.restores?.push({ before: membership, after: { ...kept, ...changed, role, status: 'active', reason: request.reason } });
    } else plan.notRestorable?.push(membership);
  }
  return plan;
}

export type EventOutcome =
  | { status: 'applied'; detail: string }
  | { status: 'skipped'; detail: string }
  | { status: 'stale'; detail: string }
  | { status: 'invalid'; detail: string }
  | { status: 'failed'; detail: string };

const accountList = (memberships: readonly Pick<Membership, 'accountId'>[]) => memberships.map((m) => m.accountId).sort().join(', ');

/**
 * The recorded outcome of a plan, in words a person reading the inbox understands. It is the
 * same however often the event is processed, so a redelivery rewrites the same outcome.
 */
export function outcomeOfPlan(plan: IdpChangePlan): EventOutcome {
  const restores = plan.restores ?? [];
  const earlier = (status: MembershipStatus, confirmed: boolean) =>
    plan.appliedEarlier.filter((m) => m.status === status && m.reason.endsWith(CONFIRMED) === confirmed);
  const deleted = [...plan.softDeletes.map(({ after }) => after), ...earlier('deleted', false), ...earlier('deleted', true)];
  const restored = [...restores.filter(({ before }) => before.status === 'deleted').map(({ after }) => after), ...earlier('active', false)];
  const confirmed = [...restores.filter(({ before }) => before.status === 'active').map(({ after }) => after), ...earlier('active', true)];
  const effects = [
    ...(deleted.length > 0 ? [`soft-deleted membership in ${accountList(deleted)}`] : []),
    ...(restored.length > 0 ? [`restored membership in ${accountList(restored)}`] : []),
    ...(confirmed.length > 0 ? [`confirmed active membership in ${accountList(confirmed)}`] : []),
  ];
  if (effects.length > 0) return { status: 'applied', detail: effects.join('; ') };
  if (plan.stale.length > 0) {
    const detail =
      plan.alreadyDeleted.length > 0
        ? 'nothing to delete: the other matched memberships were already deleted, these changed after this event'
        : 'every matched membership changed after this event';
    return { status: 'stale', detail };
  }
  if (plan.alreadyDeleted.length > 0) {
    return { status: 'skipped', detail: 'memberships already deleted' };
  }
  if (plan.notRestorable?.length) {
    return { status: 'skipped', detail: 'nothing to restore: the memberships were removed by a sign-in, an admin or a deprovisioning of the person, not by a group change' };
  }
  return plan.restores
    ? { status: 'skipped', detail: 'the user has no membership in the accounts this group grants (a re-add never creates one)' }
    : { status: 'skipped', detail: 'the user has no membership in the accounts this event covers' };
}
