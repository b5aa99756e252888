/**
 * npm run demo — against a running `npm start`: fires an Okta group removal
 * (alex.doe@example.com leaves "Finance-Approvers") at the demo connection over HTTP, exactly
 * as Okta would, and prints the membership before and after, with the recorded outcome.
 */
import { readFileSync } from 'node:fs';
import { readState } from './lib/local-stack-state.js';

const CONNECTION_ID = 'demo-okta';
const ACCOUNT_ID = 'demo-account';
const EMAIL = 'alex.doe@example.com';
const GROUP = 'Finance-Approvers';

const state = readState();
if (!state) {
  console.error('No running local stack found. Start it first with `npm start`, then run `npm run demo` in another terminal.');
  process.exit(1);
}
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

const seed = parseSeed(JSON.parse(readFileSync(state.seedFile, 'utf8')));
const connection = seed.connections.find((candidate) => candidate.id === CONNECTION_ID);
const secret = connection?.hookSecrets[0];
if (!connection || !secret) {
  console.error(`The demo needs connection "${CONNECTION_ID}" with a plain hook secret, as in seed/demo.json.`);
  process.exit(1);
}

async function demoMembership() {
  const userId = await findUserIdByEmail(CONNECTION_ID, EMAIL);
  const memberships = userId ? await membershipsOfUser(userId) : [];
  return memberships.find((membership) => membership.accountId === ACCOUNT_ID);
}

function show(label: string, membership: Awaited<ReturnType<typeof demoMembership>>) {
  const text = membership
    ? `${membership.status.padEnd(7)} role=${membership.role} changedAt=${membership.changedAt} reason="${membership.reason}"`
    : '(none)';
  console.log(`${label.padEnd(7)} ${EMAIL} in ${ACCOUNT_ID}: ${text}`);
}

let before = await demoMembership();
if (before?.status !== 'active') {
  // An earlier demo deleted it: put the seeded membership back so the demo shows a change.
  await writeSeed(seed);
  console.log('(the demo membership was already deleted by an earlier run; reloaded it from the seed)');
  before = await demoMembership();
}
show('before', before);

const eventId = crypto.randomUUID();
const delivery = {
  eventType: 'com.okta.event_hook',
  eventTypeVersion: '1.0',
  cloudEventsVersion: '0.1',
  source: 'https://dev-00000000.okta.com/api/v1/eventHooks/who0000000000000DEV1',
  eventId: crypto.randomUUID(),
  eventTime: new Date().toISOString(),
  contentType: 'application/json',
  data: {
    events: [
      {
        uuid: eventId,
        published: new Date().toISOString(),
        eventType: 'group.user_membership.remove',
        version: '0',
        displayMessage: 'Remove user from group membership',
        severity: 'INFO',
        actor: { id: '00u0000000000000ADM1', type: 'User', alternateId: 'okta.admin@example.com', displayName: 'Okta Admin' },
        outcome: { result: 'SUCCESS', reason: null },
        target: [
          { id: '00u0000000000000DEV1', type: 'User', alternateId: EMAIL, displayName: 'Alex Doe' },
          { id: '00g0000000000000DEV1', type: 'UserGroup', alternateId: 'unknown', displayName: GROUP },
        ],
      },
    ],
  },
};

const url = `${state.httpUrl}/hooks/okta/${CONNECTION_ID}`;
const started = Date.now();
const response = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json', [connection.hookAuthHeader]: secret },
  body: JSON.stringify(delivery),
});
console.log(`POST    ${url} (group.user_membership.remove, "${GROUP}") → ${response.status} in ${Date.now() - started} ms`);
if (!response.ok) {
  console.error(await response.text());
  process.exit(1);
}

let outcome = await getInboxEvent(CONNECTION_ID, eventId);
for (const deadline = Date.now() + 15_000; outcome?.status === 'pending' && Date.now() < deadline; ) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  outcome = await getInboxEvent(CONNECTION_ID, eventId);
}
console.log(`event   ${eventId}: ${outcome?.status ?? 'not stored'}${outcome?.detail ? ` (${outcome.detail})` : ''}, applied ${Date.now() - started} ms after the POST`);

const after = await demoMembership();
show('after', after);
process.exit(after?.status === 'deleted' ? 0 : 1);
