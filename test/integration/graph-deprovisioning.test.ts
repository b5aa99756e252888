/**
 * Entra deprovisioning end to end: Graph's notifications through the real graph-hook, the real
 * stream and process-graph-events, against DynamoDB Local, moto (Secrets Manager) and a local
 * fake Graph (token endpoint and /v1.0, answering with Graph's documented payloads).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
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

const { documentClient, tableName } = await import('../../shared/store/client.js');
const { keys } = await import('../../shared/store/keys.js');
const { addSeedUser, createSeededTable, itemsOf } = await import('../helpers/stack.js');
const { about, graphNotification, postToGraphHook, useFakeGraphForEntraA } = await import('../helpers/graph.js');
const { createFederatedUser, createUserPool, nameCognitoUserOnIdentity } = await import('../helpers/cognito.js');
const { clearFaults, failTimesWhenMentioning } = await import('../helpers/faults.js');
const { cognitoClient } = await import('../../shared/idp/cognito.js');

const GROUP_CONTOSO = '00000000-0000-4000-8000-0000000d2001'; // contoso: Author (entra-a); fabrikam uses the same id on entra-b
const GROUP_NORTHWIND = '00000000-0000-4000-8000-0000000d2002'; // northwind: Viewer (entra-a)
const GROUP_CONTOSO_READERS = '00000000-0000-4000-8000-0000000d2003'; // contoso: Viewer (entra-a), beside GROUP_CONTOSO
const GROUP_NESTED = '00000000-0000-4000-8000-0000000d2901'; // no account lists it; nested in a granting group by the tests that use it

let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
});

useFakeGraphForEntraA(fake);

let counter = 0;
/** A user of the test's own: linked to entra-a by a fresh object id, with the given memberships. */
async function entraUser(memberships: { accountId: string; role: string }[], extraIdentities: { connectionId: string; subject?: string }[] = []) {
  counter += 1;
  const objectId = `00000000-0000-4000-8000-${(0xd10000 + counter).toString(16).padStart(12, '0')}`;
  const email = `entra-user-${counter}@example.com`;
  const userId = await addSeedUser({
    email,
    identities: [{ connectionId: 'entra-a', subject: objectId }, ...extraIdentities],
    memberships: memberships.map((membership) => ({ ...membership, changedAt: '2025-01-01T00:00:00Z' })),
  });
  return { objectId, email, userId };
}

async function statuses(userId: string): Promise<Record<string, string>> {
  const memberships = (await itemsOf('Membership')).filter((item) => item.userId === userId);
  return Object.fromEntries(memberships.map((item) => [item.accountId as string, item.status as string]));
}

async function graphEventsAbout(resourceId: string) {
  return (await itemsOf('InboxEvent')).filter((item) => (item.record as { resourceId?: string } | undefined)?.resourceId === resourceId);
}

/** Posts through the real hook, runs the stream until every event about `resourceId` is processed, returns those this post stored. */
async function deliver(body: unknown, resourceId: string, options: { lifecycle?: boolean } = {}) {
  const postedAt = new Date().toISOString();
  const response = await postToGraphHook('entra-a', body, options);
  expect(response.statusCode).toBe(202);
  await settle(resourceId);
  return (await graphEventsAbout(resourceId)).filter((event) => String(event.receivedAt) >= postedAt);
}

async function settle(resourceId: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await stream.drain();
    const events = await graphEventsAbout(resourceId);
    if (events.length > 0 && events.every((event) => event.status !== 'pending')) return;
    if (Date.now() > deadline) throw new Error(`events about ${resourceId} still pending`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const graphCalls = (pathPart: string) => fake.requests.filter((request) => request.path.includes(pathPart));

describe('users', () => {
  it('permanent delete soft-deletes every membership of the connection, without a Graph call', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }, { accountId: 'northwind', role: 'Viewer' }]);
    const [event] = await deliver({ value: [about(graphNotification('graph-user-deleted.json'), user.objectId)] }, user.objectId);
    expect(event).toMatchObject({ status: 'applied' });
    expect(await statuses(user.userId)).toEqual({ contoso: 'deleted', northwind: 'deleted' });
    expect(graphCalls(`/users/${user.objectId}`)).toHaveLength(0);
    const audit = (await itemsOf('Audit')).filter((item) => item.userId === user.userId);
    expect(audit.map((item) => item.accountId).sort()).toEqual(['contoso', 'northwind']);
  });

  it('soft delete (updated, then 404 from Graph) soft-deletes', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    const [event] = await deliver({ value: [about(graphNotification('graph-user-updated.json'), user.objectId)] }, user.objectId);
    expect(event?.detail).toContain('contoso');
    expect(event).toMatchObject({ status: 'applied' });
    expect(await statuses(user.userId)).toEqual({ contoso: 'deleted' });
    expect(graphCalls(`/users/${user.objectId}`)).toHaveLength(1);
  });

  it('an update of an enabled user changes nothing', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: true });
    const [event] = await deliver({ value: [about(graphNotification('graph-user-updated.json'), user.objectId)] }, user.objectId);
    expect(event).toMatchObject({ status: 'skipped', detail: 'user still exists and is enabled in Entra ID' });
    expect(await statuses(user.userId)).toEqual({ contoso: 'active' });
  });

  it('a disabled user is soft-deleted when deprovisionOnDisable is on (the default)', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: false });
    const [event] = await deliver({ value: [about(graphNotification('graph-user-updated.json'), user.objectId)] }, user.objectId);
    expect(event).toMatchObject({ status: 'applied' });
    expect(await statuses(user.userId)).toEqual({ contoso: 'deleted' });
  });

  it('a disabled user keeps their memberships when deprovisionOnDisable is off', async () => {
    const setOption = (value: boolean) =>
      documentClient.send(
        new UpdateCommand({ TableName: tableName, Key: keys.connection('entra-a'), UpdateExpression: 'SET deprovisionOnDisable = :v', ExpressionAttributeValues: { ':v': value } }),
      );
    await setOption(false);
    try {
      const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
      fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: false });
      const [event] = await deliver({ value: [about(graphNotification('graph-user-updated.json'), user.objectId)] }, user.objectId);
      expect(event).toMatchObject({ status: 'skipped' });
      expect(event?.detail).toContain('deprovisionOnDisable off');
      expect(await statuses(user.userId)).toEqual({ contoso: 'active' });
    } finally {
      await setOption(true);
    }
  });

  it('a user who never signed in is skipped and nothing is created', async () => {
    const objectId = '00000000-0000-4000-8000-00000000beef';
    const usersBefore = (await itemsOf('User')).length;
    const [event] = await deliver({ value: [about(graphNotification('graph-user-deleted.json'), objectId)] }, objectId);
    expect(event).toMatchObject({ status: 'skipped', detail: 'user never signed in through this connection (no linked object id)' });
    expect((await itemsOf('User')).length).toBe(usersBefore);
    expect((await itemsOf('Identity')).some((item) => item.subject === objectId)).toBe(false);
  });

  it("leaves another connection's accounts alone", async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }, { accountId: 'fabrikam', role: 'Admin' }], [{ connectionId: 'entra-b' }]);
    await deliver({ value: [about(graphNotification('graph-user-deleted.json'), user.objectId)] }, user.objectId);
    expect(await statuses(user.userId)).toEqual({ contoso: 'deleted', fabrikam: 'active' });
  });

  it('duplicate notifications have one effect', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    const body = { value: [about(graphNotification('graph-user-deleted.json'), user.objectId)] };
    await postToGraphHook('entra-a', body);
    await deliver(body, user.objectId);
    expect(await graphEventsAbout(user.objectId)).toHaveLength(1);
    expect((await itemsOf('Audit')).filter((item) => item.userId === user.userId)).toHaveLength(1);
  });

  it('a repeated update notification is processed again: a change after the first one is not lost', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    const body = { value: [about(graphNotification('graph-user-updated.json'), user.objectId)] };
    fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: true });
    const [first] = await deliver(body, user.objectId);
    expect(first).toMatchObject({ status: 'skipped' });
    // Disabled later the same day: Graph's notification reads exactly the same.
    fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: false });
    const [second] = await deliver(body, user.objectId);
    expect(second).toMatchObject({ status: 'applied' });
    expect(await statuses(user.userId)).toEqual({ contoso: 'deleted' });
  });

  it('retries a Graph 429 after its Retry-After and then applies the event', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.failNext({ method: 'GET', pathPrefix: `/v1.0/users/${user.objectId}`, status: 429, retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    const [event] = await deliver({ value: [about(graphNotification('graph-user-updated.json'), user.objectId)] }, user.objectId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(event).toMatchObject({ status: 'applied' });
    expect(graphCalls(`/users/${user.objectId}`).length).toBe(2);
  });

  it('a Graph outage fails the event (recorded, retried, dead-lettered) and deletes nothing', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.failNext({ method: 'GET', pathPrefix: `/v1.0/users/${user.objectId}`, status: 500, times: 100 });
    const deadBefore = stream.deadLetters.length;
    const [event] = await deliver({ value: [about(graphNotification('graph-user-updated.json'), user.objectId)] }, user.objectId);
    expect(event).toMatchObject({ status: 'failed' });
    expect(event?.attempts).toBeGreaterThanOrEqual(3);
    expect(stream.deadLetters.length).toBe(deadBefore + 1);
    expect(await statuses(user.userId)).toEqual({ contoso: 'active' });
  });
});

describe('groups', () => {
  /** A removal as Graph sends it: `members@delta` lists the user with `@removed`. */
  function removal(groupId: string, objectId: string) {
    const notification = about(graphNotification('graph-group-member-removed.json'), groupId);
    notification.resourceData['members@delta'] = [{ id: objectId, '@removed': 'deleted' }];
    return { value: [notification] };
  }

  it('removal with members@delta: a user in two groups of two accounts loses only the one', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }, { accountId: 'northwind', role: 'Viewer' }]);
    fake.setGroupMembers(GROUP_CONTOSO, []);
    fake.setGroupMembers(GROUP_CONTOSO_READERS, []);
    fake.setGroupMembers(GROUP_NORTHWIND, [user.objectId]);
    const [event] = await deliver(removal(GROUP_CONTOSO, user.objectId), GROUP_CONTOSO);
    expect(event).toMatchObject({ status: 'applied', detail: 'soft-deleted membership in contoso' });
    expect(await statuses(user.userId)).toEqual({ contoso: 'deleted', northwind: 'active' });
    const audit = (await itemsOf('Audit')).find((item) => item.userId === user.userId);
    expect(audit?.reason).toBe(`in no Entra group that grants access (after a change of group ${GROUP_CONTOSO})`);
  });

  it('a member removed from one group keeps the account another of its groups still grants', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.setGroupMembers(GROUP_CONTOSO, [user.objectId]);
    fake.setGroupMembers(GROUP_CONTOSO_READERS, []);
    const [event] = await deliver(removal(GROUP_CONTOSO_READERS, user.objectId), GROUP_CONTOSO_READERS);
    expect(event).toMatchObject({ status: 'skipped', detail: 'every user concerned is still in a group that grants the account' });
    expect(await statuses(user.userId)).toEqual({ contoso: 'active' });
  });

  async function rolesOf(userId: string): Promise<Record<string, string>> {
    const memberships = (await itemsOf('Membership')).filter((item) => item.userId === userId);
    return Object.fromEntries(memberships.map((item) => [item.accountId as string, `${item.status as string}:${item.role as string}`]));
  }

  it('a member removed from the higher group keeps the account at the role their remaining group grants, audited once', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: true });
    fake.setGroupMembers(GROUP_CONTOSO, []);
    fake.setGroupMembers(GROUP_CONTOSO_READERS, [user.objectId]);
    const [event] = await deliver(removal(GROUP_CONTOSO, user.objectId), GROUP_CONTOSO);
    expect(event).toMatchObject({ status: 'applied', detail: "lowered the role in contoso to what the user's other groups grant" });
    expect(await rolesOf(user.userId)).toEqual({ contoso: 'active:Viewer' });
    const audits = (await itemsOf('Audit')).filter((item) => item.userId === user.userId);
    expect(audits).toMatchObject([{ action: 'membership.role_changed', before: { status: 'active', role: 'Author' }, after: { status: 'active', role: 'Viewer' }, reason: `removed from Entra group ${GROUP_CONTOSO}; the role the remaining groups grant` }]);

    // Graph sends the notification again: the same outcome, nothing written twice.
    const [again] = await deliver(removal(GROUP_CONTOSO, user.objectId), GROUP_CONTOSO);
    expect(again).toMatchObject({ status: 'applied', detail: "lowered the role in contoso to what the user's other groups grant" });
    expect(await rolesOf(user.userId)).toEqual({ contoso: 'active:Viewer' });
    expect((await itemsOf('Audit')).filter((item) => item.userId === user.userId)).toHaveLength(1);
  });

  it('a member removed from the lower group keeps the higher role (never raised, never lowered)', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: true });
    fake.setGroupMembers(GROUP_CONTOSO, [user.objectId]);
    fake.setGroupMembers(GROUP_CONTOSO_READERS, []);
    const [event] = await deliver(removal(GROUP_CONTOSO_READERS, user.objectId), GROUP_CONTOSO_READERS);
    expect(event).toMatchObject({ status: 'skipped', detail: 'every user concerned is still in a group that grants the account' });
    expect(await rolesOf(user.userId)).toEqual({ contoso: 'active:Author' });
  });

  it('a failing checkMemberGroups of a kept member fails the event and changes nothing', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: true });
    fake.setGroupMembers(GROUP_CONTOSO, []);
    fake.setGroupMembers(GROUP_CONTOSO_READERS, [user.objectId]);
    fake.failNext({ method: 'POST', pathPrefix: `/v1.0/users/${user.objectId}/checkMemberGroups`, status: 500, times: 100 });
    const [event] = await deliver(removal(GROUP_CONTOSO, user.objectId), GROUP_CONTOSO);
    expect(event).toMatchObject({ status: 'failed' });
    expect(event?.detail).toMatch(/nothing was changed/);
    expect(await rolesOf(user.userId)).toEqual({ contoso: 'active:Author' });
  });

  it('a late copy of a removal does not remove a member who was added back meanwhile', async () => {
    const user = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    fake.setGroupMembers(GROUP_NORTHWIND, [user.objectId]); // re-added before the notification is processed
    const [event] = await deliver(removal(GROUP_NORTHWIND, user.objectId), GROUP_NORTHWIND);
    expect(event).toMatchObject({ status: 'skipped' });
    expect(await statuses(user.userId)).toEqual({ northwind: 'active' });
  });

  it('the same removal twice in a day (removed, added back, removed again) is applied again', async () => {
    const user = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    fake.setGroupMembers(GROUP_NORTHWIND, [user.objectId]);
    const [first] = await deliver(removal(GROUP_NORTHWIND, user.objectId), GROUP_NORTHWIND);
    expect(first).toMatchObject({ status: 'skipped' });
    fake.setGroupMembers(GROUP_NORTHWIND, []);
    const [second] = await deliver(removal(GROUP_NORTHWIND, user.objectId), GROUP_NORTHWIND);
    expect(second).toMatchObject({ status: 'applied' });
    expect(await statuses(user.userId)).toEqual({ northwind: 'deleted' });
  });

  it('a change of a group the user was never in does not touch an account another group grants them', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.setGroupMembers(GROUP_CONTOSO, [user.objectId]);
    fake.setGroupMembers(GROUP_CONTOSO_READERS, ['00000000-0000-4000-8000-0000000f0101']);
    const notification = about(graphNotification('graph-group-member-removed.json'), GROUP_CONTOSO_READERS);
    delete notification.resourceData['members@delta'];
    await deliver({ value: [notification] }, GROUP_CONTOSO_READERS);
    expect(await statuses(user.userId)).toEqual({ contoso: 'active' });
  });

  it('removal without members@delta asks Graph who is still a member', async () => {
    const leaver = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    const stayer = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    fake.setGroupMembers(GROUP_NORTHWIND, [stayer.objectId, '00000000-0000-4000-8000-0000000fffff']);
    const notification = about(graphNotification('graph-group-member-removed.json'), GROUP_NORTHWIND);
    delete notification.resourceData['members@delta'];
    const events = await deliver({ value: [notification] }, GROUP_NORTHWIND);
    expect(events.some((event) => event.status === 'applied')).toBe(true);
    expect(await statuses(leaver.userId)).toEqual({ northwind: 'deleted' });
    expect(await statuses(stayer.userId)).toEqual({ northwind: 'active' });
    expect(graphCalls('/groups/delta').length).toBeGreaterThanOrEqual(1);
  });

  it('a group change for a group Graph no longer has removes what only it granted', async () => {
    const user = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    // The fake knows no such group (reset): its complete delta answer does not have it.
    const notification = about(graphNotification('graph-group-member-removed.json'), GROUP_NORTHWIND);
    delete notification.resourceData['members@delta'];
    const [event] = await deliver({ value: [notification] }, GROUP_NORTHWIND);
    expect(event).toMatchObject({ status: 'applied' });
    expect(await statuses(user.userId)).toEqual({ northwind: 'deleted' });
  });

  it('a deleted group removes what only it granted, without asking Graph about it', async () => {
    const onlyThere = await entraUser([{ accountId: 'contoso', role: 'Viewer' }]);
    const alsoInOther = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    fake.setGroupMembers(GROUP_CONTOSO, [alsoInOther.objectId]);
    const notification = about(graphNotification('graph-group-member-removed.json', { changeType: 'deleted' }), GROUP_CONTOSO_READERS);
    delete notification.resourceData['members@delta'];
    const [event] = await deliver({ value: [notification] }, GROUP_CONTOSO_READERS);
    expect(event).toMatchObject({ status: 'applied' });
    expect(await statuses(onlyThere.userId)).toEqual({ contoso: 'deleted' });
    expect(await statuses(alsoInOther.userId)).toEqual({ contoso: 'active' });
    const askedAbout = (group: string) => fake.requests.filter((request) => (request.query.$filter ?? '').includes(group));
    expect(askedAbout(GROUP_CONTOSO)).not.toHaveLength(0);
    expect(askedAbout(GROUP_CONTOSO_READERS)).toHaveLength(0);
  });

  /** The user exists in Entra (checkMemberGroups answers for them) and is a member of GROUP_NESTED only. */
  function nestedOnly(objectId: string, email: string) {
    fake.setUser({ id: objectId, mail: email, userPrincipalName: email, accountEnabled: true });
    fake.setGroupMembers(GROUP_NESTED, [objectId]);
  }
  const checkMemberGroupsOf = (objectId: string) => graphCalls(`/users/${objectId}/checkMemberGroups`);

  it('a member removed from a group keeps the account while a nested group of a granting group still has them', async () => {
    const user = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    nestedOnly(user.objectId, user.email);
    fake.setGroupMembers(GROUP_NORTHWIND, [GROUP_NESTED]); // removed directly, still in through the nested group
    const [event] = await deliver(removal(GROUP_NORTHWIND, user.objectId), GROUP_NORTHWIND);
    expect(event).toMatchObject({ status: 'skipped', detail: 'every user concerned is still in a group that grants the account' });
    expect(await statuses(user.userId)).toEqual({ northwind: 'active' });
    expect(checkMemberGroupsOf(user.objectId)).toHaveLength(1);
  });

  it('a group check without members@delta keeps a user granted only through a nested group and removes one in no group, even through nesting', async () => {
    const nested = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    const leaver = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    const direct = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    nestedOnly(nested.objectId, nested.email);
    fake.setUser({ id: leaver.objectId, mail: leaver.email, userPrincipalName: leaver.email, accountEnabled: true });
    fake.setGroupMembers(GROUP_NORTHWIND, [direct.objectId, GROUP_NESTED]);
    const notification = about(graphNotification('graph-group-member-removed.json'), GROUP_NORTHWIND);
    delete notification.resourceData['members@delta'];
    const events = await deliver({ value: [notification] }, GROUP_NORTHWIND);
    expect(events.some((event) => event.status === 'applied')).toBe(true);
    expect(await statuses(nested.userId)).toEqual({ northwind: 'active' });
    expect(await statuses(leaver.userId)).toEqual({ northwind: 'deleted' });
    expect(await statuses(direct.userId)).toEqual({ northwind: 'active' });
    // Only the users the direct member lists leave out are asked about.
    expect(checkMemberGroupsOf(nested.objectId)).toHaveLength(1);
    expect(checkMemberGroupsOf(leaver.objectId)).toHaveLength(1);
    expect(checkMemberGroupsOf(direct.objectId)).toHaveLength(0);
  });

  it('a failing checkMemberGroups fails the event and deletes nothing', async () => {
    const user = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    nestedOnly(user.objectId, user.email);
    fake.setGroupMembers(GROUP_NORTHWIND, []);
    fake.failNext({ method: 'POST', pathPrefix: `/v1.0/users/${user.objectId}/checkMemberGroups`, status: 500, times: 100 });
    const [event] = await deliver(removal(GROUP_NORTHWIND, user.objectId), GROUP_NORTHWIND);
    expect(event).toMatchObject({ status: 'failed' });
    expect(event?.detail).toMatch(/nothing was deleted/);
    expect(await statuses(user.userId)).toEqual({ northwind: 'active' });
  });

  it('a removed member who never signed in is skipped, nothing created', async () => {
    const groupNotification = about(graphNotification('graph-group-member-removed.json'), GROUP_NORTHWIND);
    groupNotification.resourceData['members@delta'] = [{ id: '00000000-0000-4000-8000-00000000abcd', '@removed': 'deleted' }];
    const usersBefore = (await itemsOf('User')).length;
    const events = await deliver({ value: [groupNotification] }, GROUP_NORTHWIND);
    expect(events.at(-1)).toMatchObject({ status: 'skipped' });
    expect((await itemsOf('User')).length).toBe(usersBefore);
  });
});

describe('an event that crashed after its soft-deletes, before signing anyone out', () => {
  /** The user as a sign-in through Cognito leaves them: a Cognito user, named on the identity. */
  async function signedInThroughCognito(user: { objectId: string; email: string }) {
    const userPoolId = await createUserPool();
    const username = `EntraA_${user.objectId}`;
    await createFederatedUser(userPoolId, username, user.email);
    await nameCognitoUserOnIdentity('entra-a', user.objectId, username, userPoolId);
    return username;
  }

  /**
   * Runs `run` with the crash (a Lambda timeout, say) injected: the user's identity read after
   * the commit (the second one: the event reads it once before) fails once, so the stream
   * retries the same record. Returns the Cognito users signed out meanwhile.
   */
  async function crashingBeforeSignOut(objectId: string, run: () => Promise<unknown>): Promise<string[]> {
    failTimesWhenMentioning(['GetItemCommand'], `SUBJECT#${objectId}`, 1, 1);
    const signedOut: string[] = [];
    const name = 'countSignOutsAfterCrash';
    cognitoClient.middlewareStack.add(
      ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        if (context.commandName === 'AdminUserGlobalSignOutCommand') signedOut.push((args as { input: { Username: string } }).input.Username);
        return next(args);
      }) as never,
      { step: 'initialize', name },
    );
    try {
      await run();
    } finally {
      clearFaults();
      cognitoClient.middlewareStack.remove(name);
    }
    return signedOut;
  }

  const auditOf = async (userId: string) =>
    (await itemsOf('Audit')).filter((item) => item.userId === userId).map((item) => `${item.action} ${item.accountId}`).sort();

  it('a group removal retried by the stream signs out whom its first attempt removed, deleting nothing twice', async () => {
    const user = await entraUser([{ accountId: 'northwind', role: 'Viewer' }]);
    const username = await signedInThroughCognito(user);
    fake.setGroupMembers(GROUP_NORTHWIND, []);
    const notification = about(graphNotification('graph-group-member-removed.json'), GROUP_NORTHWIND);
    notification.resourceData['members@delta'] = [{ id: user.objectId, '@removed': 'deleted' }];
    let events: Record<string, unknown>[] = [];
    const signedOut = await crashingBeforeSignOut(user.objectId, async () => {
      events = await deliver({ value: [notification] }, GROUP_NORTHWIND);
    });
    expect(events.at(-1)).toMatchObject({ status: 'applied', attempts: 1, detail: 'soft-deleted membership in northwind' });
    expect(events.at(-1)?.revocation).toMatchObject({ status: 'done' });
    expect(signedOut).toEqual([username]);
    expect(await statuses(user.userId)).toEqual({ northwind: 'deleted' });
    expect(await auditOf(user.userId)).toEqual(['membership.soft_deleted northwind']);
  });

  it('a disabled user retried by the stream is signed out, deleting nothing twice', async () => {
    const user = await entraUser([{ accountId: 'contoso', role: 'Author' }]);
    const username = await signedInThroughCognito(user);
    fake.setUser({ id: user.objectId, mail: user.email, userPrincipalName: user.email, accountEnabled: false });
    let events: Record<string, unknown>[] = [];
    const signedOut = await crashingBeforeSignOut(user.objectId, async () => {
      events = await deliver({ value: [about(graphNotification('graph-user-updated.json'), user.objectId)] }, user.objectId);
    });
    expect(events.at(-1)).toMatchObject({ status: 'applied', attempts: 1, detail: 'soft-deleted membership in contoso' });
    expect(events.at(-1)?.revocation).toMatchObject({ status: 'done' });
    expect(signedOut).toEqual([username]);
    expect(await statuses(user.userId)).toEqual({ contoso: 'deleted' });
    expect(await auditOf(user.userId)).toEqual(['membership.soft_deleted contoso']);
  });
});
