/**
 * Issue 11: a group removal keeps an account another of the user's Okta groups still grants.
 * Deliveries go through the real okta-hook and the stream; okta-a has an org URL (a fake Okta
 * over HTTPS that lists users' groups) and an API token in moto's Secrets Manager. In the seed,
 * acme is granted by Finance-Approvers (Admin) and Payroll-Admins (Author), globex by
 * Payroll-Admins only. (Without a token, okta-deprovisioning.test.ts: today's rule, said in the outcome.)
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startFakeOkta, type FakeOkta } from '../../scripts/lib/fake-okta.js';
import type { LocalStream } from '../../scripts/lib/local-stream.js';
import { graphAppSecret } from '../helpers/secrets.js';
import { addUser, createSeededTable, itemsOf, membership, processUntilSettled, SECRET_A1 } from '../helpers/stack.js';
import { oktaDelivery, oktaLogEvent, withGroup, withUser, type OktaLogEvent } from '../helpers/fixtures.js';
import { postToOktaHook } from '../helpers/okta.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { keys } from '../../shared/store/keys.js';
import { getInboxEvent } from '../../shared/store/inbox.js';
import { replayEvent } from '../../shared/app/admin-events.js';

const TOKEN_REF = `sso-sync/test-groups-${crypto.randomUUID().slice(0, 8)}/okta-a/okta-api-token`;

let okta: FakeOkta;
let stream: LocalStream;
let apiToken: string;

beforeAll(async () => {
  [stream, okta] = await Promise.all([createSeededTable(), startFakeOkta()]);
  apiToken = await graphAppSecret(TOKEN_REF, `00GroupsToken-${crypto.randomUUID()}`);
  await documentClient.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.connection('okta-a'),
      UpdateExpression: 'SET orgUrl = :orgUrl, oktaApiTokenRef = :ref',
      ExpressionAttributeValues: { ':orgUrl': okta.orgUrl, ':ref': TOKEN_REF },
    }),
  );
});

afterAll(async () => {
  await okta?.stop();
});

beforeEach(() => {
  okta.reset();
  okta.addApiToken(apiToken);
});

let users = 0;
/** A user in the table (Viewer in acme, globex, initech) and their own Okta user id. */
async function oktaUser(name: string) {
  users += 1;
  return { email: await addUser(`${name}@example.com`), oktaId: `00uGROUPS${String(users).padStart(11, '0')}` };
}

const removal = (user: { email: string; oktaId: string }, group: string): OktaLogEvent => {
  const event = withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json', { uuid: crypto.randomUUID() }), user.email), group);
  return { ...event, target: (event.target ?? []).map((target) => (target.type === 'User' ? { ...target, id: user.oktaId } : target)) };
};

async function deliver(...events: OktaLogEvent[]) {
  expect((await postToOktaHook('okta-a', oktaDelivery(events), { authorization: SECRET_A1 })).statusCode).toBe(200);
  await processUntilSettled(stream, 'okta-a', events.map((event) => event.uuid));
  return Promise.all(events.map((event) => getInboxEvent('okta-a', event.uuid)));
}

const groupCalls = () => okta.userGroupRequests().map((request) => request.split('?')[0]);

describe('a group removal where another Okta group of the user still grants the account', () => {
  it('keeps acme, role unchanged, when Okta says the user is still in Payroll-Admins', async () => {
    const user = await oktaUser('still.payroll');
    okta.setUserGroups(user.oktaId, ['Everyone', 'Payroll-Admins']);
    const event = removal(user, 'Finance-Approvers');
    const [outcome] = await deliver(event);

    expect(outcome).toMatchObject({ status: 'skipped', detail: 'kept membership in acme: still granted by Okta group "Payroll-Admins"' });
    expect(await membership(user.email, 'acme')).toMatchObject({ status: 'active', role: 'Viewer' });
    expect(groupCalls()).toEqual([`/api/v1/users/${user.oktaId}/groups`]);
    expect((await itemsOf('Audit')).filter((entry) => entry.eventId === event.uuid)).toHaveLength(0);
  });

  it('removes acme when Okta lists none of its other granting groups', async () => {
    const user = await oktaUser('only.finance');
    okta.setUserGroups(user.oktaId, ['Everyone', 'Sales']);
    const [outcome] = await deliver(removal(user, 'Finance-Approvers'));
    expect(outcome).toMatchObject({ status: 'applied', detail: 'soft-deleted membership in acme' });
    expect((await membership(user.email, 'acme'))?.status).toBe('deleted');
  });

  it('reads every page of the user\'s groups (Link rel="next")', async () => {
    const user = await oktaUser('many.groups');
    const many = Array.from({ length: 230 }, (_, index) => `Group-${String(index).padStart(3, '0')}`);
    okta.setUserGroups(user.oktaId, [...many, 'Payroll-Admins']);
    const [outcome] = await deliver(removal(user, 'Finance-Approvers'));
    expect(outcome).toMatchObject({ status: 'skipped', detail: expect.stringContaining('still granted by Okta group "Payroll-Admins"') });
    expect(okta.userGroupRequests()).toHaveLength(2);
    expect((await membership(user.email, 'acme'))?.status).toBe('active');
  });

  it('removes when Okta no longer knows the user (404), and says so', async () => {
    const user = await oktaUser('gone.from.okta');
    const [outcome] = await deliver(removal(user, 'Finance-Approvers'));
    expect(outcome).toMatchObject({ status: 'applied', detail: 'soft-deleted membership in acme (the user is not found in Okta: other groups not checked)' });
    expect((await membership(user.email, 'acme'))?.status).toBe('deleted');
  });

  it('lowers an Admin of acme to Author when they leave Finance-Approvers (Admin) but stay in Payroll-Admins (Author); a redelivery changes nothing more', async () => {
    const user = await oktaUser('demoted.admin');
    const userId = (await membership(user.email, 'acme'))?.userId as string;
    await documentClient.send(
      new UpdateCommand({ TableName: tableName, Key: keys.membership(userId, 'acme'), UpdateExpression: 'SET #role = :admin', ExpressionAttributeNames: { '#role': 'role' }, ExpressionAttributeValues: { ':admin': 'Admin' } }),
    );
    okta.setUserGroups(user.oktaId, ['Everyone', 'Payroll-Admins']);
    const event = removal(user, 'Finance-Approvers');
    const [outcome] = await deliver(event);

    const expected = {
      status: 'applied',
      detail: "lowered the role in acme to what the user's other groups grant; kept membership in acme: still granted by Okta group \"Payroll-Admins\"",
    };
    expect(outcome).toMatchObject(expected);
    expect(await membership(user.email, 'acme')).toMatchObject({ status: 'active', role: 'Author', eventId: event.uuid, changedBy: 'idp' });
    const audits = () => itemsOf('Audit').then((entries) => entries.filter((entry) => entry.eventId === event.uuid));
    expect(await audits()).toEqual([expect.objectContaining({ action: 'membership.role_changed', before: expect.objectContaining({ role: 'Admin' }), after: { status: 'active', role: 'Author' } })]);

    // Processed again (an admin replay: the stream plans it anew from the demoted membership).
    await replayEvent('okta-a', event.uuid);
    await processUntilSettled(stream, 'okta-a', [event.uuid]);
    expect(await getInboxEvent('okta-a', event.uuid)).toMatchObject(expected);
    expect(groupCalls()).toHaveLength(2); // it was planned again: Okta asked again
    expect(await membership(user.email, 'acme')).toMatchObject({ status: 'active', role: 'Author' });
    expect(await audits()).toHaveLength(1);
  });

  it('keeps only the account another group grants: a removal from Payroll-Admins loses globex, keeps acme', async () => {
    // A removal from Payroll-Admins: acme is also granted by Finance-Approvers, globex by nothing else.
    const user = await oktaUser('payroll.removed');
    okta.setUserGroups(user.oktaId, ['Finance-Approvers']);
    const [outcome] = await deliver(removal(user, 'Payroll-Admins'));
    expect(outcome).toMatchObject({ status: 'applied', detail: 'soft-deleted membership in globex; kept membership in acme: still granted by Okta group "Finance-Approvers"' });
    expect(await membership(user.email, 'acme')).toMatchObject({ status: 'active' });
    expect((await membership(user.email, 'globex'))?.status).toBe('deleted');
    expect(groupCalls()).toHaveLength(1);
  });

  it('does not ask Okta when the membership is no longer active', async () => {
    const user = await oktaUser('already.removed');
    okta.setUserGroups(user.oktaId, ['Payroll-Admins']);
    const first = removal({ ...user, oktaId: 'unknown-user' }, 'Finance-Approvers');
    await deliver(first);
    expect((await membership(user.email, 'acme'))?.status).toBe('deleted');
    const calls = okta.userGroupRequests().length;
    const [outcome] = await deliver(removal(user, 'Finance-Approvers'));
    expect(outcome?.status).toBe('skipped');
    expect(okta.userGroupRequests()).toHaveLength(calls);
  });
});

describe('Okta errors', () => {
  it('fails the event on a 5xx and deletes nothing; the retry asks again and keeps acme', async () => {
    const user = await oktaUser('okta.5xx');
    okta.setUserGroups(user.oktaId, ['Payroll-Admins']);
    okta.failNext({ method: 'GET', pathPrefix: '/api/v1/users/', status: 503, times: 1 });
    const [outcome] = await deliver(removal(user, 'Finance-Approvers'));
    expect(outcome).toMatchObject({ status: 'skipped', attempts: 1, detail: expect.stringContaining('still granted by Okta group "Payroll-Admins"') });
    expect((await membership(user.email, 'acme'))?.status).toBe('active');
    expect(groupCalls()).toHaveLength(2);
  });

  it('records an event Okta keeps failing (5xx, then 429) as failed, with nothing deleted', async () => {
    const user = await oktaUser('okta.down');
    okta.setUserGroups(user.oktaId, ['Payroll-Admins']);
    okta.failNext({ method: 'GET', pathPrefix: '/api/v1/users/', status: 500, times: 1 });
    okta.failNext({ method: 'GET', pathPrefix: '/api/v1/users/', status: 429, times: 100 });
    const [outcome] = await deliver(removal(user, 'Finance-Approvers'));
    expect(outcome).toMatchObject({ status: 'failed', detail: expect.stringMatching(/rate limit|status/) });
    expect((await membership(user.email, 'acme'))?.status).toBe('active');
    expect(JSON.stringify(outcome)).not.toContain(apiToken);
  });
});

describe('a batch', () => {
  it('still group-commits, with one Okta call per event that needs it', async () => {
    const kept = await oktaUser('batch.kept');
    const removed = await oktaUser('batch.removed');
    const noCall = await oktaUser('batch.nocall');
    okta.setUserGroups(kept.oktaId, ['Payroll-Admins']);
    okta.setUserGroups(removed.oktaId, []);
    const events = [removal(kept, 'Finance-Approvers'), removal(removed, 'Finance-Approvers'), removal(noCall, 'Everyone')];
    expect((await postToOktaHook('okta-a', oktaDelivery(events), { authorization: SECRET_A1 })).statusCode).toBe(200);
    const { processOktaBatch, resultKey } = await import('../../shared/app/process-okta-batch.js');
    const { cachedAccountLookups } = await import('../../shared/store/sso-configs.js');
    const { cachedConnectionLookup } = await import('../../shared/store/connections.js');
    const { DEFAULT_OKTA_EVENT_TYPES } = await import('../../shared/config.js');
    const batch = await Promise.all(events.map(async (event) => (await getInboxEvent('okta-a', event.uuid))!));
    const { results } = await processOktaBatch(batch, {
      actedOnTypes: new Set(DEFAULT_OKTA_EVENT_TYPES),
      accounts: cachedAccountLookups(0),
      connection: cachedConnectionLookup(0),
    });
    expect(results.get(resultKey({ connectionId: 'okta-a', eventId: events[0]!.uuid }))).toEqual({ outcome: { status: 'skipped', detail: 'kept membership in acme: still granted by Okta group "Payroll-Admins"' } });
    expect(results.get(resultKey({ connectionId: 'okta-a', eventId: events[1]!.uuid }))).toEqual({ outcome: { status: 'applied', detail: 'soft-deleted membership in acme' } });
    expect(results.get(resultKey({ connectionId: 'okta-a', eventId: events[2]!.uuid }))).toMatchObject({ outcome: { status: 'skipped' } });
    expect(groupCalls().sort()).toEqual([`/api/v1/users/${kept.oktaId}/groups`, `/api/v1/users/${removed.oktaId}/groups`].sort());
    expect((await membership(kept.email, 'acme'))?.status).toBe('active');
    expect((await membership(removed.email, 'acme'))?.status).toBe('deleted');
  });
});
