import * as z from 'zod/mini';

export const ROLES = ['Admin', 'Author', 'Reviewer', 'Viewer'] as const;
export type Role = (typeof ROLES)[number];

export const roleSchema = z.enum(ROLES);
export const membershipStatusSchema = z.enum(['active', 'deleted']);
export type MembershipStatus = z.infer<typeof membershipStatusSchema>;
export const removalScopeSchema = z.enum(['group', 'user']);
export type RemovalScope = z.infer<typeof removalScopeSchema>;
export const changeSourceSchema = z.enum(['idp', 'sign-in', 'admin']);
export type ChangeSource = z.infer<typeof changeSourceSchema>;

/** A membership as the table holds it: the one schema the readers parse items with. */
export const membershipSchema = z.object({
  userId: z.string(),
  accountId: z.string(),
  role: roleSchema,
  status: membershipStatusSchema,
  /** IdP time of the change that set this state (ISO 8601). Older events never override it. */
  changedAt: z.string(),
  reason: z.string(),
  /** The event that set this state, when an event did. */
  eventId: z.optional(z.string()),
  /** Who made the last change: the IdP (an event, a reconciliation), a sign-in, or an admin. */
  changedBy: z.optional(changeSourceSchema),
  /**
   * What the IdP's removals were about: the person's groups, or the person (deactivated,
   * suspended, disabled, deleted). Only ever strengthened; a re-add undoes only the first kind.
   */
  removal: z.optional(removalScopeSchema),
  /** The latest IdP removal seen for it, also one that found it deleted already: an older re-add is stale. */
  idpRemovedAt: z.optional(z.string()),
  /**
   * The latest re-add to a group granting at least its role, seen while it was active: an older
   * group removal delivered later is stale (Okta delivers unordered). Never against a removal of the person.
   */
  groupAddedAt: z.optional(z.string()),
  /**
   * The latest time the IdP made the person active again (Okta: activated, reactivated,
   * unsuspended): an older removal of the person delivered later is stale. Gives nothing back.
   */
  reinstatedAt: z.optional(z.string()),
});

export type Membership = z.infer<typeof membershipSchema>;

/** Items written before `changedBy` existed: IdP changes always carried their event id, sign-ins never did. */
export function lastChangedBy(membership: Membership): ChangeSource {
  return membership.changedBy ?? (membership.eventId ? 'idp' : 'sign-in');
}

/** Soft-deleted by the IdP (rule 8): only evidence newer than that removal brings it back. */
export function removedByIdp(membership: Membership): boolean {
  return membership.status === 'deleted' && lastChangedBy(membership) === 'idp';
}

/** When the IdP last removed it: a recorded removal, or the change that deleted it. */
export function lastIdpRemoval(membership: Membership): number | undefined {
  const times = [membership.idpRemovedAt, removedByIdp(membership) ? membership.changedAt : undefined].flatMap((time) => (time ? [Date.parse(time)] : []));
  return times.length > 0 ? Math.max(...times) : undefined;
}

/** Admin outranks Author outranks Reviewer outranks Viewer (ROLES lists them in that order). */
export const outranks = (role: Role, other: Role): boolean => ROLES.indexOf(role) < ROLES.indexOf(other);

const strongerRemoval = (current: RemovalScope | undefined, incoming: RemovalScope): RemovalScope => (current === 'user' ? 'user' : incoming);
const isAfter = (time: string | undefined, than: number) => time !== undefined && Date.parse(time) > than;
/** The later of two ISO times (a membership's times never move back). */
const later = (time: string | undefined, other: string): string => (time !== undefined && Date.parse(time) > Date.parse(other) ? time : other);

/**
 * A removal of the person is not stale against the IdP's own later changes. The IdP only ever
 * gives access back by a re-add, which never undoes a removal of the person (rule 8): had the
 * older deactivation been delivered first, the re-add would have restored nothing. Okta delivers
 * unordered, so without this a deactivated person kept the access a later re-add gave back.
 * Changes by a sign-in or an admin after the removal still make it stale.
 */
const removalOfPersonOutranks = (membership: Membership, request: SoftDeleteRequest): boolean =>
  request.removal === 'user' && lastChangedBy(membership) === 'idp';

export type MembershipUpdate = { before: Membership; after: Membership };

export type IdpChangePlan = {
  softDeletes: MembershipUpdate[];
  /**
   * Removals that found the membership deleted already: recorded (time, scope, by the IdP) so
   * that an older re-add delivered later cannot give it back. Access does not change.
   */
  removalsRecorded?: MembershipUpdate[];
  /**
   * A re-add to a granting group: memberships the IdP removed for a group change come back;
   * active ones are confirmed (groupAddedAt), so an older group removal delivered later is stale.
   */
  restores?: MembershipUpdate[];
  /** Changed earlier by this same event: a redelivery or a retry after a partial failure. */
  appliedEarlier: Membership[];
  stale: Membership[];
  alreadyDeleted: Membership[];
  /** Re-add: confirmed earlier by this event, or active with a role at least as high already. */
  keptActive?: Membership[];
  /** Re-add: removed by a sign-in or an admin, or the person was deprovisioned: not a re-add's to undo. */
  notRestorable?: Membership[];
  /** Kept through another group that grants a lower role: the role lowered to it (audited). */
  demotions?: MembershipUpdate[];
  /** Lowered earlier by this same event (a redelivery). */
  demotedEarlier?: Membership[];
  /** The person active again: reinstatedAt recorded (access unchanged). */
  reinstatementsRecorded?: MembershipUpdate[];
  /** The person active again: a reinstatement at this time or later was recorded already. */
  reinstatedEarlier?: Membership[];
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
 * accounts are touched; an event older than a membership's last change is stale (rule 3), and so
 * is a group removal older than a re-add seen while the membership was active. An event at
 * exactly the same instant wins: the IdP's removal is the later fact we know of.
 */
export function planSoftDeletes(memberships: readonly Membership[], request: SoftDeleteRequest): IdpChangePlan {
  const plan: IdpChangePlan = { softDeletes: [], removalsRecorded: [], appliedEarlier: [], stale: [], alreadyDeleted: [] };
  const eventTime = Date.parse(request.occurredAt);
  for (const membership of memberships) {
    if (!request.accountIds.has(membership.accountId)) continue;
    if (membership.status === 'deleted' && membership.eventId === request.eventId) plan.appliedEarlier.push(membership);
    else if (request.removal === 'user' && isAfter(membership.reinstatedAt, eventTime)) plan.stale.push(membership);
    else if (Date.parse(membership.changedAt) > eventTime && !removalOfPersonOutranks(membership, request)) plan.stale.push(membership);
    else if (request.removal === 'group' && isAfter(membership.groupAddedAt, eventTime)) plan.stale.push(membership);
    else if (membership.status === 'deleted') {
      plan.alreadyDeleted.push(membership);
      const removal = removedByIdp(membership) ? strongerRemoval(membership.removal, request.removal) : request.removal;
      const idpRemovedAt = later(membership.idpRemovedAt, request.occurredAt);
      if (removal !== membership.removal || idpRemovedAt !== membership.idpRemovedAt || lastChangedBy(membership) !== 'idp') {
        plan.removalsRecorded?.push({ before: membership, after: { ...membership, changedBy: 'idp', removal, idpRemovedAt } });
      }
    } else {
      plan.softDeletes.push({
        before: membership,
        after: {
          ...membership,
          status: 'deleted',
          changedAt: later(membership.changedAt, request.occurredAt),
          reason: request.reason,
          eventId: request.eventId,
          changedBy: 'idp',
          removal: request.removal,
          idpRemovedAt: later(membership.idpRemovedAt, request.occurredAt),
        },
      });
    }
  }
  return plan;
}

export type RestoreRequest = {
  /** The accounts the re-added group grants, each with the role it maps to. */
  roles: ReadonlyMap<string, Role>;
  occurredAt: string;
  eventId: string;
  reason: string;
};

/**
 * What an IdP re-add to a group does:
 * - a membership the IdP removed for a group change, with no removal since the re-add's time,
 *   comes back with the role the group maps to (not one removed by a sign-in refusal or an
 *   admin, and not one of a person the IdP deactivated or deleted: a group gives that back never);
 * - an active one is confirmed (groupAddedAt) when the group grants at least its role, so an
 *   older group removal delivered later is stale; a lower role confirms nothing (a demotion
 *   delivered out of order must still take the higher role away).
 * The deprovisioning path never creates a membership (rule 4).
 */
export function planRestores(memberships: readonly Membership[], request: RestoreRequest): IdpChangePlan {
  const plan: IdpChangePlan = { softDeletes: [], restores: [], appliedEarlier: [], stale: [], alreadyDeleted: [], keptActive: [], notRestorable: [] };
  const eventTime = Date.parse(request.occurredAt);
  for (const membership of memberships) {
    const role = request.roles.get(membership.accountId);
    if (!role) continue;
    if (membership.status === 'active' && membership.eventId === request.eventId) plan.appliedEarlier.push(membership);
    else if (Date.parse(membership.changedAt) > eventTime) plan.stale.push(membership);
    else if (membership.status === 'active') {
      const confirms = !outranks(membership.role, role) && !isAfter(membership.groupAddedAt, eventTime - 1);
      if (confirms) plan.restores?.push({ before: membership, after: { ...membership, groupAddedAt: request.occurredAt } });
      else plan.keptActive?.push(membership);
    } else if (!removedByIdp(membership) || membership.removal !== 'group') plan.notRestorable?.push(membership);
    else if ((lastIdpRemoval(membership) ?? 0) > eventTime) plan.stale.push(membership);
    else {
      const { removal: _undone, ...rest } = membership;
      const after: Membership = { ...rest, role, status: 'active', changedAt: request.occurredAt, reason: request.reason, eventId: request.eventId, changedBy: 'idp', groupAddedAt: request.occurredAt };
      plan.restores?.push({ before: membership, after });
    }
  }
  return plan;
}

export type DemotionRequest = {
  /** Per account, the highest role the user's remaining groups grant there. */
  roles: ReadonlyMap<string, Role>;
  occurredAt: string;
  eventId: string;
  reason: string;
};

/**
 * A group removal that keeps a membership through another group: where that group grants a lower
 * role, the role is lowered to it (a person taken out of the admin group keeps only what their
 * other groups give). Not where the membership changed after the removal (a later sign-in or
 * re-add decides), and never raised.
 */
export function planDemotions(memberships: readonly Membership[], request: DemotionRequest): Pick<IdpChangePlan, 'demotions' | 'demotedEarlier'> {
  const eventTime = Date.parse(request.occurredAt);
  const plan = { demotions: [] as MembershipUpdate[], demotedEarlier: [] as Membership[] };
  for (const membership of memberships) {
    const role = request.roles.get(membership.accountId);
    if (!role || membership.status !== 'active') continue;
    if (membership.eventId === request.eventId && membership.role === role) plan.demotedEarlier.push(membership);
    else if (!outranks(membership.role, role)) continue;
    else if (Date.parse(membership.changedAt) > eventTime || isAfter(membership.groupAddedAt, eventTime)) continue;
    else {
      // groupAddedAt confirmed the old, higher role: it says nothing of the lower one.
      const { groupAddedAt: _higherRoleConfirmed, ...rest } = membership;
      plan.demotions.push({ before: membership, after: { ...rest, role, changedAt: later(membership.changedAt, request.occurredAt), reason: request.reason, eventId: request.eventId, changedBy: 'idp' } });
    }
  }
  return plan;
}

export type ReinstatementRequest = { accountIds: ReadonlySet<string>; occurredAt: string };

/**
 * The person active again in the IdP: each of their memberships in the accounts records the time
 * (reinstatedAt, only ever later), so a removal of the person from before it, delivered later, is
 * stale. Nothing else changes: a removal of the person is undone only by a sign-in or an admin.
 */
export function planReinstatements(memberships: readonly Membership[], request: ReinstatementRequest): IdpChangePlan {
  const plan: IdpChangePlan = { softDeletes: [], appliedEarlier: [], stale: [], alreadyDeleted: [], reinstatementsRecorded: [], reinstatedEarlier: [] };
  const eventTime = Date.parse(request.occurredAt);
  for (const membership of memberships) {
    if (!request.accountIds.has(membership.accountId)) continue;
    if (isAfter(membership.reinstatedAt, eventTime - 1)) plan.reinstatedEarlier?.push(membership);
    else plan.reinstatementsRecorded?.push({ before: membership, after: { ...membership, reinstatedAt: request.occurredAt } });
  }
  return plan;
}

/** Two plans of one event, as one. A membership both would write (planned from reads at different times) is left to the first. */
export function mergePlans(first: IdpChangePlan, second: IdpChangePlan): IdpChangePlan {
  const key = ({ after }: MembershipUpdate) => `${after.userId}\u0000${after.accountId}`;
  const written = new Set([...first.softDeletes, ...(first.removalsRecorded ?? []), ...(first.restores ?? []), ...(first.demotions ?? [])].map(key));
  const fresh = (updates: MembershipUpdate[] | undefined) => updates?.filter((update) => !written.has(key(update)));
  const both = <T>(a: T[] | undefined, b: T[] | undefined): T[] | undefined => (a || b ? [...(a ?? []), ...(b ?? [])] : undefined);
  return {
    softDeletes: [...first.softDeletes, ...(fresh(second.softDeletes) ?? [])],
    appliedEarlier: [...first.appliedEarlier, ...second.appliedEarlier],
    stale: [...first.stale, ...second.stale],
    alreadyDeleted: [...first.alreadyDeleted, ...second.alreadyDeleted],
    ...(first.removalsRecorded || second.removalsRecorded ? { removalsRecorded: both(first.removalsRecorded, fresh(second.removalsRecorded)) } : {}),
    ...(first.restores || second.restores ? { restores: both(first.restores, fresh(second.restores)) } : {}),
    ...(first.keptActive || second.keptActive ? { keptActive: both(first.keptActive, second.keptActive) } : {}),
    ...(first.notRestorable || second.notRestorable ? { notRestorable: both(first.notRestorable, second.notRestorable) } : {}),
    ...(first.demotions || second.demotions ? { demotions: both(first.demotions, fresh(second.demotions)) } : {}),
    ...(first.demotedEarlier || second.demotedEarlier ? { demotedEarlier: both(first.demotedEarlier, second.demotedEarlier) } : {}),
  };
}

export type EventOutcome =
  | { status: 'applied'; detail: string }
  | { status: 'skipped'; detail: string }
  | { status: 'stale'; detail: string }
  | { status: 'invalid'; detail: string }
  | { status: 'failed'; detail: string };

/** Each account once, with how many users when more than one (a reconciliation removes many at once). */
function accountList(memberships: readonly Pick<Membership, 'accountId'>[]): string {
  const counts = new Map<string, number>();
  for (const { accountId } of memberships) counts.set(accountId, (counts.get(accountId) ?? 0) + 1);
  return [...counts.keys()].sort().map((accountId) => (counts.get(accountId) === 1 ? accountId : `${accountId} (${counts.get(accountId)} users)`)).join(', ');
}

/**
 * The recorded outcome of a plan, in words a person reading the inbox understands. It is the
 * same however often the event is processed, so a redelivery rewrites the same outcome.
 */
export function outcomeOfPlan(plan: IdpChangePlan): EventOutcome {
  const restores = plan.restores ?? [];
  const deleted = [...plan.softDeletes.map(({ after }) => after), ...plan.appliedEarlier.filter((m) => m.status === 'deleted')];
  const restored = [...restores.filter(({ before }) => before.status === 'deleted').map(({ after }) => after), ...plan.appliedEarlier.filter((m) => m.status === 'active')];
  const demoted = [...(plan.demotions ?? []).map(({ after }) => after), ...(plan.demotedEarlier ?? [])];
  const effects = [
    ...(deleted.length > 0 ? [`soft-deleted membership in ${accountList(deleted)}`] : []),
    ...(demoted.length > 0 ? [`lowered the role in ${accountList(demoted)} to what the user's other groups grant`] : []),
    ...(restored.length > 0 ? [`restored membership in ${accountList(restored)}`] : []),
  ];
  if (effects.length > 0) return { status: 'applied', detail: effects.join('; ') };
  const reinstated = [...(plan.reinstatementsRecorded ?? []).map(({ after }) => after), ...(plan.reinstatedEarlier ?? [])];
  if (reinstated.length > 0) {
    return { status: 'skipped', detail: `the person is active again: recorded in ${accountList(reinstated)}, so an older removal of the person delivered later is stale (access unchanged)` };
  }
  const confirmed = [...restores.filter(({ before }) => before.status === 'active').map(({ after }) => after), ...(plan.keptActive ?? [])];
  if (confirmed.length > 0) return { status: 'skipped', detail: `already active in ${accountList(confirmed)} (an older group removal delivered later is stale)` };
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
