/**
 * Which memberships an IdP removal soft-deletes, and the outcome recorded for it: scoped to the
 * event's accounts, never overriding a newer change, and the same however often it is replayed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  lastChangedBy,
  mergePlans,
  outcomeOfPlan,
  planDemotions,
  planReinstatements,
  planRestores,
  planSoftDeletes,
  ROLES,
  type Membership,
  type SoftDeleteRequest,
} from '../../shared/domain/memberships.js';

const EVENT_TIME = '2025-03-11T14:02:07.417Z';

function membership(accountId: string, changes: Partial<Membership> = {}): Membership {
  return {
    userId: 'user-alex',
    accountId,
    role: 'Viewer',
    status: 'active',
    changedAt: '2025-03-01T09:00:00.000Z',
    reason: 'seeded',
    ...changes,
  };
}

function removal(accountIds: string[], changes: Partial<SoftDeleteRequest> = {}): SoftDeleteRequest {
  return {
    accountIds: new Set(accountIds),
    occurredAt: EVENT_TIME,
    eventId: 'event-1',
    reason: 'removed from IdP group "Finance-Approvers"',
    removal: 'group',
    ...changes,
  };
}

describe('planSoftDeletes', () => {
  it('soft-deletes only the memberships in the accounts the event covers', () => {
    const plan = planSoftDeletes([membership('acme'), membership('globex'), membership('initech')], removal(['acme', 'initech']));
    expect(plan.softDeletes.map((change) => change.before.accountId)).toEqual(['acme', 'initech']);
    expect(plan.stale).toEqual([]);
    expect(plan.alreadyDeleted).toEqual([]);
    expect(plan.appliedEarlier).toEqual([]);
  });

  it('marks the membership deleted with the event time, reason and id, and keeps the role', () => {
    const before = membership('acme', { role: 'Admin' });
    const plan = planSoftDeletes([before], removal(['acme']));
    expect(plan.softDeletes).toEqual([
      {
        before,
        after: {
          userId: 'user-alex',
          accountId: 'acme',
          role: 'Admin',
          status: 'deleted',
          changedAt: EVENT_TIME,
          reason: 'removed from IdP group "Finance-Approvers"',
          eventId: 'event-1',
          changedBy: 'idp',
          removal: 'group',
          idpRemovedAt: EVENT_TIME,
        },
      },
    ]);
  });

  it('an older removal of the person delivered after an IdP re-add still removes, and records itself on a group-removed membership', () => {
    const reAddedAt = '2025-03-11T15:00:00.000Z';
    const reAdded = membership('acme', { changedAt: reAddedAt, changedBy: 'idp', eventId: 'event-readd', groupAddedAt: reAddedAt, idpRemovedAt: '2025-03-11T13:00:00.000Z' });
    const groupRemoved = membership('globex', { status: 'deleted', changedAt: reAddedAt, changedBy: 'idp', eventId: 'event-removal', removal: 'group', idpRemovedAt: reAddedAt });
    const signedIn = membership('initech', { changedAt: reAddedAt, changedBy: 'sign-in' });
    const deactivation = removal(['acme', 'globex', 'initech'], { removal: 'user', reason: 'IdP user deactivated' });
    const plan = planSoftDeletes([reAdded, groupRemoved, signedIn], deactivation);
    expect(plan.softDeletes.map(({ after }) => after)).toEqual([
      { ...reAdded, status: 'deleted', changedAt: reAddedAt, reason: 'IdP user deactivated', eventId: 'event-1', changedBy: 'idp', removal: 'user', idpRemovedAt: EVENT_TIME },
    ]);
    expect(plan.removalsRecorded?.map(({ after }) => after)).toEqual([{ ...groupRemoved, removal: 'user' }]);
    // A sign-in after the removal is evidence newer than it: the removal is stale there.
    expect(plan.stale).toEqual([signedIn]);
    // A group removal older than the re-add stays stale.
    expect(planSoftDeletes([reAdded], removal(['acme'])).stale).toEqual([reAdded]);
  });

  it('does not modify the memberships it is given', () => {
    const before = membership('acme');
    const copy = structuredClone(before);
    planSoftDeletes([before], removal(['acme']));
    expect(before).toEqual(copy);
  });

  it('plans nothing when the user has no membership in the covered accounts', () => {
    const plan = planSoftDeletes([membership('globex')], removal(['acme']));
    expect(plan).toEqual({ softDeletes: [], removalsRecorded: [], appliedEarlier: [], stale: [], alreadyDeleted: [] });
    expect(outcomeOfPlan(plan)).toEqual({
      status: 'skipped',
      detail: 'the user has no membership in the accounts this event covers',
    });
  });

  it('an older removal does not override a newer sign-in', () => {
    const newer = membership('acme', { changedAt: '2025-03-11T14:02:07.418Z', reason: 'signed in' });
    const plan = planSoftDeletes([newer], removal(['acme']));
    expect(plan.softDeletes).toEqual([]);
    expect(plan.stale).toEqual([newer]);
    expect(outcomeOfPlan(plan)).toEqual({ status: 'stale', detail: 'every matched membership changed after this event' });
  });

  it('compares instants, not strings: a later change written with an offset is still newer', () => {
    // 13:02:08-01:00 is 14:02:08Z, a second after the event, yet it sorts before the event as text.
    const newer = membership('acme', { changedAt: '2025-03-11T13:02:08.000-01:00' });
    expect(planSoftDeletes([newer], removal(['acme'])).stale).toEqual([newer]);
  });

  it('a removal at exactly the same instant as the last change wins', () => {
    const sameInstant = membership('acme', { changedAt: EVENT_TIME });
    const plan = planSoftDeletes([sameInstant], removal(['acme']));
    expect(plan.softDeletes.map((change) => change.after.status)).toEqual(['deleted']);
    expect(outcomeOfPlan(plan)).toEqual({ status: 'applied', detail: 'soft-deleted membership in acme' });
  });

  it('leaves a membership already deleted by another event alone and reports it skipped', () => {
    const deleted = membership('acme', { status: 'deleted', eventId: 'event-0', changedAt: '2025-03-10T00:00:00.000Z' });
    const plan = planSoftDeletes([deleted], removal(['acme']));
    expect(plan.softDeletes).toEqual([]);
    expect(plan.alreadyDeleted).toEqual([deleted]);
    expect(outcomeOfPlan(plan)).toEqual({ status: 'skipped', detail: 'memberships already deleted' });
  });

  it('recognises a membership deleted by this same event as applied earlier, with the same outcome as the first time', () => {
    const active = membership('acme');
    const first = planSoftDeletes([active], removal(['acme']));
    const [change] = first.softDeletes;
    if (!change) throw new Error('the first pass planned no soft-delete');

    const redelivery = planSoftDeletes([change.after], removal(['acme']));
    expect(redelivery.softDeletes).toEqual([]);
    expect(redelivery.appliedEarlier).toEqual([change.after]);
    expect(outcomeOfPlan(redelivery)).toEqual(outcomeOfPlan(first));
    expect(outcomeOfPlan(redelivery)).toEqual({ status: 'applied', detail: 'soft-deleted membership in acme' });
  });

  it('lists every deleted account in sorted order in the outcome, new and earlier alike', () => {
    const plan = planSoftDeletes(
      [
        membership('initech'),
        membership('acme', { status: 'deleted', eventId: 'event-1', changedAt: EVENT_TIME }),
        membership('globex', { changedAt: '2025-03-12T00:00:00.000Z' }),
      ],
      removal(['initech', 'acme', 'globex']),
    );
    expect(plan.stale.map((m) => m.accountId)).toEqual(['globex']);
    expect(outcomeOfPlan(plan)).toEqual({ status: 'applied', detail: 'soft-deleted membership in acme, initech' });
  });

  it('reports stale rather than skipped when some memberships are newer and the rest already deleted', () => {
    const plan = planSoftDeletes(
      [
        membership('acme', { changedAt: '2025-03-12T00:00:00.000Z' }),
        membership('globex', { status: 'deleted', eventId: 'event-0' }),
      ],
      removal(['acme', 'globex']),
    );
    expect(outcomeOfPlan(plan).status).toBe('stale');
  });
});

// --- properties -------------------------------------------------------------------------------

const ACCOUNTS = ['acme', 'globex', 'initech', 'umbrella', 'hooli'] as const;
const EVENT_IDS = ['event-1', 'event-2', 'event-3'] as const;
const BASE_MS = Date.parse(EVENT_TIME);

/** Times within a few seconds of each other: whole seconds, so equal instants come up often, and odd milliseconds. */
const instant = fc
  .oneof(fc.integer({ min: -3, max: 3 }).map((seconds) => seconds * 1000), fc.integer({ min: -3000, max: 3000 }))
  .map((offsetMs) => new Date(BASE_MS + offsetMs).toISOString());

const membershipArb: fc.Arbitrary<Membership> = fc.record({
  userId: fc.constant('user-alex'),
  accountId: fc.constantFrom(...ACCOUNTS),
  role: fc.constantFrom(...ROLES),
  status: fc.constantFrom('active' as const, 'deleted' as const),
  changedAt: instant,
  reason: fc.constantFrom('seeded', 'signed in', 'removed from IdP group "X"'),
  eventId: fc.option(fc.constantFrom(...EVENT_IDS), { nil: undefined }),
});

/** A user's memberships: at most one per account, as the table's keys allow. */
const membershipsArb = fc.uniqueArray(membershipArb, { selector: (m) => m.accountId, maxLength: ACCOUNTS.length });

const requestArb: fc.Arbitrary<SoftDeleteRequest> = fc.record({
  accountIds: fc.subarray([...ACCOUNTS]).map((ids) => new Set(ids) as ReadonlySet<string>),
  occurredAt: instant,
  eventId: fc.constantFrom(...EVENT_IDS),
  reason: fc.constantFrom('IdP user deactivated', 'removed from IdP group "Finance-Approvers"'),
  removal: fc.constantFrom('group' as const, 'user' as const),
});

/** The memberships as they are after the plan's writes succeeded. */
function applied(memberships: readonly Membership[], plan: ReturnType<typeof planSoftDeletes>): Membership[] {
  return memberships.map((current) => plan.softDeletes.find((change) => change.before === current)?.after ?? current);
}

describe('planSoftDeletes properties', () => {
  it('never plans a change for an account outside the requested set', () => {
    fc.assert(
      fc.property(membershipsArb, requestArb, (memberships, request) => {
        const plan = planSoftDeletes(memberships, request);
        const touched = [
          ...plan.softDeletes.flatMap((change) => [change.before.accountId, change.after.accountId]),
          ...plan.appliedEarlier.map((m) => m.accountId),
          ...plan.stale.map((m) => m.accountId),
          ...plan.alreadyDeleted.map((m) => m.accountId),
        ];
        for (const accountId of touched) expect(request.accountIds.has(accountId)).toBe(true);
      }),
    );
  });

  it('puts every in-scope membership in exactly one bucket', () => {
    fc.assert(
      fc.property(membershipsArb, requestArb, (memberships, request) => {
        const plan = planSoftDeletes(memberships, request);
        const bucketed = [
          ...plan.softDeletes.map((change) => change.before),
          ...plan.appliedEarlier,
          ...plan.stale,
          ...plan.alreadyDeleted,
        ];
        const inScope = memberships.filter((m) => request.accountIds.has(m.accountId));
        expect(bucketed).toHaveLength(inScope.length);
        expect(new Set(bucketed)).toEqual(new Set(inScope));
      }),
    );
  });

  it('never soft-deletes a membership whose last change is later than the event, except a removal of the person after an IdP re-add', () => {
    const later = (a: string | undefined, b: string) => (a !== undefined && Date.parse(a) > Date.parse(b) ? a : b);
    fc.assert(
      fc.property(membershipsArb, requestArb, (memberships, request) => {
        const plan = planSoftDeletes(memberships, request);
        for (const { before, after } of plan.softDeletes) {
          // A re-add never undoes a removal of the person, so an older one delivered after it still removes.
          const reAddedByIdp = request.removal === 'user' && lastChangedBy(before) === 'idp';
          if (!reAddedByIdp) expect(Date.parse(before.changedAt)).toBeLessThanOrEqual(Date.parse(request.occurredAt));
          expect(before.status).toBe('active');
          expect(after).toEqual({
            ...before,
            status: 'deleted',
            changedAt: later(before.changedAt, request.occurredAt),
            reason: request.reason,
            eventId: request.eventId,
            changedBy: 'idp',
            removal: request.removal,
            idpRemovedAt: later(before.idpRemovedAt, request.occurredAt),
          });
        }
      }),
    );
  });

  it('is idempotent: replanning after the writes plans nothing new and records the same outcome', () => {
    fc.assert(
      fc.property(membershipsArb, requestArb, (memberships, request) => {
        const first = planSoftDeletes(memberships, request);
        const again = planSoftDeletes(applied(memberships, first), request);
        expect(again.softDeletes).toEqual([]);
        expect(outcomeOfPlan(again)).toEqual(outcomeOfPlan(first));
      }),
    );
  });

  it('a redelivery after only some writes succeeded finishes the rest and records the same outcome', () => {
    fc.assert(
      fc.property(membershipsArb, requestArb, fc.infiniteStream(fc.boolean()), (memberships, request, succeeded) => {
        const first = planSoftDeletes(memberships, request);
        const partial = { ...first, softDeletes: first.softDeletes.filter(() => succeeded.next().value) };
        const retry = planSoftDeletes(applied(memberships, partial), request);
        expect(retry.softDeletes.map((change) => change.after)).toEqual(
          first.softDeletes.filter((change) => !partial.softDeletes.includes(change)).map((change) => change.after),
        );
        expect(outcomeOfPlan(retry)).toEqual(outcomeOfPlan(first));
      }),
    );
  });
});

describe('planRestores (an IdP re-add)', () => {
  const at = '2026-03-01T00:00:00.000Z';
  const base = { userId: 'user-1', role: 'Viewer' as const, reason: 'r', changedAt: '2026-02-01T00:00:00.000Z' };
  const reAdd = { roles: new Map([['acme', 'Admin' as const], ['globex', 'Author' as const]]), occurredAt: at, eventId: 'add-1', reason: 're-added to IdP group "G"' };

  it('gives back what the IdP removed with the role the group maps to, confirms what is active, and leaves sign-in removals alone', () => {
    const plan = planRestores(
      [
        { ...base, accountId: 'acme', status: 'deleted', changedBy: 'idp', removal: 'group', eventId: 'remove-1' },
        { ...base, accountId: 'globex', status: 'active', changedBy: 'sign-in' },
        { ...base, accountId: 'initech', status: 'deleted', changedBy: 'idp', removal: 'group' },
      ],
      reAdd,
    );
    expect(plan.restores?.map(({ after }) => [after.accountId, after.status, after.role, after.changedAt, after.changedBy, after.groupAddedAt])).toEqual([
      ['acme', 'active', 'Admin', at, 'idp', at],
      // Confirmed only: its state, role and time stay; the re-add's time is kept beside them.
      ['globex', 'active', 'Viewer', base.changedAt, 'sign-in', at],
    ]);
    expect(outcomeOfPlan(plan)).toEqual({ status: 'applied', detail: 'restored membership in acme' });
  });

  it('does not confirm a role higher than the re-added group grants: an out-of-order demotion still takes it', () => {
    const admin = { ...base, accountId: 'globex', role: 'Admin' as const, status: 'active' as const, changedBy: 'sign-in' as const };
    const plan = planRestores([admin], reAdd); // globex: Author
    expect(plan.restores).toEqual([]);
    const removalOfAdmins = planSoftDeletes([admin], { accountIds: new Set(['globex']), occurredAt: '2026-02-15T00:00:00.000Z', eventId: 'remove-admins', reason: 'r', removal: 'group' });
    expect(removalOfAdmins.softDeletes).toHaveLength(1);
  });

  it('makes an older group removal stale after a confirmation, but never a removal of the person', () => {
    const confirmed = { ...base, accountId: 'acme', status: 'active' as const, groupAddedAt: at };
    const older = { accountIds: new Set(['acme']), occurredAt: '2026-02-15T00:00:00.000Z', eventId: 'e', reason: 'r' };
    expect(outcomeOfPlan(planSoftDeletes([confirmed], { ...older, removal: 'group' })).status).toBe('stale');
    expect(planSoftDeletes([confirmed], { ...older, removal: 'user' }).softDeletes).toHaveLength(1);
  });

  it('records a removal that finds the membership deleted, so an older re-add delivered later is stale', () => {
    const deleted = { ...base, accountId: 'acme', status: 'deleted' as const, changedBy: 'idp' as const, removal: 'group' as const, eventId: 'remove-1' };
    const later = planSoftDeletes([deleted], { accountIds: new Set(['acme']), occurredAt: '2026-04-01T00:00:00.000Z', eventId: 'deactivate', reason: 'r', removal: 'user' });
    expect(later.removalsRecorded?.map(({ after }) => [after.status, after.removal, after.idpRemovedAt, after.eventId])).toEqual([['deleted', 'user', '2026-04-01T00:00:00.000Z', 'remove-1']]);
    expect(outcomeOfPlan(later)).toEqual({ status: 'skipped', detail: 'memberships already deleted' });
    const recorded = later.removalsRecorded?.[0]?.after;
    expect(outcomeOfPlan(planRestores(recorded ? [recorded] : [], reAdd)).status).toBe('skipped'); // removal of the person: never by a re-add
    const groupOnly = planSoftDeletes([deleted], { accountIds: new Set(['acme']), occurredAt: '2026-04-01T00:00:00.000Z', eventId: 'remove-2', reason: 'r', removal: 'group' });
    const recordedGroup = groupOnly.removalsRecorded?.[0]?.after;
    expect(outcomeOfPlan(planRestores(recordedGroup ? [recordedGroup] : [], reAdd)).status).toBe('stale'); // the re-add (March) is older than the removal (April)
  });

  it('does not undo a removal by a sign-in refusal or of a deprovisioned person, and is stale against a later change', () => {
    const bySignIn = planRestores([{ ...base, accountId: 'acme', status: 'deleted', changedBy: 'sign-in' }], reAdd);
    expect(bySignIn.restores).toEqual([]);
    expect(outcomeOfPlan(bySignIn).status).toBe('skipped');
    const deactivated = planRestores([{ ...base, accountId: 'acme', status: 'deleted', changedBy: 'idp', removal: 'user' }], reAdd);
    expect(deactivated.restores).toEqual([]);
    const later = planRestores([{ ...base, accountId: 'acme', status: 'deleted', changedBy: 'idp', removal: 'group', changedAt: '2026-04-01T00:00:00.000Z' }], reAdd);
    expect(outcomeOfPlan(later).status).toBe('stale');
  });

  it('is idempotent: replanning after the write changes nothing and records the same outcome', () => {
    const first = planRestores([{ ...base, accountId: 'acme', status: 'deleted', changedBy: 'idp', removal: 'group' }], reAdd);
    const after = first.restores?.map(({ after }) => after) ?? [];
    const again = planRestores(after, reAdd);
    expect(again.restores).toEqual([]);
    expect(outcomeOfPlan(again).status).toBe('applied');
  });
});

describe('planDemotions (a group removal that another group of the user still grants, at a lower role)', () => {
  const request = { roles: new Map([['acme', 'Author' as const]]), occurredAt: EVENT_TIME, eventId: 'event-1', reason: 'removed from IdP group "Admins"' };

  it('lowers a higher role to the remaining group\'s, with the event, and forgets the old role\'s confirmation', () => {
    const before = membership('acme', { role: 'Admin', groupAddedAt: '2025-03-02T00:00:00.000Z' });
    const { demotions } = planDemotions([before], request);
    const { groupAddedAt: _confirmedTheAdminRole, ...rest } = before;
    expect(demotions).toEqual([{ before, after: { ...rest, role: 'Author', changedAt: EVENT_TIME, reason: request.reason, eventId: 'event-1', changedBy: 'idp' } }]);
    expect(outcomeOfPlan({ softDeletes: [], appliedEarlier: [], stale: [], alreadyDeleted: [], demotions })).toMatchObject({ status: 'applied', detail: expect.stringContaining('lowered the role in acme') });
  });

  it('never raises, never touches a deleted membership, and leaves one changed after the event (a later sign-in or re-add decides)', () => {
    expect(planDemotions([membership('acme', { role: 'Viewer' })], request).demotions).toEqual([]);
    expect(planDemotions([membership('acme', { role: 'Admin', status: 'deleted' })], request).demotions).toEqual([]);
    expect(planDemotions([membership('acme', { role: 'Admin', changedAt: '2025-03-12T00:00:00.000Z' })], request).demotions).toEqual([]);
    expect(planDemotions([membership('acme', { role: 'Admin', groupAddedAt: '2025-03-12T00:00:00.000Z' })], request).demotions).toEqual([]);
  });

  it('a redelivery finds the membership demoted earlier by the same event and reads the same outcome', () => {
    const demoted = membership('acme', { role: 'Author', eventId: 'event-1', changedAt: EVENT_TIME, changedBy: 'idp' });
    const plan = { softDeletes: [], appliedEarlier: [], stale: [], alreadyDeleted: [], ...planDemotions([demoted], request) };
    expect(plan.demotions).toEqual([]);
    expect(outcomeOfPlan(plan)).toMatchObject({ status: 'applied', detail: expect.stringContaining('lowered the role in acme') });
  });
});

describe('mergePlans', () => {
  it("keeps the second plan's demotions (an Entra removal's soft-deletes and another account's demotion in one event), the first plan's write winning on one membership", () => {
    const request = { roles: new Map([['acme', 'Author' as const], ['globex', 'Viewer' as const]]), occurredAt: EVENT_TIME, eventId: 'event-1', reason: 'removed from a group' };
    const removals = planSoftDeletes([membership('globex', { role: 'Admin' })], removal(['globex']));
    const demotions = { softDeletes: [], appliedEarlier: [], stale: [], alreadyDeleted: [], ...planDemotions([membership('acme', { role: 'Admin' }), membership('globex', { role: 'Admin' })], request) };
    const merged = mergePlans(removals, demotions);
    expect(merged.softDeletes.map(({ after }) => after.accountId)).toEqual(['globex']);
    expect(merged.demotions?.map(({ after }) => `${after.accountId}:${after.role}`)).toEqual(['acme:Author']);
    expect(outcomeOfPlan(merged).detail).toContain('lowered the role in acme');
  });
});

describe('planReinstatements (the person active again in the IdP)', () => {
  it('records the time on each membership in the accounts, only ever later; an older removal of the person is then stale', () => {
    const active = membership('acme');
    const deleted = membership('globex', { status: 'deleted', removal: 'user', eventId: 'old', changedBy: 'idp' });
    const plan = planReinstatements([active, deleted, membership('initech')], { accountIds: new Set(['acme', 'globex']), occurredAt: EVENT_TIME });
    expect(plan.reinstatementsRecorded?.map(({ after }) => [after.accountId, after.reinstatedAt])).toEqual([['acme', EVENT_TIME], ['globex', EVENT_TIME]]);
    const reinstated = { ...active, reinstatedAt: EVENT_TIME };
    expect(planReinstatements([reinstated], { accountIds: new Set(['acme']), occurredAt: '2025-03-10T00:00:00.000Z' }).reinstatementsRecorded).toEqual([]);
    const older = planSoftDeletes([reinstated], removal(['acme'], { occurredAt: '2025-03-10T00:00:00.000Z', removal: 'user' }));
    expect(older.stale).toEqual([reinstated]);
    const newer = planSoftDeletes([reinstated], removal(['acme'], { occurredAt: '2025-03-12T00:00:00.000Z', removal: 'user' }));
    expect(newer.softDeletes).toHaveLength(1);
  });
});
