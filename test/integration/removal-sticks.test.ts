/**
 * Rule 8, "a removal sticks", end to end through the real handlers: the Cognito trigger, the
 * Okta and Graph hooks and their stream processors, against DynamoDB Local, moto (the user pool,
 * Secrets Manager) and the fake Graph. Cognito keeps a mapped groups value when the IdP omits
 * the claim, so a sign-in with the value recorded before an IdP removal proves nothing.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalStream } from '../../scripts/lib/local-stream.js';

// Configuration is read once, at the handlers' import: the fake Graph must be up before that.
const fake = await vi.hoisted(async () => {
  const { startFakeGraph } = await import('../../scripts/lib/fake-graph.js');
  const started = await startFakeGraph();
  process.env.GRAPH_BASE_URL = started.baseUrl;
  process.env.GRAPH_AUTHORITY_HOST = started.authorityHost;
  return started;
});

const { createSeededTable, itemsOf, processUntilSettled, SECRET_A1 } = await import('../helpers/stack.js');
const { createUserPool } = await import('../helpers/cognito.js');
const { AUTHENTICATE, CONFIRM, entraTriggerUser, invokeTrigger, oktaTriggerUser, rolesOf, TOKEN } = await import('../helpers/trigger.js');
const { oktaDelivery, oktaLogEvent, withGroup, withUser } = await import('../helpers/fixtures.js');
const { postToOktaHook } = await import('../helpers/okta.js');
const { about, graphNotification, postToGraphHook, useFakeGraphForEntraA } = await import('../helpers/graph.js');
const { getInboxEvent } = await import('../../shared/store/inbox.js');
const { groupsOfUser } = await import('../../shared/idp/cognito.js');
const { findUserIdByEmail } = await import('../../shared/store/directory.js');
const { REMOVED_BY_IDP } = await import('../../shared/app/sign-in-mapping.js');

const GROUP_CONTOSO = '00000000-0000-4000-8000-0000000d2001'; // contoso: Author (entra-a)
const GROUP_NORTHWIND = '00000000-0000-4000-8000-0000000d2002'; // northwind: Viewer (entra-a)

let stream: LocalStream;
let userPoolId: string;

beforeAll(async () => {
  stream = await createSeededTable();
  userPoolId = await createUserPool();
});

useFakeGraphForEntraA(fake);

/** Sends Okta LogEvents through the real okta-hook and waits for the stream to process them. */
async function fromOkta(...events: ReturnType<typeof oktaLogEvent>[]) {
  expect((await postToOktaHook('okta-a', oktaDelivery(events), { authorization: SECRET_A1 })).statusCode).toBe(200);
  await processUntilSettled(stream, 'okta-a', events.map((event) => event.uuid));
  return Promise.all(events.map((event) => getInboxEvent('okta-a', event.uuid)));
}

const removedFrom = (email: string, group: string, published = new Date().toISOString()) =>
  withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json', { published }), email), group);
const addedTo = (email: string, group: string, published = new Date().toISOString()) =>
  withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json', { published, eventType: 'group.user_membership.add' }), email), group);

/** Everything stored about a user that a sign-in could write: identities, memberships, audit entries. */
async function traceOf(email: string, connectionId = 'okta-a') {
  const userId = await findUserIdByEmail(connectionId, email);
  const mine = async (entity: string) => (await itemsOf(entity)).filter((item) => item.userId === userId);
  return { identities: await mine('Identity'), memberships: await mine('Membership'), audits: await mine('Audit') };
}

async function auditActions(email: string, connectionId = 'okta-a') {
  return (await traceOf(email, connectionId)).audits.map((entry) => entry.action).sort();
}

describe('riley: Okta removes a user, and Cognito still holds the old groups value', () => {
  it('refuses the sign-in with the kept value, writes nothing, and refuses the refresh', async () => {
    const riley = await oktaTriggerUser(userPoolId, 'riley-stale');
    await invokeTrigger(riley.event(CONFIRM, '["Finance-Approvers"]'));
    expect(await rolesOf(riley.email)).toEqual({ acme: 'active:Admin' });

    const [outcome] = await fromOkta(removedFrom(riley.email, 'Finance-Approvers'));
    expect(outcome?.status).toBe('applied');
    expect(await rolesOf(riley.email)).toEqual({ acme: 'deleted:Admin' });

    const before = await traceOf(riley.email);
    await expect(invokeTrigger(riley.event(AUTHENTICATE, '["Finance-Approvers"]'))).rejects.toThrow(REMOVED_BY_IDP);
    expect(await traceOf(riley.email)).toEqual(before);
    expect(await groupsOfUser(riley.cognito)).toEqual([]);

    const refresh = riley.event(TOKEN, '["Finance-Approvers"]', { triggerSource: 'TokenGeneration_RefreshTokens' });
    await expect(invokeTrigger(refresh)).rejects.toThrow(/access has been removed/);
    // Refused again and again: the stale value never becomes evidence by being seen twice.
    await expect(invokeTrigger(riley.event(AUTHENTICATE, '["Finance-Approvers"]'))).rejects.toThrow(REMOVED_BY_IDP);
    expect(await rolesOf(riley.email)).toEqual({ acme: 'deleted:Admin' });
  });

  it('restores on a groups value that differs from the one recorded before the removal', async () => {
    const user = await oktaTriggerUser(userPoolId, 'fresh-claim');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    await fromOkta(removedFrom(user.email, 'Finance-Approvers'));
    await invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers", "Everyone"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
    expect(await auditActions(user.email)).toEqual(['membership.created', 'membership.restored', 'membership.soft_deleted']);
  });

  it('keeps the other accounts of a user whose one account is held', async () => {
    const user = await oktaTriggerUser(userPoolId, 'held-one-of-two');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers", "Payroll-Admins"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin', globex: 'active:Viewer' });
    // Finance-Approvers grants acme only: the removal takes acme and leaves globex.
    await fromOkta(removedFrom(user.email, 'Finance-Approvers'));
    // The kept value is admitted (globex) but brings no evidence for acme, which stays removed.
    await invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers", "Payroll-Admins"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin', globex: 'active:Viewer' });
  });
});

describe('a kept groups value after other IdP changes', () => {
  it('does not raise a role that an Okta re-add gave back lower', async () => {
    const user = await oktaTriggerUser(userPoolId, 'no-stale-upgrade');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers", "Payroll-Admins"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin', globex: 'active:Viewer' });
    // Okta removes both groups (acme and globex go), then re-adds Payroll-Admins (acme as Author, globex).
    await fromOkta(removedFrom(user.email, 'Finance-Approvers'));
    await fromOkta(removedFrom(user.email, 'Payroll-Admins'));
    await fromOkta(addedTo(user.email, 'Payroll-Admins'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Author', globex: 'active:Viewer' });
    // Cognito still holds the value from before: it may keep access, never raise it.
    await invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers", "Payroll-Admins"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Author', globex: 'active:Viewer' });
  });

  it('records a digest for an identity that had none, so a later, different value counts as fresh', async () => {
    const { UpdateCommand } = await import('@aws-sdk/lib-dynamodb');
    const { documentClient, tableName } = await import('../../shared/store/client.js');
    const { keys } = await import('../../shared/store/keys.js');
    const user = await oktaTriggerUser(userPoolId, 'legacy-identity');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    const subject = user.userName.slice('OktaA_'.length);
    // As written before digests were recorded.
    await documentClient.send(new UpdateCommand({ TableName: tableName, Key: keys.identityBySubject('okta-a', subject), UpdateExpression: 'REMOVE groupsClaimSha256, groupsClaimAt' }));
    await fromOkta(removedFrom(user.email, 'Finance-Approvers'));
    await expect(invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers"]'))).rejects.toThrow(REMOVED_BY_IDP);
    const identity = (await traceOf(user.email)).identities.find((item) => item.subject === subject);
    expect(identity).toMatchObject({ groupsClaimSha256: expect.any(String), groupsClaimAt: new Date(0).toISOString() });
    await expect(invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers"]'))).rejects.toThrow(REMOVED_BY_IDP);
    await invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers", "Everyone"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });
  });
});

describe('re-adds from Okta', () => {
  it('gives back a membership the IdP removed, audited, and the kept value then admits', async () => {
    const user = await oktaTriggerUser(userPoolId, 'readded');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    await fromOkta(removedFrom(user.email, 'Finance-Approvers'));
    const readd = addedTo(user.email, 'Finance-Approvers');
    const [outcome] = await fromOkta(readd);
    expect(outcome).toMatchObject({ status: 'applied', detail: 'restored membership in acme' });
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });
    const restored = (await traceOf(user.email)).audits.filter((entry) => entry.action === 'membership.restored');
    expect(restored).toMatchObject([{ eventId: readd.uuid, accountId: 'acme' }]);
    await expect(invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers"]'))).resolves.toBeDefined();
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
  });

  it('applies a re-add once however often it is delivered', async () => {
    const user = await oktaTriggerUser(userPoolId, 'readded-twice');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    await fromOkta(removedFrom(user.email, 'Finance-Approvers'));
    const readd = addedTo(user.email, 'Finance-Approvers');
    await fromOkta(readd);
    await fromOkta(readd);
    expect((await auditActions(user.email)).filter((action) => action === 'membership.restored')).toHaveLength(1);
  });

  it('an older removal delivered after a newer re-add is stale: the user keeps access', async () => {
    const user = await oktaTriggerUser(userPoolId, 'out-of-order');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    // Both after the sign-in and before they arrive (event times are capped at arrival).
    const signedInAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const removedAt = new Date(signedInAt + 5).toISOString();
    const readdedAt = new Date(signedInAt + 10).toISOString();
    const [readdOutcome] = await fromOkta(addedTo(user.email, 'Finance-Approvers', readdedAt));
    expect(readdOutcome).toMatchObject({ status: 'skipped', detail: 'already active in acme (an older group removal delivered later is stale)' });
    const [removalOutcome] = await fromOkta(removedFrom(user.email, 'Finance-Approvers', removedAt));
    expect(removalOutcome?.status).toBe('stale');
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });
  });

  it('does not give a deactivated person access back when they are added to a group', async () => {
    const user = await oktaTriggerUser(userPoolId, 'deactivated-readded');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    const deactivation = withUser(oktaLogEvent('okta-user-deactivate.json'), user.email);
    await fromOkta(deactivation);
    const [outcome] = await fromOkta(addedTo(user.email, 'Finance-Approvers'));
    expect(outcome?.status).toBe('skipped');
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });
  });

  it('does not give a suspended person access back when they are added to a group', async () => {
    const user = await oktaTriggerUser(userPoolId, 'suspended-readded');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    const [suspended] = await fromOkta(withUser(oktaLogEvent('okta-user-deactivate.json', { eventType: 'user.lifecycle.suspend' }), user.email));
    expect(suspended?.status).toBe('applied');
    const [outcome] = await fromOkta(addedTo(user.email, 'Finance-Approvers'));
    expect(outcome?.status).toBe('skipped');
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });
  });

  describe('the person active again in Okta (activated, reactivated, unsuspended)', () => {
    const lifecycle = (email: string, eventType: string, published: string) => withUser(oktaLogEvent('okta-user-deactivate.json', { eventType, published }), email);
    /** Signs the user in, then gives IdP times after the sign-in that are in the past by the time they are delivered. */
    async function signedInThenTimes(user: Awaited<ReturnType<typeof oktaTriggerUser>>) {
      await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
      const signedInAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 60));
      return (offset: number) => new Date(signedInAt + offset).toISOString();
    }

    it('a deactivation delivered after the reactivation and a re-add is stale: the person keeps access', async () => {
      const user = await oktaTriggerUser(userPoolId, 'late-deactivation');
      const at = await signedInThenTimes(user);
      const [activated] = await fromOkta(lifecycle(user.email, 'user.lifecycle.activate', at(20)));
      expect(activated).toMatchObject({ status: 'skipped', detail: expect.stringContaining('active again') });
      await fromOkta(addedTo(user.email, 'Finance-Approvers', at(30)));
      const [deactivated] = await fromOkta(lifecycle(user.email, 'user.lifecycle.deactivate', at(10)));
      expect(deactivated?.status).toBe('stale');
      expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });
      expect(await auditActions(user.email)).not.toContain('soft_deleted');
    });

    it('a suspension delivered after its unsuspension is stale', async () => {
      const user = await oktaTriggerUser(userPoolId, 'late-suspension');
      const at = await signedInThenTimes(user);
      await fromOkta(lifecycle(user.email, 'user.lifecycle.unsuspend', at(20)));
      const [suspended] = await fromOkta(lifecycle(user.email, 'user.lifecycle.suspend', at(10)));
      expect(suspended?.status).toBe('stale');
      expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });
    });

    it('in order, a reactivation gives nothing back by itself, and a redelivery records nothing twice', async () => {
      const user = await oktaTriggerUser(userPoolId, 'reactivation-in-order');
      const at = await signedInThenTimes(user);
      const [deactivated] = await fromOkta(lifecycle(user.email, 'user.lifecycle.deactivate', at(10)));
      expect(deactivated?.status).toBe('applied');
      const reactivation = lifecycle(user.email, 'user.lifecycle.reactivate', at(20));
      const [first] = await fromOkta(reactivation);
      const [again] = await fromOkta(reactivation);
      expect(again).toMatchObject({ status: first?.status, detail: first?.detail });
      expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });
      expect((await traceOf(user.email)).memberships[0]).toMatchObject({ status: 'deleted', removal: 'user', reinstatedAt: at(20) });
      // An older deactivation delivered now is stale; a re-add still restores nothing (a removal of the person).
      const [older] = await fromOkta(lifecycle(user.email, 'user.lifecycle.deactivate', at(5)));
      expect(older?.status).toBe('stale');
      const [readd] = await fromOkta(addedTo(user.email, 'Finance-Approvers', at(30)));
      expect(readd?.status).toBe('skipped');
      expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });
    });
  });

  it('a removal that finds the membership deleted is recorded: a deactivation after a group removal is not undone by a re-add', async () => {
    const user = await oktaTriggerUser(userPoolId, 'removed-then-deactivated');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    await fromOkta(removedFrom(user.email, 'Finance-Approvers'));
    const [deactivated] = await fromOkta(withUser(oktaLogEvent('okta-user-deactivate.json'), user.email));
    expect(deactivated?.status).toBe('skipped');
    const [readd] = await fromOkta(addedTo(user.email, 'Finance-Approvers'));
    expect(readd?.status).toBe('skipped');
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });
  });

  it('a re-add older than a removal processed first is stale', async () => {
    const user = await oktaTriggerUser(userPoolId, 'late-old-readd');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    const signedInAt = Date.now();
    await fromOkta(removedFrom(user.email, 'Finance-Approvers', new Date(signedInAt + 5).toISOString()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Removed, re-added, removed again; the second removal arrives before the re-add.
    await fromOkta(removedFrom(user.email, 'Finance-Approvers', new Date(signedInAt + 15).toISOString()));
    const [readd] = await fromOkta(addedTo(user.email, 'Finance-Approvers', new Date(signedInAt + 10).toISOString()));
    expect(readd?.status).toBe('stale');
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });
  });

  it('does not undo a removal made by a sign-in refusal, nor create a membership', async () => {
    const user = await oktaTriggerUser(userPoolId, 'readd-after-refusal');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    await invokeTrigger(user.event(AUTHENTICATE, '["Everyone"]')).catch(() => undefined);
    const [outcome] = await fromOkta(addedTo(user.email, 'Finance-Approvers'));
    expect(outcome?.status).toBe('skipped');
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });
    // Removed by a sign-in, not by the IdP: today's restoreOnSignIn rule applies to the next sign-in.
    await invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });

    const stranger = await oktaTriggerUser(userPoolId, 'never-signed-in');
    const [unknown] = await fromOkta(addedTo(stranger.email, 'Finance-Approvers'));
    expect(unknown?.status).toBe('skipped');
    expect(await rolesOf(stranger.email)).toEqual({});
  });
});

describe('Entra: the live directory check at sign-in', () => {
  let counter = 0;
  async function entraUserRemovedFromContoso() {
    counter += 1;
    const objectId = `00000000-0000-4000-8000-${(0xd30000 + counter).toString(16).padStart(12, '0')}`;
    const email = `directory-check-${counter}@example.com`;
    const claim = `[${GROUP_CONTOSO}]`;
    const { event } = await entraTriggerUser(userPoolId, email, { 'custom:oid': objectId, 'custom:groups': claim });
    const firstSignIn = { ...structuredClone(event), triggerSource: 'PostConfirmation_ConfirmSignUp' };
    await invokeTrigger(firstSignIn);
    expect(await rolesOf(email, 'entra-a')).toEqual({ contoso: 'active:Author' });
    // Graph: the user left the group; the group check asks Graph, which no longer lists them.
    fake.setUser({ id: objectId, userPrincipalName: email, mail: email, accountEnabled: true, displayName: 'Directory Check' });
    fake.setGroupMembers(GROUP_CONTOSO, []);
    const notification = about(graphNotification('graph-group-member-removed.json'), GROUP_CONTOSO);
    notification.resourceData['members@delta'] = [{ id: objectId, '@removed': 'deleted' }];
    notification.resourceData.eventTime = new Date().toISOString();
    expect((await postToGraphHook('entra-a', { value: [notification] })).statusCode).toBe(202);
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      await stream.drain();
      if ((await rolesOf(email, 'entra-a')).contoso === 'deleted:Author') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await rolesOf(email, 'entra-a')).toEqual({ contoso: 'deleted:Author' });
    return { objectId, email, event };
  }

  /** A group notification listing these members as added (members@delta without "@removed"), through the real hook and stream. */
  async function addedToContoso(objectId: string) {
    const notification = about(graphNotification('graph-group-member-removed.json'), GROUP_CONTOSO);
    notification.resourceData['members@delta'] = [{ id: objectId }];
    notification.resourceData.eventTime = new Date().toISOString();
    expect((await postToGraphHook('entra-a', { value: [notification] })).statusCode).toBe(202);
    let stored: Record<string, unknown> | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      await stream.drain();
      stored = (await itemsOf('InboxEvent')).find((item) => (item.record as { addedMembers?: string[] } | undefined)?.addedMembers?.includes(objectId));
      if (stored && stored.status !== 'pending') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return stored;
  }

  it('a members@delta re-add gives the membership back once Graph confirms it, audited', async () => {
    const { objectId, email } = await entraUserRemovedFromContoso();
    fake.setGroupMembers(GROUP_CONTOSO, [objectId]);
    const outcome = await addedToContoso(objectId);
    expect(outcome).toMatchObject({ status: 'applied', detail: 'restored membership in contoso' });
    expect(await rolesOf(email, 'entra-a')).toEqual({ contoso: 'active:Author' });
    const restored = (await traceOf(email, 'entra-a')).audits.filter((entry) => entry.action === 'membership.restored');
    expect(restored).toMatchObject([{ reason: `re-added to Entra group ${GROUP_CONTOSO} (confirmed with Graph)` }]);
  });

  it('a members@delta re-add that Graph does not confirm gives nothing back', async () => {
    const { objectId, email } = await entraUserRemovedFromContoso();
    fake.setGroupMembers(GROUP_CONTOSO, []);
    const outcome = await addedToContoso(objectId);
    expect(outcome).toMatchObject({ status: 'skipped', detail: 'members added, none with access to give back; no member removed' });
    expect(await rolesOf(email, 'entra-a')).toEqual({ contoso: 'deleted:Author' });
  });

  it('restores when Graph says the user is in a granting group again, with the reason recorded', async () => {
    const { objectId, email, event } = await entraUserRemovedFromContoso();
    fake.setGroupMembers(GROUP_CONTOSO, [objectId]);
    await invokeTrigger(event);
    expect(await rolesOf(email, 'entra-a')).toEqual({ contoso: 'active:Author' });
    const restored = (await traceOf(email, 'entra-a')).audits.find((entry) => entry.action === 'membership.restored');
    expect(restored?.reason).toBe(`sign-in: directory check, member of IdP group ${GROUP_CONTOSO}`);
    expect(fake.requests.some((request) => request.path.endsWith('/checkMemberGroups'))).toBe(true);
  });

  it('refuses when Graph says the user is in no granting group', async () => {
    const { email, event } = await entraUserRemovedFromContoso();
    fake.setGroupMembers(GROUP_NORTHWIND, []);
    await expect(invokeTrigger(event)).rejects.toThrow(REMOVED_BY_IDP);
    expect(await rolesOf(email, 'entra-a')).toEqual({ contoso: 'deleted:Author' });
  });

  it('refuses, and does not guess, when Graph fails', async () => {
    const { objectId, email, event } = await entraUserRemovedFromContoso();
    fake.setGroupMembers(GROUP_CONTOSO, [objectId]);
    fake.failNext({ pathPrefix: `/v1.0/users/${objectId}/checkMemberGroups`, status: 503, times: 5 });
    await expect(invokeTrigger(event)).rejects.toThrow(REMOVED_BY_IDP);
    expect(await rolesOf(email, 'entra-a')).toEqual({ contoso: 'deleted:Author' });
  });
});
