/**
 * npm run demo [-- okta | entra | poll] — against a running `npm start`, fires real IdP calls over
 * HTTP and prints the membership before and after, with the recorded outcome:
 *   okta   an Okta group removal: alex.doe@example.com leaves "Finance-Approvers" (demo-okta)
 *   entra  Graph change notifications at demo-entra: sam.lee@example.com removed from a group
 *          (members@delta), jo.park@example.com permanently deleted, and lee.wong@example.com
 *          disabled (an "updated" the processor checks with the stack's fake Graph)
 *   poll   no webhook at all: riley.chen@example.com deactivated in the fake Okta (a System Log
 *          event) and lee.wong@example.com disabled in the fake Graph; the stack's pollers find
 *          both and the memberships go, with the time each took
 * okta and entra run when no argument is given.
 */
import { readFileSync } from 'node:fs';
import { readState } from './lib/local-stack-state.js';
import { oktaHookDelivery, oktaLogEvent } from './lib/okta-events.js';
import { relaunchTrustingFakeGraph } from './lib/extra-ca.js';

const CONNECTION_ID = 'demo-okta';
const ACCOUNT_ID = 'demo-account';
const EMAIL = 'alex.doe@example.com';
const GROUP = 'Finance-Approvers';

const ENTRA_CONNECTION_ID = 'demo-entra';
const ENTRA_ACCOUNT_ID = 'demo-entra-account';
const ENTRA_CLIENT_STATE = 'dev-clientstate-0000000000000000';
const ENTRA_USERS_SUBSCRIPTION = '00000000-0000-4000-8000-0000000d5001';
const ENTRA_GROUPS_SUBSCRIPTION = '00000000-0000-4000-8000-0000000d5002';
const ENTRA_GROUP = '00000000-0000-4000-8000-0000000d2001';

const which = process.argv[2] ?? 'all';
if (!['all', 'okta', 'entra', 'poll'].includes(which)) {
  console.error('usage: npm run demo [-- okta | entra | poll]');
  process.exit(2);
}

const state = readState();
// The disabled-user step changes the stack's fake Graph (HTTPS, test-only certificate).
if (state?.graphAuthorityHost) await relaunchTrustingFakeGraph();
if (!state) {
  console.error('No running local stack found. Start it first with `npm start`, then run `npm run demo` in another terminal.');
  process.exit(1);
}
const httpUrl = state.httpUrl;
Object.assign(process.env, {
  TABLE_NAME: state.tableName,
  DYNAMODB_ENDPOINT: state.dynamoEndpoint,
  AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
});

const { parseSeed } = await import('../shared/domain/seed.js');
const { writeSeed } = await import('../shared/store/seed-writer.js');
const { findUserIdByEmail, membershipsOfUser } = await import('../shared/store/directory.js');
const { getInboxEvent } = await import('../shared/store/inbox.js');
const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
const { documentClient, tableName } = await import('../shared/store/client.js');
const { keys } = await import('../shared/store/keys.js');
const { graphRecordId } = await import('../shared/domain/graph-notifications.js');

const { withLocalOkta } = await import('./lib/local-okta.js');
const seedFromFile = parseSeed(JSON.parse(readFileSync(state.seedFile, 'utf8')));
// As `npm start` wrote it: its Okta connections point at its fake Okta (reloading must keep that).
const seed = state.oktaOrgUrl ? withLocalOkta(seedFromFile, state.oktaOrgUrl) : seedFromFile;

type Membership = Awaited<ReturnType<typeof membershipsOfUser>>[number];

async function membershipOf(connectionId: string, email: string, accountId: string): Promise<Membership | undefined> {
  const userId = await findUserIdByEmail(connectionId, email);
  const memberships = userId ? await membershipsOfUser(userId) : [];
  return memberships.find((membership) => membership.accountId === accountId);
}

function show(label: string, email: string, accountId: string, membership: Membership | undefined) {
  const text = membership
    ? `${membership.status.padEnd(7)} role=${membership.role} changedAt=${membership.changedAt} reason="${membership.reason}"`
    : '(none)';
  console.log(`${label.padEnd(7)} ${email} in ${accountId}: ${text}`);
}

/** The membership as seeded: an earlier demo run deleted it, so put it back to show a change again. */
async function activeMembership(connectionId: string, email: string, accountId: string): Promise<Membership | undefined> {
  let membership = await membershipOf(connectionId, email, accountId);
  if (membership?.status !== 'active') {
    await writeSeed(seed);
    console.log('(the demo membership was already deleted by an earlier run; reloaded it from the seed)');
    membership = await membershipOf(connectionId, email, accountId);
  }
  show('before', email, accountId, membership);
  return membership;
}

async function waitForOutcome(read: () => Promise<{ status: string; detail?: string } | undefined>) {
  let outcome = await read();
  for (const deadline = Date.now() + 15_000; (!outcome || outcome.status === 'pending') && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    outcome = await read();
  }
  return outcome;
}

async function oktaDemo(): Promise<boolean> {
const connection = seed.connections.find((candidate) => candidate.id === CONNECTION_ID);
const secret = connection?.hookSecrets[0];
if (!connection || !secret) {
  console.error(`The demo needs connection "${CONNECTION_ID}" with a plain hook secret, as in seed/demo.json.`);
  return false;
}
console.log('\n— Okta: a group removal —');
await activeMembership(CONNECTION_ID, EMAIL, ACCOUNT_ID);

const eventId = crypto.randomUUID();
const delivery = oktaHookDelivery([
  oktaLogEvent({
    uuid: eventId,
    published: new Date().toISOString(),
    eventType: 'group.user_membership.remove',
    displayMessage: 'Remove user from group membership',
    user: { id: '00u0000000000000DEV1', email: EMAIL, displayName: 'Alex Doe' },
    group: { id: '00g0000000000000DEV1', name: GROUP },
  }),
]);

const url = `${httpUrl}/hooks/okta/${CONNECTION_ID}`;
const started = Date.now();
const response = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json', [connection.hookAuthHeader]: secret },
  body: JSON.stringify(delivery),
});
console.log(`POST    ${url} (group.user_membership.remove, "${GROUP}") → ${response.status} in ${Date.now() - started} ms`);
if (!response.ok) {
  console.error(await response.text());
  return false;
}

const outcome = await waitForOutcome(() => getInboxEvent(CONNECTION_ID, eventId));
console.log(`event   ${eventId}: ${outcome?.status ?? 'not stored'}${outcome?.detail ? ` (${outcome.detail})` : ''}, applied ${Date.now() - started} ms after the POST`);

const after = await membershipOf(CONNECTION_ID, EMAIL, ACCOUNT_ID);
show('after', EMAIL, ACCOUNT_ID, after);
return after?.status === 'deleted';
}

/** A Graph change notification as Graph posts it (the shape of test/fixtures/graph-*.json). */
function graphNotification(subscriptionId: string, collection: 'Users' | 'Groups', objectId: string, changeType: string, extra: Record<string, unknown> = {}) {
  return {
    changeType,
    clientState: ENTRA_CLIENT_STATE,
    resource: `${collection}/${objectId}`,
    resourceData: {
      '@odata.type': collection === 'Users' ? '#Microsoft.Graph.User' : '#Microsoft.Graph.Group',
      '@odata.id': `${collection}/${objectId}`,
      id: objectId,
      organizationId: '00000000-0000-4000-8000-0000000d0001',
      ...extra,
    },
    subscriptionExpirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
    subscriptionId,
    tenantId: '00000000-0000-4000-8000-0000000d0001',
  };
}

async function entraStep(title: string, email: string, notification: ReturnType<typeof graphNotification>, record: Parameters<typeof graphRecordId>[0]): Promise<boolean> {
  console.log(`\n— Entra ID: ${title} —`);
  await activeMembership(ENTRA_CONNECTION_ID, email, ENTRA_ACCOUNT_ID);
  const url = `${httpUrl}/hooks/graph/${ENTRA_CONNECTION_ID}`;
  const started = Date.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ value: [notification] }) });
  console.log(`POST    ${url} (${notification.resource} ${notification.changeType}) → ${response.status} in ${Date.now() - started} ms`);
  if (response.status !== 202) {
    console.error(await response.text());
    return false;
  }
  // The inbox id is the notification's hash (the receiver computes the same).
  const eventId = graphRecordId(record, new Date());
  const outcome = await waitForOutcome(async () => {
    const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: keys.inboxEvent(ENTRA_CONNECTION_ID, eventId), ConsistentRead: true }));
    return Item as { status: string; detail?: string } | undefined;
  });
  console.log(`event   ${eventId}: ${outcome?.status ?? 'not stored'}${outcome?.detail ? ` (${outcome.detail})` : ''}, applied ${Date.now() - started} ms after the POST`);
  const after = await membershipOf(ENTRA_CONNECTION_ID, email, ENTRA_ACCOUNT_ID);
  show('after', email, ENTRA_ACCOUNT_ID, after);
  return after?.status === 'deleted';
}

async function entraDemo(): Promise<boolean> {
  if (!seed.connections.some((candidate) => candidate.id === ENTRA_CONNECTION_ID)) {
    console.error(`The demo needs connection "${ENTRA_CONNECTION_ID}", as in seed/demo.json.`);
    return false;
  }
  const sam = '00000000-0000-4000-8000-0000000d1001';
  const jo = '00000000-0000-4000-8000-0000000d1002';
  const removed = await groupRemovalStep(sam);
  const eventTime = new Date().toISOString();
  const deleted = await entraStep(
    'jo.park@example.com permanently deleted',
    'jo.park@example.com',
    graphNotification(ENTRA_USERS_SUBSCRIPTION, 'Users', jo, 'deleted', { eventTime }),
    { kind: 'change', subscriptionId: ENTRA_USERS_SUBSCRIPTION, changeType: 'deleted', resourceType: 'users', resourceId: jo, eventTime },
  );
  const disabled = await disabledUserStep();
  return removed && deleted && disabled;
}

/** A member removed from a group: Graph lists them in members@delta; the processor checks the group's members now. */
async function groupRemovalStep(sam: string): Promise<boolean> {
  if (!state?.graphAuthorityHost) {
    console.log('\n(no local fake Graph in this stack — moto_server missing? — so no group-removal demo)');
    return true;
  }
  await changeFakeGraph('DELETE', `groups/${ENTRA_GROUP}/members/${sam}`);
  return entraStep(
    `sam.lee@example.com removed from group ${ENTRA_GROUP}`,
    'sam.lee@example.com',
    graphNotification(ENTRA_GROUPS_SUBSCRIPTION, 'Groups', ENTRA_GROUP, 'updated', { 'members@delta': [{ id: sam, '@removed': 'deleted' }] }),
    { kind: 'change', subscriptionId: ENTRA_GROUPS_SUBSCRIPTION, changeType: 'updated', resourceType: 'groups', resourceId: ENTRA_GROUP, removedMembers: [sam] },
  );
}

/** Changes the stack's fake Graph, as an administrator would change Entra ID (nothing to do without one). */
async function changeFakeGraph(method: 'PUT' | 'DELETE', path: string, body?: unknown): Promise<void> {
  if (!state?.graphAuthorityHost) return;
  const response = await fetch(`${state.graphAuthorityHost}/_fake/${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`the fake Graph refused ${method} ${path}: ${response.status}`);
}

/** A user disabled in Entra: Graph says only "updated"; process-graph-events asks the (fake) Graph and finds accountEnabled false. */
async function disabledUserStep(): Promise<boolean> {
  if (!state?.graphAuthorityHost) {
    console.log('\n(no local fake Graph in this stack — moto_server missing? — so no disabled-user demo)');
    return true;
  }
  const lee = '00000000-0000-4000-8000-0000000d1003';
  await changeFakeGraph('PUT', `users/${lee}`, { mail: 'lee.wong@example.com', userPrincipalName: 'lee.wong@example.com', accountEnabled: false });
  const eventTime = new Date().toISOString();
  return entraStep(
    'lee.wong@example.com disabled (the fake Graph now answers accountEnabled false)',
    'lee.wong@example.com',
    graphNotification(ENTRA_USERS_SUBSCRIPTION, 'Users', lee, 'updated', { eventTime }),
    { kind: 'change', subscriptionId: ENTRA_USERS_SUBSCRIPTION, changeType: 'updated', resourceType: 'users', resourceId: lee, eventTime },
  );
}

/** Changes the stack's fake Okta, as an Okta administrator would (its System Log records it). */
async function changeFakeOkta(method: 'POST' | 'PUT', path: string, body: unknown): Promise<void> {
  const response = await fetch(`${state?.oktaOrgUrl}/_fake/${path}`, { method, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`the fake Okta refused ${method} ${path}: ${response.status}`);
}

/** Waits for the pollers to find a change and the stream to apply it: the membership is deleted. */
async function waitForDeletion(connectionId: string, email: string, accountId: string, started: number, timeoutMs: number): Promise<boolean> {
  let membership = await membershipOf(connectionId, email, accountId);
  for (const deadline = started + timeoutMs; membership?.status !== 'deleted' && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    membership = await membershipOf(connectionId, email, accountId);
  }
  show('after', email, accountId, membership);
  console.log(membership?.status === 'deleted' ? `applied ${((Date.now() - started) / 1000).toFixed(1)} s after the change, by the pollers alone` : `not applied within ${timeoutMs / 1000} s`);
  return membership?.status === 'deleted';
}

async function pollDemo(): Promise<boolean> {
  if (!state?.oktaOrgUrl || !state.graphAuthorityHost || !state.pollIntervalSeconds) {
    console.error('The poll demo needs the stack\'s fake Okta, fake Graph and pollers (npm start runs them when moto_server is installed).');
    return false;
  }
  const timeoutMs = (state.pollIntervalSeconds * 3 + 30) * 1000;
  console.log(`\n— No webhook: the pollers run every ${state.pollIntervalSeconds} s (the deployed schedule: every 2 minutes) —`);

  console.log('\n— Okta: riley.chen@example.com deactivated (only the System Log says so) —');
  await activeMembership(CONNECTION_ID, 'riley.chen@example.com', ACCOUNT_ID);
  const oktaStarted = Date.now();
  const now = new Date().toISOString();
  await changeFakeOkta(
    'POST',
    'logs',
    oktaLogEvent({
      uuid: crypto.randomUUID(),
      published: now,
      eventType: 'user.lifecycle.deactivate',
      displayMessage: 'Deactivate Okta user',
      user: { id: '00u0000000000000DEV2', email: 'riley.chen@example.com', displayName: 'Riley Chen' },
    }),
  );
  // What deactivating does in Okta: the user's status (reconciliation reads it) and the System Log entry (the poller reads it).
  await changeFakeOkta('PUT', 'users/00u0000000000000DEV2', { status: 'DEPROVISIONED', login: 'riley.chen@example.com', email: 'riley.chen@example.com' });
  console.log(`change  user.lifecycle.deactivate added to ${state.oktaOrgUrl}/api/v1/logs at ${now}`);
  const okta = await waitForDeletion(CONNECTION_ID, 'riley.chen@example.com', ACCOUNT_ID, oktaStarted, timeoutMs);

  console.log('\n— Entra ID: lee.wong@example.com disabled (only the users delta says so) —');
  const lee = '00000000-0000-4000-8000-0000000d1003';
  await activeMembership(ENTRA_CONNECTION_ID, 'lee.wong@example.com', ENTRA_ACCOUNT_ID);
  const user = { mail: 'lee.wong@example.com', userPrincipalName: 'lee.wong@example.com' };
  // An earlier demo may have left the user disabled: enable first, so disabling is a change.
  await changeFakeGraph('PUT', `users/${lee}`, { ...user, accountEnabled: true });
  const entraStarted = Date.now();
  await changeFakeGraph('PUT', `users/${lee}`, { ...user, accountEnabled: false });
  console.log(`change  accountEnabled false in the fake Graph at ${new Date(entraStarted).toISOString()}`);
  const entra = await waitForDeletion(ENTRA_CONNECTION_ID, 'lee.wong@example.com', ENTRA_ACCOUNT_ID, entraStarted, timeoutMs);
  return okta && entra;
}

const results =
  which === 'poll' ? [await pollDemo()] : [...(which !== 'entra' ? [await oktaDemo()] : []), ...(which !== 'okta' ? [await entraDemo()] : [])];
process.exit(results.every(Boolean) ? 0 : 1);
