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
};

export type SoftDeletePlan = {
  softDeletes: { before: Membership; after: Membership }[];
  /** Deleted earlier by this same event: a redelivery or a retry after a partial failure. */
  appliedEarlier: Membership[];
  stale: Membership[];
  alreadyDeleted: Membership[];
};

export type SoftDeleteRequest = {
  accountIds: ReadonlySet<string>;
  occurredAt: string;
  eventId: string;
  reason: string;
};

/**
 * Which of a user's memberships an IdP change soft-deletes. Only memberships in the given
 * accounts are touched; an event older than a membership's last change is stale (rule 3).
 * An event at exactly the same instant wins: the IdP's removal is the later fact we know of.
 */
export function planSoftDeletes(memberships: readonly Membership[], request: SoftDeleteRequest): SoftDeletePlan {
  const plan: SoftDeletePlan = { softDeletes: [], appliedEarlier: [], stale: [], alreadyDeleted: [] };
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
        },
      });
    }
  }
  return plan;
}

export type EventOutcome =
  | { status: 'applied'; detail: string }
  | { status: 'skipped'; detail: string }
  | { status: 'stale'; detail: string }
  | { status: 'invalid'; detail: string }
  | { status: 'failed'; detail: string };

/**
 * The recorded outcome of a plan, in words a person reading the inbox understands. It is the
 * same however often the event is processed, so a redelivery rewrites the same outcome.
 */
export function outcomeOfPlan(plan: SoftDeletePlan): EventOutcome {
  const deletedAccounts = [
    ...plan.softDeletes.map((change) => change.after.accountId),
    ...plan.appliedEarlier.map((membership) => membership.accountId),
  ].sort();
  if (deletedAccounts.length > 0) {
    return { status: 'applied', detail: `soft-deleted membership in ${deletedAccounts.join(', ')}` };
  }
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
  return { status: 'skipped', detail: 'the user has no membership in the accounts this event covers' };
}
