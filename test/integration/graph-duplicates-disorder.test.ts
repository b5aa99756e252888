/**
 * Issue 12, part 2, for Entra: random directory changes (a member removed from or added back to a
 * granting group, a user disabled or deleted) happen in the fake Graph one after another; the
 * notification of each is posted three times, in a shuffled order, only after its change, through
 * the real graph-hook, with the stream drained at random points. Graph is the truth, so afterwards
 * every membership is what Graph says at the end: deleted for a person disabled or deleted at any
 * point (a re-add never undoes that), else active exactly when the person is in the group; every
 * access change has one audit entry, and every event has an outcome.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

const fake = await vi.hoisted(async () => {
  const { startFakeGraph } = await import('../../scripts/lib/fake-graph.js');
  const started = await startFakeGraph();
  process.env.GRAPH_BASE_URL = started.baseUrl;
  process.env.GRAPH_AUTHORITY_HOST = started.authorityHost;
  process.env.HOOKS_BASE_URL = 'https://hooks.example.test';
  return started;
});

const { addSeedUser, createSeededTable, itemsOf } = await import('../helpers/stack.js');
const { about, graphNotification, postToGraphHook, useFakeGraphForEntraA } = await import('../helpers/graph.js');
const { fuzzRuns } = await import('../helpers/fuzz.js');

/** entra-a's groups that each grant one account alone (contoso's second group, …0d2003, stays empty). */
const GROUP_OF: Record<string, string> = { contoso: '00000000-0000-4000-8000-0000000d2001', northwind: '00000000-0000-4000-8000-0000000d2002' };
const ROLE_OF: Record<string, string> = { contoso: 'Author', northwind: 'Viewer' };
const ACCOUNTS = Object.keys(GROUP_OF);

let stream: LocalStream;
beforeAll(async () => {
  stream = await createSeededTable();
});
useFakeGraphForEntraA(fake);

type Change = { type: 'removed' | 'added' | 'disabled' | 'deleted'; user: number; account: string };

const changeArbitrary = fc.record({
  type: fc.constantFrom<Change['type']>('removed', 'removed', 'added', 'added', 'disabled', 'deleted'),
  user: fc.integer({ min: 0, max: 1 }),
  account: fc.constantFrom(...ACCOUNTS),
});

const scenarioArbitrary = fc.array(changeArbitrary, { minLength: 1, maxLength: 6 }).chain((changes) =>
  fc.record({
    changes: fc.constant(changes),
    /** For each copy of each notification (three per change), how many changes later it is posted (0: right after its own). */
    delays: fc.array(fc.nat({ max: changes.length }), { minLength: changes.length * 3, maxLength: changes.length * 3 }),
    drainAfter: fc.array(fc.boolean(), { minLength: changes.length + 1, maxLength: changes.length + 1 }),
  }),
);

async function settle(): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await stream.drain();
    if ((await itemsOf('InboxEvent')).every((item) => item.status !== 'pending')) return;
    if (Date.now() > deadline) throw new Error('Graph events still pending');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let run = 0;

describe('Graph notifications three times, shuffled, around the changes they announce', () => {
  it('end in what Graph says at the end, one audit entry per access change, an outcome for every event', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async ({ changes, delays, drainAfter }) => {
        run += 1;
        const since = new Date().toISOString();
        const people = [0, 1].map((n) => ({
          objectId: `00000000-0000-4000-8000-${(0x2600000 + run * 4 + n).toString(16).padStart(12, '0')}`,
          email: `graph-dup-${run}-${n}@example.com`,
        }));
        const userIds = await Promise.all(
          people.map(({ objectId, email }) =>
            addSeedUser({ email, identities: [{ connectionId: 'entra-a', subject: objectId }], memberships: ACCOUNTS.map((accountId) => ({ accountId, role: ROLE_OF[accountId] ?? 'Viewer', changedAt: '2025-01-01T00:00:00Z' })) }),
          ),
        );
        // Graph's side, kept as the model too: who is in which group, who is gone.
        const members = new Map(ACCOUNTS.map((accountId) => [accountId, new Set(people.map((p) => p.objectId))]));
        const gone = new Set<string>();
        const applyToGraph = () => {
          for (const [accountId, ids] of members) fake.setGroupMembers(GROUP_OF[accountId] ?? '', [...ids]);
          for (const { objectId, email } of people) {
            if (gone.has(`deleted ${objectId}`)) fake.deleteUser(objectId);
            else fake.setUser({ id: objectId, mail: email, userPrincipalName: email, accountEnabled: !gone.has(`disabled ${objectId}`) });
          }
        };
        applyToGraph();

        const base = Date.now() - 600_000;
        const notifications = changes.map((change, index) => {
          const { objectId } = people[change.user] ?? { objectId: '' };
          const eventTime = new Date(base + index * 1000).toISOString();
          if (change.type === 'disabled' || change.type === 'deleted') {
            const notification = about(graphNotification(change.type === 'deleted' ? 'graph-user-deleted.json' : 'graph-user-updated.json'), objectId);
            notification.resourceData.eventTime = eventTime;
            return notification;
          }
          const notification = about(graphNotification('graph-group-member-removed.json'), GROUP_OF[change.account] ?? '');
          notification.resourceData['members@delta'] = [change.type === 'removed' ? { id: objectId, '@removed': 'deleted' } : { id: objectId }];
          notification.resourceData.eventTime = eventTime;
          return notification;
        });
        // A copy due after the last change is posted with the last step's.
        const dueAt = (index: number, copy: number) => Math.min(changes.length, index + (delays[index * 3 + copy] ?? 0));
        const postAt = (step: number) => notifications.flatMap((notification, index) => [0, 1, 2].filter((copy) => dueAt(index, copy) === step).map(() => notification));

        for (let step = 0; step <= changes.length; step++) {
          const change = changes[step];
          if (change) {
            const { objectId } = people[change.user] ?? { objectId: '' };
            if (change.type === 'removed') members.get(change.account)?.delete(objectId);
            else if (change.type === 'added') members.get(change.account)?.add(objectId);
            else gone.add(`${change.type} ${objectId}`);
            applyToGraph();
          }
          // Copies due now, in a shuffled order (delays spread them); a late copy of an old change too.
          for (const notification of postAt(step)) {
            expect((await postToGraphHook('entra-a', { value: [notification] })).statusCode).toBe(202);
          }
          if (drainAfter[step]) await stream.drain();
        }
        await settle();

        const expected = Object.fromEntries(
          people.flatMap(({ objectId }, n) =>
            ACCOUNTS.map((accountId) => {
              const removedPerson = gone.has(`disabled ${objectId}`) || gone.has(`deleted ${objectId}`);
              const active = !removedPerson && (members.get(accountId)?.has(objectId) ?? false);
              return [`${n} ${accountId}`, active ? 'active' : 'deleted'];
            }),
          ),
        );
        const memberships = (await itemsOf('Membership')).filter((item) => userIds.includes(item.userId as string));
        expect(Object.fromEntries(memberships.map((m) => [`${userIds.indexOf(m.userId as string)} ${m.accountId as string}`, m.status]))).toEqual(expected);

        const events = (await itemsOf('InboxEvent')).filter((item) => item.connectionId === 'entra-a' && String(item.receivedAt) >= since);
        for (const event of events) expect(['applied', 'skipped', 'stale']).toContain(event.status);

        const audits = (await itemsOf('Audit')).filter((item) => userIds.includes(item.userId as string));
        for (const membership of memberships) {
          const own = audits
            .filter((audit) => audit.userId === membership.userId && audit.accountId === membership.accountId)
            .sort((a, b) => String(a.recordedAt).localeCompare(String(b.recordedAt)));
          expect(new Set(own.map((audit) => audit.eventId)).size).toBe(own.length);
          let status = 'active';
          for (const audit of own) {
            expect((audit.before as { status: string }).status).toBe(status);
            status = (audit.after as { status: string }).status;
          }
          expect(status).toBe(membership.status);
        }
      }),
      {
        numRuns: fuzzRuns(6),
        examples: [
          // Removed and added back, the removal processed in between; a re-add's copies posted only at the end.
          [{ changes: [{ type: 'deleted', user: 0, account: 'northwind' }, { type: 'added', user: 1, account: 'northwind' }, { type: 'removed', user: 1, account: 'northwind' }, { type: 'removed', user: 0, account: 'northwind' }, { type: 'added', user: 1, account: 'northwind' }, { type: 'disabled', user: 0, account: 'contoso' }], delays: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 0, 0, 0], drainAfter: [false, false, false, true, false, false, false] }],
        ],
      },
    );
  }, Math.max(120_000, fuzzRuns(6) * 10_000));
});
