/**
 * Okta deprovisioning end to end: a delivery goes through the real hook handler into DynamoDB
 * Local, the table's stream drives the real process-okta-events handler, and the memberships,
 * audit entries and recorded outcomes are read back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { oktaDelivery, oktaLogEvent, withGroup, withUser, type OktaLogEvent } from '../helpers/fixtures.js';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { addUser, createSeededTable, itemsOf, membership, processUntilSettled, SECRET_A1, SECRET_B } from '../helpers/stack.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { keys } from '../../shared/store/keys.js';
import { postToOktaHook } from '../helpers/okta.js';
import { enforceKeyLimitOnQueries } from '../helpers/faults.js';
import { getInboxEvent } from '../../shared/store/inbox.js';
import { DEFAULT_OKTA_EVENT_TYPES } from '../../shared/config.js';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
});

/** Posts the events to okta-a, runs the stream, and returns each event's recorded outcome. */
async function deliver(...events: OktaLogEvent[]) {
  const response = await postToOktaHook('okta-a', oktaDelivery(events), { authorization: SECRET_A1 });
  expect(response.statusCode).toBe(200);
  const stored = events.filter((event) => (DEFAULT_OKTA_EVENT_TYPES as readonly string[]).includes(event.eventType));
  await processUntilSettled(stream, 'okta-a', stored.map((event) => event.uuid));
  return Promise.all(events.map((event) => getInboxEvent('okta-a', event.uuid)));
}

const removal = (email: string, group = 'Finance-Approvers', changes: Partial<OktaLogEvent> = {}) =>
  withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json', changes), email), group);

async function statuses(email: string) {
  return {
    acme: (await membership(email, 'acme'))?.status,
    globex: (await membership(email, 'globex'))?.status,
    initech: (await membership(email, 'initech'))?.status,
  };
}

async function auditsFor(eventId: string) {
  return (await itemsOf('Audit')).filter((entry) => entry.eventId === eventId);
}

describe('group removal', () => {
  it('soft-deletes the membership of the account that lists the group, with one audit entry', async () => {
    const email = await addUser('removed.from.finance@example.com');
    const event = removal(email, 'Finance-Approvers');
    const [outcome] = await deliver(event);

    // Payroll-Admins also grants acme, but okta-a has no API token to ask Okta whether the user is still in it.
    expect(outcome).toMatchObject({ status: 'applied', detail: 'soft-deleted membership in acme (no Okta API token: other groups not checked)' });
    // Finance-Approvers grants acme only; globex is Payroll-Admins; initech belongs to okta-b.
    expect(await statuses(email)).toEqual({ acme: 'deleted', globex: 'active', initech: 'active' });
    expect(await membership(email, 'acme')).toMatchObject({
      changedAt: event.published,
      eventId: event.uuid,
      reason: 'removed from IdP group "Finance-Approvers"',
    });
    const audits = await auditsFor(event.uuid);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ accountId: 'acme', action: 'membership.soft_deleted', before: { status: 'active' } });
  });

  it('removes from every account that lists the group', async () => {
    const email = await addUser('removed.from.payroll@example.com');
    const [outcome] = await deliver(removal(email, 'Payroll-Admins'));
    expect(outcome?.status).toBe('applied');
    expect(await statuses(email)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
  });

  it('skips a group that no account of this connection lists, and changes nothing', async () => {
    const email = await addUser('removed.from.everyone@example.com');
    const [outcome] = await deliver(removal(email, 'Everyone'));
    expect(outcome).toMatchObject({ status: 'skipped', detail: expect.stringContaining('not configured') });
    expect(await statuses(email)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  });

  it('matches the email whatever its case', async () => {
    const email = await addUser('mixed.case@example.com');
    const [outcome] = await deliver(removal('Mixed.Case@EXAMPLE.com', 'Finance-Approvers'));
    expect(outcome?.status).toBe('applied');
    expect((await membership(email, 'acme'))?.status).toBe('deleted');
  });

  it('picks targets by type, in either order', async () => {
    const email = await addUser('targets.reversed@example.com');
    const event = removal(email, 'Finance-Approvers');
    const [outcome] = await deliver({ ...event, target: [...(event.target ?? [])].reverse() });
    expect(outcome?.status).toBe('applied');
    expect((await membership(email, 'acme'))?.status).toBe('deleted');
  });

  it('records a removal without a group target as invalid and changes nothing', async () => {
    const email = await addUser('no.group.target@example.com');
    const event = removal(email);
    const [outcome] = await deliver({ ...event, target: (event.target ?? []).filter((t) => t.type !== 'UserGroup') });
    expect(outcome).toMatchObject({ status: 'invalid', detail: expect.stringContaining('UserGroup') });
    expect(await statuses(email)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  });

  it('records an event without a user target as invalid', async () => {
    const event = oktaLogEvent('okta-user-deactivate.json', { target: [] });
    const [outcome] = await deliver(event);
    expect(outcome).toMatchObject({ status: 'invalid', detail: expect.stringContaining('User target') });
  });

  it('skips an event whose outcome is FAILURE and changes nothing', async () => {
    const email = await addUser('failed.attempt@example.com');
    const [outcome] = await deliver(removal(email, 'Finance-Approvers', { outcome: { result: 'FAILURE', reason: 'denied' } }));
    expect(outcome).toMatchObject({ status: 'skipped', detail: expect.stringContaining('FAILURE') });
    expect(await statuses(email)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  });
});

describe('user deactivated or deleted', () => {
  it.each([
    ['okta-user-deactivate.json', 'IdP user deactivated'],
    ['okta-user-delete.json', 'IdP user deleted'],
  ])('%s deletes the memberships of every account of this connection, and no other', async (file, reason) => {
    const email = await addUser(`leaver.${file.replace(/\W/g, '')}@example.com`);
    const event = withUser(oktaLogEvent(file), email);
    const [outcome] = await deliver(event);
    expect(outcome).toMatchObject({ status: 'applied', detail: 'soft-deleted membership in acme, globex' });
    expect(await statuses(email)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
    expect((await membership(email, 'globex'))?.reason).toBe(reason);
    expect(await auditsFor(event.uuid)).toHaveLength(2);
  });

  it('skips an unknown user and creates nothing', async () => {
    const users = (await itemsOf('User')).length;
    const memberships = (await itemsOf('Membership')).length;
    const identities = (await itemsOf('Identity')).length;
    const [outcome] = await deliver(withUser(oktaLogEvent('okta-user-deactivate.json'), 'never.signed.in@example.com'));
    expect(outcome).toMatchObject({ status: 'skipped', detail: expect.stringContaining('no user') });
    expect((await itemsOf('User')).length).toBe(users);
    expect((await itemsOf('Membership')).length).toBe(memberships);
    expect((await itemsOf('Identity')).length).toBe(identities);
  });
});

describe('user suspended', () => {
  const suspension = (email: string) => withUser(oktaLogEvent('okta-user-deactivate.json', { eventType: 'user.lifecycle.suspend' }), email);

  it('soft-deletes the memberships of every account of this connection, recorded as a removal of the person', async () => {
    const email = await addUser('suspended@example.com');
    const event = suspension(email);
    const [outcome] = await deliver(event);
    expect(outcome).toMatchObject({ status: 'applied', detail: 'soft-deleted membership in acme, globex' });
    expect(await statuses(email)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
    expect(await membership(email, 'acme')).toMatchObject({ changedBy: 'idp', removal: 'user', eventId: event.uuid, reason: 'IdP user suspended' });
    expect(await auditsFor(event.uuid)).toHaveLength(2);
  });

  it('is skipped with the reason, changing nothing, when the connection keeps suspended users (deprovisionOnSuspend off)', async () => {
    // okta-b, which no other test suspends on: the processor caches a connection for CONFIG_CACHE_SECONDS.
    await documentClient.send(
      new UpdateCommand({ TableName: tableName, Key: keys.connection('okta-b'), UpdateExpression: 'SET deprovisionOnSuspend = :off', ExpressionAttributeValues: { ':off': false } }),
    );
    const email = await addUser('suspended.but.kept@example.com');
    const event = suspension(email);
    expect((await postToOktaHook('okta-b', oktaDelivery([event]), { authorization: SECRET_B })).statusCode).toBe(200);
    await processUntilSettled(stream, 'okta-b', [event.uuid]);
    expect(await getInboxEvent('okta-b', event.uuid)).toMatchObject({
      status: 'skipped',
      detail: 'user suspended in Okta, but this connection keeps suspended users (deprovisionOnSuspend off)',
    });
    expect(await statuses(email)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
    expect(await auditsFor(event.uuid)).toHaveLength(0);
  });

  it('records an unsuspension (acted on by default): skipped, access unchanged, nothing audited', async () => {
    const email = await addUser('unsuspended@example.com');
    const event = withUser(oktaLogEvent('okta-user-deactivate.json', { eventType: 'user.lifecycle.unsuspend' }), email);
    const [outcome] = await deliver(event);
    expect(outcome).toMatchObject({ status: 'skipped', detail: expect.stringContaining('the person is active again') });
    expect(await auditsFor(event.uuid)).toHaveLength(0);
  });
});

describe('at-least-once delivery, exactly-once effects', () => {
  it('applies an event delivered three times once, with one audit entry', async () => {
    const email = await addUser('delivered.thrice@example.com');
    const event = removal(email, 'Finance-Approvers');
    for (let delivery = 0; delivery < 3; delivery++) await deliver(event);

    expect((await itemsOf('InboxEvent')).filter((item) => item.eventId === event.uuid)).toHaveLength(1);
    expect(await auditsFor(event.uuid)).toHaveLength(1);
    expect(await getInboxEvent('okta-a', event.uuid)).toMatchObject({ status: 'applied' });
  });

  it('stores only the new events of a redelivered batch, and a uuid repeated in one delivery once', async () => {
    const email = await addUser('partly.redelivered@example.com');
    const removal1 = removal(email, 'Finance-Approvers');
    const deactivation = withUser(oktaLogEvent('okta-user-deactivate.json'), email);
    await deliver(removal1);
    const outcomes = await deliver(removal1, deactivation, deactivation);
    expect(outcomes.map((outcome) => outcome?.status)).toEqual(['applied', 'applied', 'applied']);
    const ids = [removal1.uuid, deactivation.uuid];
    expect((await itemsOf('InboxEvent')).filter((item) => ids.includes(item.eventId as string))).toHaveLength(2);
    expect((await auditsFor(removal1.uuid)).map((entry) => entry.accountId)).toEqual(['acme']);
    expect((await auditsFor(deactivation.uuid)).map((entry) => entry.accountId)).toEqual(['globex']);
  });

  it('applies events of one batch that touch the same user one at a time, in IdP time order', async () => {
    const email = await addUser('two.events.one.batch@example.com');
    const earlier = removal(email, 'Finance-Approvers', { published: new Date(Date.now() - 60_000).toISOString() });
    const later = withUser(oktaLogEvent('okta-user-deactivate.json'), email);
    expect((await postToOktaHook('okta-a', oktaDelivery([later, earlier]), { authorization: SECRET_A1 })).statusCode).toBe(200);
    // The stream may cut a batch anywhere, so hand the processor this batch directly, newest first:
    // within a batch, `published` decides the order, not the position.
    const { processOktaBatch, resultKey } = await import('../../shared/app/process-okta-batch.js');
    const { cachedAccountLookups } = await import('../../shared/store/sso-configs.js');
    const batch = await Promise.all([later, earlier].map(async (event) => (await getInboxEvent('okta-a', event.uuid))!));
    const { results } = await processOktaBatch(batch, {
      actedOnTypes: new Set(DEFAULT_OKTA_EVENT_TYPES),
      accounts: cachedAccountLookups(0),
      connection: async () => undefined,
    });
    expect(results.get(resultKey({ connectionId: 'okta-a', eventId: earlier.uuid }))).toEqual({ outcome: { status: 'applied', detail: 'soft-deleted membership in acme (no Okta API token: other groups not checked)' } });
    expect(results.get(resultKey({ connectionId: 'okta-a', eventId: later.uuid }))).toEqual({ outcome: { status: 'applied', detail: 'soft-deleted membership in globex' } });
    expect(await membership(email, 'acme')).toMatchObject({ status: 'deleted', eventId: earlier.uuid });
    expect(await membership(email, 'globex')).toMatchObject({ status: 'deleted', eventId: later.uuid });
  });

  it('gives the same outcome when the stream hands the same record over again', async () => {
    const email = await addUser('stream.replay@example.com');
    const event = removal(email, 'Payroll-Admins');
    await deliver(event);
    const { handler } = await import('../../functions/process-okta-events.js');
    const { lambdaContext } = await import('../../scripts/lib/local-stream.js');
    const { marshall } = await import('@aws-sdk/util-dynamodb');
    const stored = await getInboxEvent('okta-a', event.uuid);
    const record = { eventName: 'INSERT', dynamodb: { NewImage: marshall(stored), SequenceNumber: '1' } };
    const response = await handler({ Records: [record] } as never, lambdaContext('process-okta-events'));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await getInboxEvent('okta-a', event.uuid)).toMatchObject({ status: 'applied', detail: 'soft-deleted membership in acme, globex' });
    expect(await auditsFor(event.uuid)).toHaveLength(2);
  });

  it('does not let an older event override a newer state', async () => {
    const email = await addUser('signed.in.later@example.com', '2030-01-01T00:00:00Z');
    const older = removal(email, 'Finance-Approvers', { published: '2029-12-31T23:59:59.000Z' });
    const [outcome] = await deliver(older);
    expect(outcome?.status).toBe('stale');
    expect((await membership(email, 'acme'))?.status).toBe('active');
    expect(await auditsFor(older.uuid)).toHaveLength(0);
  });

  it('records an older removal arriving after a newer one as stale', async () => {
    const email = await addUser('out.of.order@example.com');
    const newer = removal(email, 'Finance-Approvers', { published: '2026-06-01T10:00:00.000Z' });
    const older = removal(email, 'Finance-Approvers', { published: '2026-06-01T09:00:00.000Z' });
    const [newerOutcome] = await deliver(newer);
    const [olderOutcome] = await deliver(older);
    expect(newerOutcome?.status).toBe('applied');
    expect(olderOutcome?.status).toBe('stale');
    expect(await membership(email, 'acme')).toMatchObject({ status: 'deleted', eventId: newer.uuid, changedAt: newer.published });
  });

  it('processes a batch that mixes relevant and irrelevant events', async () => {
    const riley = await addUser('batch.riley@example.com');
    const alex = await addUser('batch.alex@example.com');
    const { oktaDeliveryFixture } = await import('../helpers/fixtures.js');
    const body = structuredClone(oktaDeliveryFixture('okta-batch.json'));
    const events = body.data.events.map((event) => ({ ...event, uuid: crypto.randomUUID(), published: new Date().toISOString() }));
    const [sessionStart, payrollRemoval, addEvent, deactivateEvent] = events.map((event) =>
      withUser(event, event.eventType === 'group.user_membership.add' ? alex : riley),
    ) as OktaLogEvent[];
    // Finance-Approvers grants acme only; the deactivation covers acme and globex.
    const financeRemoval = withGroup(payrollRemoval as OktaLogEvent, 'Finance-Approvers');
    const outcomes = await deliver(...([sessionStart, financeRemoval, addEvent, deactivateEvent] as OktaLogEvent[]));
    // The session start is not stored; alex's add to "Everyone" is, and is skipped (no account uses that group).
    // The inbox puts run in parallel, so the stream may apply the two removals in either
    // order: between them they delete acme and globex, once each.
    expect(outcomes.map((outcome) => outcome === undefined)).toEqual([true, false, false, false]);
    expect(outcomes[2]?.status).toBe('skipped');
    expect(outcomes.some((outcome) => outcome?.status === 'applied')).toBe(true);
    const audits = [...(await auditsFor(financeRemoval.uuid)), ...(await auditsFor((deactivateEvent as OktaLogEvent).uuid))];
    expect(audits.map((entry) => entry.accountId).sort()).toEqual(['acme', 'globex']);
    expect(await statuses(riley)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
    expect(await statuses(alex)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  });
});

describe('times and bounds', () => {
  it('takes the arrival time of a removal published in 2099, so it outranks no later change', async () => {
    const email = await addUser('published.in.2099@example.com');
    const before = new Date().toISOString();
    const future = removal(email, 'Finance-Approvers', { published: '2099-01-01T00:00:00.000Z' });
    const [outcome] = await deliver(future);
    const after = new Date().toISOString();

    expect(outcome).toMatchObject({ status: 'applied', publishedAsSent: '2099-01-01T00:00:00.000Z' });
    const acme = await membership(email, 'acme');
    expect(acme).toMatchObject({ status: 'deleted', changedAt: outcome?.published });
    expect(acme?.changedAt >= before && acme?.changedAt <= after).toBe(true);
  });

  it('records events over a bound invalid with the reason and applies the rest of their delivery', async () => {
    const removed = await addUser('bounds.removed@example.com');
    const deactivated = await addUser('bounds.deactivated@example.com');
    const untouched = await addUser('bounds.untouched@example.com');
    const huge = 'G'.repeat(50_000);
    // One event whose ten 50 KB names would make a 500 KB item (DynamoDB allows 400 KB), one whose
    // group name would make a 50 KB key (DynamoDB allows 2,048 bytes), one with a 10 KB login.
    const tenHugeNames = removal(untouched, huge);
    tenHugeNames.target = [
      ...(tenHugeNames.target ?? []),
      ...Array.from({ length: 9 }, (_, index) => ({ id: `0oa${index}`, type: 'AppInstance', alternateId: 'app', displayName: huge })),
    ];
    const hugeGroup = removal(untouched, huge);
    const hugeLogin = removal(`${'a'.repeat(10_000)}@example.com`);
    const valid = [removal(removed, 'Finance-Approvers'), withUser(oktaLogEvent('okta-user-deactivate.json'), deactivated)];

    const outcomes = await deliver(valid[0]!, tenHugeNames, hugeGroup, hugeLogin, valid[1]!);

    expect(outcomes.map((outcome) => outcome?.status)).toEqual(['applied', 'invalid', 'invalid', 'invalid', 'applied']);
    expect(outcomes[1]?.detail).toMatch(/^over a bound: target\[1\]\.displayName: .*<=255 characters; target\[2\]\.displayName/);
    expect(outcomes[2]?.detail).toBe('over a bound: target[1].displayName: Too big: expected string to have <=255 characters');
    expect(outcomes[3]?.detail).toBe('over a bound: target[0].alternateId: Too big: expected string to have <=254 characters');
    // The over-long values are not kept: the items stay small.
    for (const outcome of outcomes.slice(1, 4)) expect(JSON.stringify(outcome).length).toBeLessThan(3_000);
    expect(await statuses(removed)).toEqual({ acme: 'deleted', globex: 'active', initech: 'active' });
    expect(await statuses(deactivated)).toEqual({ acme: 'deleted', globex: 'deleted', initech: 'active' });
    expect(await statuses(untouched)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  });

  it('skips a group name within its bound whose key would be too long, instead of failing', async () => {
    const email = await addUser('bounds.long.group@example.com');
    const removeKeyLimit = enforceKeyLimitOnQueries();
    // 255 characters, each 9 bytes once URI-encoded in the group grant key: over 2,048 bytes.
    const [outcome] = await deliver(removal(email, '財'.repeat(255))).finally(removeKeyLimit);
    expect(outcome).toMatchObject({ status: 'skipped', detail: expect.stringContaining('is not configured for any account') });
    expect(await statuses(email)).toEqual({ acme: 'active', globex: 'active', initech: 'active' });
  });
});
