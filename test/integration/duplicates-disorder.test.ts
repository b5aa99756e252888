/**
 * Issue 12, part 2: duplicates and disorder. Random Okta changes for a few users (group removals,
 * re-adds, deactivations, deletions, suspensions), each delivery sent three times in a shuffled
 * order through the real okta-hook, the stream drained at random points in between so the real
 * process-okta-events sees them across batches, out of IdP time order; then one person signs in
 * with the groups value Cognito kept from before. Afterwards the memberships equal the model's (scripts/lib/membership-oracle.ts), every access change has exactly one audit
 * entry, and every event has an outcome.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createSeededTable, itemsOf, processUntilSettled, userIdOf } from '../helpers/stack.js';
import { oktaDelivery, oktaLogEvent, type OktaLogEvent } from '../helpers/fixtures.js';
import { postToOktaHook } from '../helpers/okta.js';
import { fuzzRuns } from '../helpers/fuzz.js';
import { createUserPool } from '../helpers/cognito.js';
import { AUTHENTICATE, invokeTrigger, oktaTriggerUser } from '../helpers/trigger.js';
import { expectedMemberships, grantedAccounts, grantedRole, type Grants, type IdpChange, type ModelMembership } from '../../scripts/lib/membership-oracle.js';
import { parseSeed } from '../../shared/domain/seed.js';
import { seedItems, writeSeed } from '../../shared/store/seed-writer.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

const CONNECTION = 'dup-okta';
const SECRET = 'dup-okta-hook-secret-000000000000000000';
/** Group → (account → role): each account granted by one group, one group granting two accounts. */
const GRANTS: Grants = new Map([
  ['Dup-Admins', new Map([['dup-one', 'Admin']])],
  ['Dup-Viewers', new Map([['dup-two', 'Viewer']])],
  ['Dup-Authors', new Map([['dup-three', 'Author'], ['dup-four', 'Author']])],
]);
const GROUPS = [...GRANTS.keys()];
const ACCOUNTS = grantedAccounts(GRANTS);
const roleIn = (accountId: string) => grantedRole(GRANTS, accountId);

let stream: LocalStream;
let userPoolId: string;

beforeAll(async () => {
  stream = await createSeededTable();
  userPoolId = await createUserPool();
  await writeSeed(seedWith([]));
});

const EVENT_TYPES = {
  groupRemoved: 'group.user_membership.remove',
  groupAdded: 'group.user_membership.add',
  deactivated: 'user.lifecycle.deactivate',
  deleted: 'user.lifecycle.delete.initiated',
  suspended: 'user.lifecycle.suspend',
} as const;

type Change = { type: keyof typeof EVENT_TYPES; user: number; group: string; at: number };

/** The Okta LogEvent of a change, as Okta sends it: the group removal fixture with its type and targets changed. */
function logEventOf(change: Change, email: string, publishedAt: Date): OktaLogEvent {
  const base = oktaLogEvent('okta-group-membership-remove.json', { eventType: EVENT_TYPES[change.type], published: publishedAt.toISOString() });
  const isGroupChange = change.type === 'groupRemoved' || change.type === 'groupAdded';
  const target = (base.target ?? [])
    .filter((t) => isGroupChange || t.type === 'User')
    .map((t) => (t.type === 'User' ? { ...t, alternateId: email } : { ...t, displayName: change.group }));
  return { ...base, target };
}

const changeArbitrary = fc.record({
  type: fc.constantFrom<Change['type']>('groupRemoved', 'groupRemoved', 'groupAdded', 'groupAdded', 'deactivated', 'deleted', 'suspended'),
  user: fc.integer({ min: 0, max: 1 }),
  group: fc.constantFrom(...GROUPS),
  // Distinct IdP times, seconds apart: equal times are a tie the rules settle separately.
  at: fc.integer({ min: 1, max: 3_000 }),
});

const scenarioArbitrary = fc
  .uniqueArray(changeArbitrary, { minLength: 1, maxLength: 6, selector: (change) => change.at })
  .chain((changes) =>
    fc.record({
      changes: fc.constant(changes),
      /** Which delivery each change goes in (Okta batches events). */
      deliveryOf: fc.array(fc.integer({ min: 0, max: Math.max(0, changes.length - 1) }), { minLength: changes.length, maxLength: changes.length }),
      /** The order of the three copies of every delivery, and whether the stream is drained after each. */
      order: fc.shuffledSubarray([...Array(changes.length * 3).keys()], { minLength: changes.length * 3, maxLength: changes.length * 3 }),
      drainAfter: fc.array(fc.boolean(), { minLength: changes.length * 3, maxLength: changes.length * 3 }),
    }),
  );

let run = 0;

describe('every delivery three times, shuffled, processed across batches', () => {
  it('ends in the memberships the rules give in IdP time order, one audit entry per access change, an outcome for every event', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async ({ changes, deliveryOf, order, drainAfter }) => {
        run += 1;
        const emails = [0, 1].map((user) => `dup-${run}-user-${user}@example.com`);
        const userIds = emails.map(userIdOf);
        await addUsers(emails);

        const base = Date.now() - 3_600_000;
        const events = changes.map((change) => logEventOf(change, emails[change.user] ?? '', new Date(base + change.at * 1000)));
        const deliveries = [...new Set(deliveryOf)].map((index) => oktaDelivery(events.filter((_, i) => deliveryOf[i] === index)));
        const copies = deliveries.flatMap((delivery) => [delivery, delivery, delivery]);
        for (const [step, index] of order.entries()) {
          const copy = copies[index];
          if (!copy) continue; // fewer deliveries than changes: some slots are empty
          expect((await postToOktaHook(CONNECTION, copy, { authorization: SECRET })).statusCode).toBe(200);
          if (drainAfter[step]) await stream.drain();
        }
        await processUntilSettled(stream, CONNECTION, events.map((event) => event.uuid));
        // A stale claim: the first user signs in with the groups value Cognito kept from before
        // every change. It is no evidence, so it restores nothing the IdP removed (README, rule 8).
        const staleSignIn = await oktaTriggerUser(userPoolId, `dup-${run}-user-0`, emails[0], 'DupOkta');
        await invokeTrigger(staleSignIn.event(AUTHENTICATE, JSON.stringify(GROUPS))).catch((refused: Error) => expect(refused.message).toMatch(/removed by your identity provider|no access/i));

        const model: IdpChange[] = changes.map((change) =>
          change.type === 'groupRemoved' || change.type === 'groupAdded'
            ? { kind: change.type, user: emails[change.user] ?? '', group: change.group, at: change.at }
            : { kind: 'userRemoved', user: emails[change.user] ?? '', at: change.at },
        );
        const initial = new Map(emails.map((email) => [email, new Map(ACCOUNTS.map((accountId): [string, ModelMembership] => [accountId, { status: 'active', role: roleIn(accountId) }]))]));
        const expected = expectedMemberships(initial, GRANTS, model);

        const memberships = (await itemsOf('Membership')).filter((item) => userIds.includes(item.userId as string));
        const actual = Object.fromEntries(memberships.map((m) => [`${emails[userIds.indexOf(m.userId as string)]} ${m.accountId as string}`, `${m.status as string}:${m.role as string}`]));
        const wanted = Object.fromEntries([...expected].flatMap(([email, accounts]) => [...accounts].map(([accountId, m]) => [`${email} ${accountId}`, `${m.status}:${m.role}`])));
        expect(actual).toEqual(wanted);

        const inbox = (await itemsOf('InboxEvent')).filter((item) => item.connectionId === CONNECTION && events.some((event) => event.uuid === item.eventId));
        expect(inbox).toHaveLength(events.length);
        for (const item of inbox) expect(['applied', 'skipped', 'stale']).toContain(item.status);

        // One audit entry per access change: replayed in the order they were written, each
        // membership's entries flip its status from what the previous one left, and end where it is.
        const audits = (await itemsOf('Audit')).filter((item) => userIds.includes(item.userId as string));
        for (const membership of memberships) {
          const own = audits
            .filter((audit) => audit.userId === membership.userId && audit.accountId === membership.accountId)
            .sort((a, b) => String(a.recordedAt).localeCompare(String(b.recordedAt)) || String(a.occurredAt).localeCompare(String(b.occurredAt)));
          expect(new Set(own.map((audit) => audit.eventId)).size).toBe(own.length);
          let status = 'active';
          for (const audit of own) {
            expect((audit.before as { status: string }).status).toBe(status);
            status = (audit.after as { status: string }).status;
            expect(status).not.toBe((audit.before as { status: string }).status);
          }
          expect(status).toBe(membership.status);
        }
      }),
      {
        numRuns: fuzzRuns(12),
        examples: [
          // Removed from a group, re-added, and deactivated between the two, the deactivation delivered last.
          [{ changes: [{ type: 'groupRemoved', user: 0, group: 'Dup-Admins', at: 10 }, { type: 'groupAdded', user: 0, group: 'Dup-Admins', at: 30 }, { type: 'deactivated', user: 0, group: 'Dup-Admins', at: 20 }], deliveryOf: [0, 1, 2], order: [0, 1, 2, 3, 4, 5, 6, 7, 8], drainAfter: Array(9).fill(true) }],
          // Deactivated, then removed from a group, the removal processed first; then re-added.
          [{ changes: [{ type: 'groupRemoved', user: 0, group: 'Dup-Authors', at: 30 }, { type: 'suspended', user: 0, group: 'Dup-Admins', at: 20 }, { type: 'groupAdded', user: 0, group: 'Dup-Authors', at: 40 }], deliveryOf: [0, 1, 2], order: [0, 1, 2, 3, 4, 5, 6, 7, 8], drainAfter: Array(9).fill(true) }],
        ],
      },
    );
    // The stale-claim sign-ins reached the mapping: some were admitted where access was left, and linked.
    expect((await itemsOf('Identity')).some((identity) => String(identity.cognitoUsername ?? '').startsWith('DupOkta_'))).toBe(true);
  }, Math.max(120_000, fuzzRuns(12) * 5_000));
});

/** The connection and its accounts, and these users with an active membership in every account. */
function seedWith(emails: string[]) {
  return parseSeed({
    connections: [{ id: CONNECTION, type: 'okta', providerNames: ['DupOkta'], hookSecrets: [SECRET] }],
    accounts: ACCOUNTS.map((id) => ({
      id,
      ssoConfig: {
        active: true,
        allowedDomains: ['example.com'],
        providers: [{ connectionId: CONNECTION, providerName: 'DupOkta', groups: GROUPS.flatMap((group) => (GRANTS.get(group)?.has(id) ? [{ group, role: roleIn(id) }] : [])) }],
      },
    })),
    users: emails.map((email) => ({
      email,
      identities: [{ connectionId: CONNECTION }],
      memberships: ACCOUNTS.map((accountId) => ({ accountId, role: roleIn(accountId), changedAt: '2025-01-01T00:00:00Z' })),
    })),
  });
}

/** Writes only the users' items (user, identity, memberships): the connection and accounts are there already. */
async function addUsers(emails: string[]): Promise<void> {
  const userEntities = new Set(['User', 'Identity', 'Membership']);
  const items = seedItems(seedWith(emails), new Date()).filter((item) => userEntities.has(item.entity as string));
  await Promise.all(items.map((Item) => documentClient.send(new PutCommand({ TableName: tableName, Item }))));
}
