/**
 * Issue 12, part 4: isolation. Random changes delivered on connection A (okta-a, entra-a) never
 * touch an account served only by connection B (initech on okta-b, fabrikam on entra-b), even for
 * people B knows by the same email, the same Entra object id or the same Okta user id, and even
 * when the group has the same name (Finance-Approvers) or the same object id (…0d2001) on both.
 * Everything runs through the real hooks, the real stream and the real processors; Graph is the
 * local fake, where nobody is in any group and unknown users answer 404 (so A's changes remove).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

// Configuration is read once, at the handlers' import: the fake Graph must be up before that.
const fake = await vi.hoisted(async () => {
  const { startFakeGraph } = await import('../../scripts/lib/fake-graph.js');
  const started = await startFakeGraph();
  process.env.GRAPH_BASE_URL = started.baseUrl;
  process.env.GRAPH_AUTHORITY_HOST = started.authorityHost;
  process.env.HOOKS_BASE_URL = 'https://hooks.example.test';
  return started;
});

const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
const { documentClient, tableName } = await import('../../shared/store/client.js');
const { parseSeed } = await import('../../shared/domain/seed.js');
const { seedItems } = await import('../../shared/store/seed-writer.js');
const { createSeededTable, itemsOf, SECRET_A1, testSeed } = await import('../helpers/stack.js');
const { oktaDelivery, oktaLogEvent } = await import('../helpers/fixtures.js');
const { postToOktaHook } = await import('../helpers/okta.js');
const { fuzzRuns } = await import('../helpers/fuzz.js');
const { about, graphNotification, postToGraphHook, useFakeGraphForEntraA } = await import('../helpers/graph.js');

/** Accounts only connection B serves: initech (okta-b), fabrikam (entra-b). */
const B_ACCOUNTS = ['initech', 'fabrikam'];
/** Granted by …0d2001 on entra-a (contoso) and on entra-b (fabrikam) alike. */
const SHARED_GROUP_ID = '00000000-0000-4000-8000-0000000d2001';

let stream: LocalStream;
beforeAll(async () => {
  stream = await createSeededTable();
});
useFakeGraphForEntraA(fake);

type SeedUser = { id: string; email: string; identities: { connectionId: string; subject?: string }[]; memberships: { accountId: string; role: string }[] };

/** Writes users' items only (several may share an email: one seed file could not hold them). */
async function addUsers(users: SeedUser[]): Promise<void> {
  const entities = new Set(['User', 'Identity', 'Membership']);
  for (const user of users) {
    const seed = parseSeed({
      ...structuredClone(testSeed),
      users: [{ ...user, memberships: user.memberships.map((m) => ({ ...m, changedAt: '2025-01-01T00:00:00Z' })) }],
    });
    const items = seedItems(seed, new Date()).filter((item) => entities.has(item.entity as string));
    await Promise.all(items.map((Item) => documentClient.send(new PutCommand({ TableName: tableName, Item }))));
  }
}

/**
 * The people of one run. `both` is one person on every connection; the others are pairs of two
 * people that A and B know under the same email, the same object id or the same Okta user id.
 */
function peopleOf(run: number) {
  const hex = (n: number) => `00000000-0000-4000-8000-${(0x1500000 + run * 16 + n).toString(16).padStart(12, '0')}`;
  const oktaId = (n: number) => `00u${String(run * 16 + n).padStart(13, '0')}ISO`;
  const email = (name: string) => `iso-${run}-${name}@example.com`;
  const bothOid = hex(1);
  const sharedOid = hex(2);
  const sharedOktaId = oktaId(3);
  const users: SeedUser[] = [
    {
      id: `iso-${run}-both`,
      email: email('both'),
      identities: [
        { connectionId: 'okta-a', subject: oktaId(1) },
        { connectionId: 'okta-b', subject: oktaId(1) },
        { connectionId: 'entra-a', subject: bothOid },
        { connectionId: 'entra-b', subject: bothOid },
      ],
      memberships: ['acme', 'globex', 'contoso', 'northwind', 'initech', 'fabrikam'].map((accountId) => ({ accountId, role: 'Viewer' })),
    },
    // The same email, two people: one on okta-a (and entra-a), one on okta-b and entra-b.
    { id: `iso-${run}-mail-a`, email: email('same-mail'), identities: [{ connectionId: 'okta-a' }, { connectionId: 'entra-a', subject: hex(4) }], memberships: [{ accountId: 'acme', role: 'Admin' }, { accountId: 'contoso', role: 'Author' }] },
    { id: `iso-${run}-mail-b`, email: email('same-mail'), identities: [{ connectionId: 'okta-b' }, { connectionId: 'entra-b', subject: hex(5) }], memberships: [{ accountId: 'initech', role: 'Admin' }, { accountId: 'fabrikam', role: 'Admin' }] },
    // The same object id in two tenants, two people.
    { id: `iso-${run}-oid-a`, email: email('oid-a'), identities: [{ connectionId: 'entra-a', subject: sharedOid }], memberships: [{ accountId: 'contoso', role: 'Author' }, { accountId: 'northwind', role: 'Viewer' }] },
    { id: `iso-${run}-oid-b`, email: email('oid-b'), identities: [{ connectionId: 'entra-b', subject: sharedOid }], memberships: [{ accountId: 'fabrikam', role: 'Admin' }] },
    // The same Okta user id in two orgs, two people.
    { id: `iso-${run}-okta-a`, email: email('okta-a'), identities: [{ connectionId: 'okta-a', subject: sharedOktaId }], memberships: [{ accountId: 'acme', role: 'Author' }, { accountId: 'globex', role: 'Viewer' }] },
    { id: `iso-${run}-okta-b`, email: email('okta-b'), identities: [{ connectionId: 'okta-b', subject: sharedOktaId }], memberships: [{ accountId: 'initech', role: 'Admin' }] },
  ];
  return {
    users,
    /** Who A's changes name: every email and id of the run, B's people's too. */
    emails: [...new Set(users.map((user) => user.email))],
    oktaIds: [oktaId(1), sharedOktaId],
    objectIds: [bothOid, sharedOid, hex(4), hex(5)],
  };
}

const OKTA_TYPES = ['group.user_membership.remove', 'group.user_membership.add', 'user.lifecycle.deactivate', 'user.lifecycle.delete.initiated', 'user.lifecycle.suspend'] as const;
const GRAPH_CHANGES = ['user deleted', 'user updated', 'member removed', 'group updated', 'group deleted'] as const;

const changeArbitrary = fc.oneof(
  fc.record({
    on: fc.constant('okta-a' as const),
    type: fc.constantFrom(...OKTA_TYPES),
    person: fc.nat(),
    oktaId: fc.nat(),
    // Finance-Approvers is a group of okta-b too (it grants initech there).
    group: fc.constantFrom('Finance-Approvers', 'Payroll-Admins'),
  }),
  fc.record({
    on: fc.constant('entra-a' as const),
    type: fc.constantFrom(...GRAPH_CHANGES),
    person: fc.nat(),
    // …0d2001 is also fabrikam's group on entra-b.
    group: fc.constantFrom(SHARED_GROUP_ID, '00000000-0000-4000-8000-0000000d2002'),
  }),
);

type Change = typeof changeArbitrary extends fc.Arbitrary<infer T> ? T : never;
const pick = <T>(list: readonly T[], n: number): T => list[n % list.length] as T;

async function deliver(change: Change, people: ReturnType<typeof peopleOf>): Promise<void> {
  if (change.on === 'okta-a') {
    const event = oktaLogEvent('okta-group-membership-remove.json', { eventType: change.type });
    const groupChange = change.type.startsWith('group.');
    event.target = (event.target ?? [])
      .filter((target) => groupChange || target.type === 'User')
      .map((target) =>
        target.type === 'User' ? { ...target, alternateId: pick(people.emails, change.person), id: pick(people.oktaIds, change.oktaId) } : { ...target, displayName: change.group },
      );
    expect((await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: SECRET_A1 })).statusCode).toBe(200);
    return;
  }
  const objectId = pick(people.objectIds, change.person);
  const eventTime = new Date().toISOString();
  let notification;
  if (change.type === 'user deleted' || change.type === 'user updated') {
    notification = about(graphNotification(change.type === 'user deleted' ? 'graph-user-deleted.json' : 'graph-user-updated.json'), objectId);
    notification.resourceData.eventTime = eventTime;
  } else {
    notification = about(graphNotification('graph-group-member-removed.json'), change.group);
    if (change.type === 'member removed') notification.resourceData['members@delta'] = [{ id: objectId, '@removed': 'deleted' }];
    else delete notification.resourceData['members@delta'];
    if (change.type === 'group deleted') notification.changeType = 'deleted';
  }
  expect((await postToGraphHook('entra-a', { value: [notification] })).statusCode).toBe(202);
}

/** Runs the stream until no inbox event of either processor is pending. */
async function settle(): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    await stream.drain();
    const pending = (await itemsOf('InboxEvent')).filter((item) => item.status === 'pending');
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${pending.length} inbox events still pending`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every item that belongs to B alone: B's accounts' memberships, and B's people's items. */
async function bSide(userIds: string[]): Promise<string[]> {
  const bPeople = userIds.filter((id) => id.endsWith('-b'));
  const items = (await itemsOf('Membership')).filter(
    (item) => userIds.includes(item.userId as string) && (B_ACCOUNTS.includes(item.accountId as string) || bPeople.includes(item.userId as string)),
  );
  return items.map((item) => JSON.stringify(item)).sort();
}

let run = 0;

describe('changes on connection A never touch what only connection B serves', () => {
  it("memberships in B's accounts, and B's people, stay exactly as they were", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(changeArbitrary, { minLength: 1, maxLength: 5 }), async (changes) => {
        run += 1;
        const people = peopleOf(run);
        await addUsers(people.users);
        const userIds = people.users.map((user) => user.id);
        const before = await bSide(userIds);
        expect(before.length).toBeGreaterThanOrEqual(6);

        for (const change of changes) await deliver(change, people);
        await settle();

        expect(await bSide(userIds)).toEqual(before);
        const inbox = await itemsOf('InboxEvent');
        expect(inbox.filter((item) => item.connectionId === 'okta-b' || item.connectionId === 'entra-b')).toEqual([]);
        expect(inbox.filter((item) => item.status === 'failed')).toEqual([]);
      }),
      { numRuns: fuzzRuns(8) },
    );
  }, Math.max(120_000, fuzzRuns(8) * 8_000));

  it('the same changes do remove on A: the property above is not vacuous', async () => {
    run += 1;
    const people = peopleOf(run);
    await addUsers(people.users);
    await deliver({ on: 'okta-a', type: 'user.lifecycle.deactivate', person: 0, oktaId: 0, group: 'Finance-Approvers' }, people);
    await deliver({ on: 'entra-a', type: 'user deleted', person: 0, group: SHARED_GROUP_ID }, people);
    await settle();
    const memberships = (await itemsOf('Membership')).filter((item) => item.userId === `iso-${run}-both`);
    expect(Object.fromEntries(memberships.map((m) => [m.accountId, m.status]))).toEqual({
      acme: 'deleted',
      globex: 'deleted',
      contoso: 'deleted',
      northwind: 'deleted',
      initech: 'active',
      fabrikam: 'active',
    });
  });
});
