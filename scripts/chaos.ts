/**
 * npm run chaos [-- --changes 5000] [--users 100] [--rate 0.2] [--concurrency 16] [--outage-seconds 8]
 *
 * Issue 12's chaos run, Okta part: starts the local stack (`npm start` as a child) with
 * CHAOS_FAILURE_RATE (that share of the DynamoDB, Cognito and Secrets Manager attempts fail,
 * throttled or 500: shared/injected-faults.ts) and FAKE_IDP_FAILURE_RATE (the fake Okta and Graph
 * answer that share of API calls 429 or 503), and the pollers every 5 s. Then `changes` random Okta
 * changes (group removals and re-adds over four accounts, deactivations, deletions, suspensions) of
 * `users` people go through the real hook route as Okta sends them: each change is first written
 * to the fake Okta's System Log, then delivered; `rate` of the deliveries are lost on the way, a
 * failed delivery (non-200, timeout, lost) is retried once and then dropped, so the System Log
 * poller must bring it. The fake Okta holds each person's final groups and status (what its API
 * answers the service's current-state checks with). `graph-share` (default 0.2) of the changes are
 * Entra's, about five per person: group removals and re-adds (the groups subscription, with
 * `members@delta`), disables and deletions (the users subscription). Each is made in the fake
 * Graph first, then notified; Graph retries a notification until it is accepted, and the delta
 * pollers run too.
 *
 * Once 30 % of the Okta changes are sent, a stream outage of `outage-seconds` (default 8): every
 * invocation of the stream consumers fails (scripts/lib/local-stream.ts, SIGUSR2 to the stack), so
 * the batches of that window exhaust their retries and go to the dead-letter queue (moto's SQS) as
 * Lambda's invocation records, their events left `pending`. 2 s after it the admin replays the
 * dead-letter queue (POST /admin/events/replay {"source": "dead-letter-queue"}: each batch read
 * back from the stream, its pending events re-armed) while the send goes on.
 *
 * Afterwards: every change has an outcome; failed events and the dead-letter queue are replayed
 * through POST /admin/events/replay until nothing is failed; the memberships equal the oracle
 * (scripts/lib/membership-oracle.ts) computed from the change list in IdP time; every membership's
 * audit entries have one entry per event and flip its status; no line the stack wrote (handlers at
 * DEBUG) holds a secret of the run or a token. Prints one JSON object; exits 1 on any loss,
 * mismatch, doubled effect or leaked secret.
 */
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.js';
import { FAKE_GRAPH_CERT_PATH } from './lib/fake-graph.js';
import { DEMO_ENTRA, graphGroupMemberNotification, graphUserNotification } from './lib/graph-notifications.js';
import type { GraphChangeRecord } from '../shared/domain/graph-notifications.js';
import { oktaHookDelivery, oktaLogEvent } from './lib/okta-events.js';
import { localStackAdminToken, startLocalStackChild, type LocalStackChild } from './lib/local-stack-child.js';
import { expectedMemberships, grantedAccounts, grantedRole, type Grants, type IdpChange, type ModelMembership } from './lib/membership-oracle.js';
import { leaksIn, registerSecret, registerSecretsIn } from './lib/log-scan.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { options } = parseArgs(process.argv.slice(2));
const numberOption = (name: string, fallback: number) => {
  const value = Number(options.get(name) ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number`);
  return value;
};
const changeCount = Math.floor(numberOption('changes', 5000));
const userCount = Math.max(1, Math.floor(numberOption('users', 100)));
const failureRate = numberOption('rate', 0.2);
const concurrency = Math.max(1, Math.floor(numberOption('concurrency', 16)));
/** The share of the changes that are Entra's (group removals and re-adds, user disables and deletions, through the Graph hook). */
const graphShare = Math.min(1, numberOption('graph-share', 0.2));
const graphChangeCount = Math.round(changeCount * graphShare);
const oktaChangeCount = changeCount - graphChangeCount;
/** About five changes per Entra person, so a person's removals and re-adds interleave. */
const entraCount = Math.max(1, Math.round(graphChangeCount / 5));
const ENTRA_ROLE = 'Author';
const POLL_INTERVAL_SECONDS = 5;
/**
 * A stream outage of this many seconds during the send (0: none): every invocation of the stream
 * consumers fails, so the batches of that window exhaust their retries and are dead-lettered.
 */
const outageSeconds = numberOption('outage-seconds', 8);
/** The outage starts once this share of the Okta changes has been sent. */
const OUTAGE_AFTER_SHARE = 0.3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const CONNECTION = 'chaos-okta';
const PROVIDER = 'ChaosOkta';
const SECRET = 'chaos-okta-hook-secret-000000000000000000';
/** Group → (account → role): each account granted by one group, one group granting two accounts. */
const GRANTS: Grants = new Map([
  ['Chaos-Admins', new Map([['chaos-one', 'Admin']])],
  ['Chaos-Viewers', new Map([['chaos-two', 'Viewer']])],
  ['Chaos-Authors', new Map([['chaos-three', 'Author'], ['chaos-four', 'Author']])],
]);
const GROUPS = [...GRANTS.keys()];
const GROUP_IDS = new Map(GROUPS.map((group, index) => [group, `00gCHAOS${String(index).padStart(12, '0')}`]));
const ACCOUNTS = grantedAccounts(GRANTS);
const roleIn = (accountId: string) => grantedRole(GRANTS, accountId);
const person = (index: number) => ({ id: `00uCHAOS${String(index).padStart(12, '0')}`, email: `chaos-${index}@example.com` });

const EVENT_TYPES = {
  groupRemoved: 'group.user_membership.remove',
  groupAdded: 'group.user_membership.add',
  deactivated: 'user.lifecycle.deactivate',
  deleted: 'user.lifecycle.delete.initiated',
  suspended: 'user.lifecycle.suspend',
} as const;
type ChangeType = keyof typeof EVENT_TYPES;
type Change = { uuid: string; type: ChangeType; user: number; group: string; at: number };

/** Mostly group removals and re-adds; a removal of the person now and then (it is for good). */
function randomChanges(): Change[] {
  const weighted: Array<[ChangeType, number]> = [['groupRemoved', 0.45], ['groupAdded', 0.45], ['deactivated', 0.04], ['deleted', 0.03], ['suspended', 0.03]];
  // One IdP second apart, every one in the past: a `published` later than arrival is capped at
  // arrival (as it must be), which would turn a late (polled) change into the newest one.
  const base = Date.now() - (oktaChangeCount + 60) * 1000;
  return Array.from({ length: oktaChangeCount }, (_, index) => {
    let draw = Math.random();
    const type = weighted.find(([, weight]) => (draw -= weight) < 0)?.[0] ?? 'groupRemoved';
    return { uuid: crypto.randomUUID(), type, user: Math.floor(Math.random() * userCount), group: GROUPS[Math.floor(Math.random() * GROUPS.length)] ?? '', at: base + index * 1000 };
  });
}

type SeedItem = Record<string, unknown> & { id?: string; type?: string };
type ChaosSeed = { connections: SeedItem[]; accounts: SeedItem[]; users: Array<SeedItem & { identities?: Array<{ connectionId: string; subject?: string }>; memberships?: Array<{ accountId: string; role?: string; changedAt?: string }> }> };

/**
 * The demo seed without its Okta connections: `npm start`'s fake Okta is one org for every Okta
 * connection, so their pollers would each store (and the stream process) every change the run
 * writes to the System Log, tripling the Okta work and delaying the run's own events for minutes.
 */
function withoutDemoOkta(demo: ChaosSeed): ChaosSeed {
  const connections = demo.connections.filter((connection) => connection.type !== 'okta');
  const kept = new Set(connections.map((connection) => connection.id));
  const servedByKept = (account: SeedItem) => {
    const providers = (account.ssoConfig as { providers?: Array<{ connectionId: string }> } | undefined)?.providers ?? [];
    return providers.every((provider) => kept.has(provider.connectionId));
  };
  const accounts = demo.accounts.filter(servedByKept);
  const accountIds = new Set(accounts.map((account) => account.id));
  const users = demo.users
    .map((user) => ({ ...user, identities: user.identities?.filter((identity) => kept.has(identity.connectionId)), memberships: user.memberships?.filter((membership) => accountIds.has(membership.accountId)) }))
    .filter((user) => (user.identities?.length ?? 0) > 0);
  return { ...demo, connections, accounts, users };
}

function chaosSeed(directory: string): string {
  const demo = JSON.parse(readFileSync(join(ROOT, 'seed/demo.json'), 'utf8')) as ChaosSeed;
  const seed = withoutDemoOkta(demo);
  seed.connections.push({ id: CONNECTION, type: 'okta', providerNames: [PROVIDER], hookSecrets: [SECRET] });
  for (const id of ACCOUNTS) {
    seed.accounts.push({
      id,
      ssoConfig: {
        active: true,
        allowedDomains: ['example.com'],
        providers: [{ connectionId: CONNECTION, providerName: PROVIDER, groups: GROUPS.flatMap((group) => (GRANTS.get(group)?.has(id) ? [{ group, role: roleIn(id) }] : [])) }],
      },
    });
  }
  for (let index = 0; index < userCount; index++) {
    const { id, email } = person(index);
    seed.users.push({
      email,
      identities: [{ connectionId: CONNECTION, subject: id }],
      memberships: ACCOUNTS.map((accountId) => ({ accountId, role: roleIn(accountId), changedAt: '2025-01-01T00:00:00Z' })),
    });
  }
  for (let index = 0; index < entraCount; index++) {
    const { id, email } = entraPerson(index);
    seed.users.push({
      email,
      identities: [{ connectionId: DEMO_ENTRA.connectionId, subject: id }],
      memberships: [{ accountId: DEMO_ENTRA.accountId, role: ENTRA_ROLE, changedAt: '2025-01-01T00:00:00Z' }],
    });
  }
  const file = join(directory, 'chaos-seed.json');
  registerSecretsIn(seed);
  writeFileSync(file, JSON.stringify(seed));
  return file;
}

/** The LogEvent Okta writes for a change (and delivers to the event hook). */
function logEventOf(change: Change) {
  const { id, email } = person(change.user);
  const isGroupChange = change.type === 'groupRemoved' || change.type === 'groupAdded';
  return oktaLogEvent({
    uuid: change.uuid,
    published: new Date(change.at).toISOString(),
    eventType: EVENT_TYPES[change.type],
    displayMessage: change.type,
    user: { id, email, displayName: `Chaos ${change.user}` },
    ...(isGroupChange ? { group: { id: GROUP_IDS.get(change.group) as string, name: change.group } } : {}),
  });
}

/** A call to a fake IdP's /_fake control endpoint (HTTPS with the fakes' test certificate). */
const fakeCa = readFileSync(FAKE_GRAPH_CERT_PATH);
function fakeControl(url: string, method: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = httpsRequest(url, { method, ca: fakeCa, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.end(payload);
  });
}

/** The fake Okta's answers for each person: their groups and status after every change (IdP order). */
async function setFakeOktaFinalState(orgUrl: string, changes: Change[]): Promise<void> {
  const groups = new Map(Array.from({ length: userCount }, (_, index) => [index, new Set(GROUPS)]));
  const status = new Map<number, string>();
  for (const change of [...changes].sort((a, b) => a.at - b.at)) {
    if (change.type === 'groupRemoved') groups.get(change.user)?.delete(change.group);
    else if (change.type === 'groupAdded') groups.get(change.user)?.add(change.group);
    else status.set(change.user, change.type === 'suspended' ? 'SUSPENDED' : 'DEPROVISIONED');
  }
  for (let index = 0; index < userCount; index++) {
    const { id, email } = person(index);
    await fakeControl(`${orgUrl}/_fake/users/${id}/groups`, 'PUT', [...(groups.get(index) ?? [])]);
    const finalStatus = status.get(index);
    if (finalStatus) await fakeControl(`${orgUrl}/_fake/users/${id}`, 'PUT', { status: finalStatus, login: email, email });
  }
}

type GraphChangeType = 'deleted' | 'disabled' | 'groupRemoved' | 'groupAdded';
type GraphChange = { user: number; type: GraphChangeType; day: Date };
const entraPerson = (index: number) => ({ id: `00000000-0000-4000-8c00-${String(index).padStart(12, '0')}`, email: `chaos-entra-${index}@example.com` });

/**
 * Entra changes of `entraCount` people, each possible in the state the person is in: a member of
 * the account's group is mostly taken out of it, one outside mostly put back; now and then a
 * person is disabled or deleted (for good: a removed person only gets deleted again, as Graph
 * redelivers).
 */
function randomGraphChanges(count: number): GraphChange[] {
  const removed = new Set<number>();
  const outOfGroup = new Set<number>();
  return Array.from({ length: count }, () => {
    const user = Math.floor(Math.random() * entraCount);
    const draw = Math.random();
    const type: GraphChangeType = removed.has(user) || draw < 0.08 ? 'deleted' : draw < 0.16 ? 'disabled' : outOfGroup.has(user) ? 'groupAdded' : 'groupRemoved';
    if (type === 'deleted' || type === 'disabled') removed.add(user);
    else if (type === 'groupRemoved') outOfGroup.add(user);
    else outOfGroup.delete(user);
    return { user, type, day: new Date() };
  });
}

/** What Entra holds at the end, from the change list in order: the people removed, and those out of the group. */
function finalEntraState(changes: readonly GraphChange[]): { removed: Set<number>; outOfGroup: Set<number> } {
  const removed = new Set<number>();
  const outOfGroup = new Set<number>();
  for (const change of changes) {
    if (change.type === 'deleted' || change.type === 'disabled') removed.add(change.user);
    else if (change.type === 'groupRemoved') outOfGroup.add(change.user);
    else outOfGroup.delete(change.user);
  }
  return { removed, outOfGroup };
}

/** The notification Graph sends for a change (the users subscription, or the groups one with `members@delta`). */
function graphNotificationOf(change: GraphChange) {
  const { id } = entraPerson(change.user);
  if (change.type === 'deleted') return graphUserNotification(id, 'deleted');
  if (change.type === 'disabled') return graphUserNotification(id, 'updated');
  return graphGroupMemberNotification(DEMO_ENTRA.authorGroupId, id, change.type === 'groupRemoved' ? 'removed' : 'added');
}

/** The record the service stores a change's notification as (test of its inbox id). */
function graphRecordOf(change: GraphChange): GraphChangeRecord {
  const { id } = entraPerson(change.user);
  if (change.type === 'deleted' || change.type === 'disabled') {
    return { kind: 'change', subscriptionId: DEMO_ENTRA.usersSubscriptionId, changeType: change.type === 'deleted' ? 'deleted' : 'updated', resourceType: 'users', resourceId: id };
  }
  const member = [id.toLowerCase()];
  return {
    kind: 'change',
    subscriptionId: DEMO_ENTRA.groupsSubscriptionId,
    changeType: 'updated',
    resourceType: 'groups',
    resourceId: DEMO_ENTRA.authorGroupId.toLowerCase(),
    ...(change.type === 'groupRemoved' ? { removedMembers: member } : { removedMembers: [], addedMembers: member }),
  };
}

type Deliveries = { attempts: number; acknowledged: number; lostInTransit: number; answered: Record<string, number>; dropped: number };

/** Okta's sender: the change goes to the System Log, then to the hook; one retry, then given up. */
async function sendAll(stack: LocalStackChild, orgUrl: string, changes: Change[], onShareSent: { share: number; then: () => void }): Promise<{ deliveries: Deliveries; acknowledged: Set<string> }> {
  const deliveries: Deliveries = { attempts: 0, acknowledged: 0, lostInTransit: 0, answered: {}, dropped: 0 };
  const acknowledged = new Set<string>();
  const queue = [...changes];
  let signalled = false;
  const worker = async () => {
    for (let change = queue.shift(); change; change = queue.shift()) {
      if (!signalled && queue.length <= changes.length * (1 - onShareSent.share)) {
        signalled = true;
        onShareSent.then();
      }
      const event = logEventOf(change);
      await fakeControl(`${orgUrl}/_fake/logs`, 'POST', event);
      const body = JSON.stringify(oktaHookDelivery([event]));
      let accepted = false;
      for (let attempt = 0; attempt < 2 && !accepted; attempt++) {
        deliveries.attempts++;
        if (Math.random() < failureRate) {
          deliveries.lostInTransit++;
          continue;
        }
        const status = await post(`${stack.httpUrl}/hooks/okta/${CONNECTION}`, body, { authorization: SECRET });
        deliveries.answered[status] = (deliveries.answered[status] ?? 0) + 1;
        accepted = status === '200';
      }
      if (accepted) {
        deliveries.acknowledged++;
        acknowledged.add(change.uuid);
      } else deliveries.dropped++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { deliveries, acknowledged };
}

const GRAPH_MAX_ATTEMPTS = 10;

/**
 * Graph's sender: the fake Graph's user changes first (what the service reads back), then the
 * notification, retried until accepted (202) with a pause, at most GRAPH_MAX_ATTEMPTS times.
 */
async function sendGraph(stack: LocalStackChild, graphBaseUrl: string, changes: GraphChange[]): Promise<{ deliveries: Deliveries; acknowledged: Set<number> }> {
  const deliveries: Deliveries = { attempts: 0, acknowledged: 0, lostInTransit: 0, answered: {}, dropped: 0 };
  const acknowledged = new Set<number>();
  const fake = new URL(graphBaseUrl).origin;
  const workers = Math.max(1, Math.floor(concurrency / 4));
  // Each person's changes go through one worker, in order: the fake's final state is the list's.
  const queues = Array.from({ length: workers }, (_, worker) => changes.flatMap((change, index) => (change.user % workers === worker ? [{ change, index }] : [])));
  const applyToFake = (change: GraphChange) => {
    const { id, email } = entraPerson(change.user);
    switch (change.type) {
      case 'deleted':
        return fakeControl(`${fake}/_fake/users/${id}`, 'DELETE');
      case 'disabled':
        return fakeControl(`${fake}/_fake/users/${id}`, 'PUT', { mail: email, userPrincipalName: email, accountEnabled: false });
      case 'groupRemoved':
        return fakeControl(`${fake}/_fake/groups/${DEMO_ENTRA.authorGroupId}/members/${id}`, 'DELETE');
      case 'groupAdded':
        return fakeControl(`${fake}/_fake/groups/${DEMO_ENTRA.authorGroupId}/members/${id}`, 'PUT');
    }
  };
  const worker = async (queue: Array<{ change: GraphChange; index: number }>) => {
    for (const { change, index } of queue) {
      await applyToFake(change);
      change.day = new Date();
      const body = JSON.stringify(graphNotificationOf(change));
      let accepted = false;
      for (let attempt = 0; attempt < GRAPH_MAX_ATTEMPTS && !accepted; attempt++) {
        if (attempt > 0) await sleep(500);
        deliveries.attempts++;
        if (Math.random() < failureRate) {
          deliveries.lostInTransit++;
          continue;
        }
        const status = await post(`${stack.httpUrl}/hooks/graph/${DEMO_ENTRA.connectionId}`, body, {});
        deliveries.answered[status] = (deliveries.answered[status] ?? 0) + 1;
        accepted = status === '202';
      }
      if (accepted) {
        deliveries.acknowledged++;
        acknowledged.add(index);
      } else deliveries.dropped++;
    }
  };
  await Promise.all(queues.map(worker));
  return { deliveries, acknowledged };
}

/** POSTs a webhook body; the answer's status, or what went wrong. */
async function post(url: string, body: string, headers: Record<string, string>): Promise<string> {
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(15_000) });
    const text = await response.text();
    // serverless-offline answers a Lambda timeout with 200 and an error body (API Gateway: 504).
    return text.includes('"LambdaTimeoutError"') ? 'offline timeout' : String(response.status);
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'timeout' : 'network error';
  }
}

const FINAL = new Set(['applied', 'skipped', 'stale', 'invalid']);

type InboxKey = { pk: string; sk: string };

/** The events an admin replay put back to pending at least once (`replayedAt` set), keyed `pk|sk`. */
const replayedKeys = new Set<string>();

/** The inbox status of each event (undefined: not stored), read consistently; keyed `pk|sk`. */
async function inboxStatuses(wanted: InboxKey[]): Promise<Map<string, string | undefined>> {
  const { BatchGetCommand } = await import('@aws-sdk/lib-dynamodb');
  const { documentClient, tableName } = await import('../shared/store/client.js');
  const statuses = new Map<string, string | undefined>(wanted.map((key) => [`${key.pk}|${key.sk}`, undefined]));
  for (let start = 0; start < wanted.length; start += 100) {
    let requested: Array<Record<string, unknown>> = wanted.slice(start, start + 100);
    while (requested.length > 0) {
      const answer = await documentClient.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: requested, ConsistentRead: true } } }));
      for (const item of answer.Responses?.[tableName] ?? []) {
        statuses.set(`${item.pk as string}|${item.sk as string}`, item.status as string);
        if (item.replayedAt) replayedKeys.add(`${item.pk as string}|${item.sk as string}`);
      }
      requested = (answer.UnprocessedKeys?.[tableName]?.Keys as Array<Record<string, unknown>> | undefined) ?? [];
    }
  }
  return statuses;
}

/**
 * Waits until every event has an outcome (failed counts as one: it waits for a replay) or `ms`
 * pass; every 30 s meanwhile `meanwhile` runs (the admin replaying the dead-letter queue).
 */
async function settle(wanted: InboxKey[], ms: number, meanwhile?: () => Promise<void>): Promise<Map<string, string | undefined>> {
  const started = Date.now();
  const deadline = started + ms;
  let lastRun = started;
  for (;;) {
    const statuses = await inboxStatuses(wanted);
    const open = [...statuses.values()].filter((status) => status === undefined || status === 'pending').length;
    if (open === 0 || Date.now() > deadline) return statuses;
    if (meanwhile && Date.now() - lastRun >= 30_000) {
      await meanwhile();
      lastRun = Date.now();
    }
    await sleep(2_000);
  }
}

type ReplayAnswer = { replayed?: number; rearmed?: number; messages?: number; deleted?: number; expired?: number; more?: boolean };

/** POST /admin/events/replay until it says there is no more; the answers' counts summed. */
async function adminReplay(stack: LocalStackChild, token: string, body: unknown): Promise<Required<Omit<ReplayAnswer, 'more'>>> {
  const sum = { replayed: 0, rearmed: 0, messages: 0, deleted: 0, expired: 0 };
  for (let call = 0; call < 50; call++) {
    const response = await fetch(`${stack.httpUrl}/admin/events/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const answer = (await response.json().catch(() => ({}))) as ReplayAnswer;
    if (response.status !== 202) {
      console.error(`POST /admin/events/replay ${JSON.stringify(body)} answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`);
      // An injected fault may fail the admin call itself: the admin tries again.
      await sleep(500);
      continue;
    }
    for (const name of ['replayed', 'rearmed', 'messages', 'deleted', 'expired'] as const) sum[name] += answer[name] ?? 0;
    if (!answer.more) break;
  }
  return sum;
}

async function scan(entity: string): Promise<Record<string, unknown>[]> {
  const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
  const { documentClient, tableName } = await import('../shared/store/client.js');
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(new ScanCommand({ TableName: tableName, FilterExpression: 'entity = :entity', ExpressionAttributeValues: { ':entity': entity }, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** The memberships against the oracle, and every membership's audit trail. */
async function check(changes: Change[], graphChanges: GraphChange[]) {
  const { seededUserId } = await import('../shared/store/seed-writer.js');
  const emails = Array.from({ length: userCount }, (_, index) => person(index).email);
  const emailOf = new Map(emails.map((email) => [seededUserId(email), email]));
  const model: IdpChange[] = changes.map((change) =>
    change.type === 'groupRemoved' || change.type === 'groupAdded'
      ? { kind: change.type, user: person(change.user).email, group: change.group, at: change.at }
      : { kind: 'userRemoved', user: person(change.user).email, at: change.at },
  );
  const initial = new Map(emails.map((email) => [email, new Map(ACCOUNTS.map((accountId): [string, ModelMembership] => [accountId, { status: 'active', role: roleIn(accountId) }]))]));
  const expected = expectedMemberships(initial, GRANTS, model);
  // Entra: a deletion or a disable removes the person from the connection's account for good; a
  // group removal until they are put back in the group. Graph is asked for the current state, so
  // what counts is where each person ends.
  const entra = finalEntraState(graphChanges);
  for (let index = 0; index < entraCount; index++) {
    const { email } = entraPerson(index);
    emailOf.set(seededUserId(email), email);
    const out = entra.removed.has(index) || entra.outOfGroup.has(index);
    expected.set(email, new Map([[DEMO_ENTRA.accountId, { status: out ? 'deleted' : 'active', role: ENTRA_ROLE }]]));
  }
  const memberships = (await scan('Membership')).filter((item) => emailOf.has(item.userId as string));
  const actual = new Map(memberships.map((m) => [`${emailOf.get(m.userId as string)} ${m.accountId as string}`, `${m.status as string}:${m.role as string}`]));
  const mismatches: Array<{ membership: string; expected: string; actual: string | undefined }> = [];
  for (const [email, accounts] of expected) {
    for (const [accountId, membership] of accounts) {
      const key = `${email} ${accountId}`;
      const wanted = `${membership.status}:${membership.role}`;
      if (actual.get(key) !== wanted) mismatches.push({ membership: key, expected: wanted, actual: actual.get(key) });
    }
  }
  const audits = (await scan('Audit')).filter((item) => emailOf.has(item.userId as string));
  let doubled = 0;
  const doubledExamples: Array<{ membership: string; trail: string[] }> = [];
  let brokenTrails = 0;
  let effects = 0;
  for (const membership of memberships) {
    const own = audits
      .filter((audit) => audit.userId === membership.userId && audit.accountId === membership.accountId)
      .sort((a, b) => String(a.recordedAt).localeCompare(String(b.recordedAt)) || String(a.occurredAt).localeCompare(String(b.occurredAt)));
    effects += own.length;
    // An effect is an event at its event time. A Graph hint stored again for a later change of the
    // same person the same day (removed, re-added, removed again) keeps its inbox id (a hash of
    // what it says and the day) but carries its new arrival time: its second removal is a second
    // effect. The same event applied twice has the same time in both entries.
    const repeated = own.length - new Set(own.map((audit) => `${String(audit.eventId)}|${String(audit.occurredAt)}`)).size;
    doubled += repeated;
    if (repeated > 0 && doubledExamples.length < 4) {
      doubledExamples.push({
        membership: `${emailOf.get(membership.userId as string)} ${membership.accountId as string}`,
        trail: own.map((audit) => `${String(audit.eventId).slice(0, 12)} ${String(audit.action)} occurred ${String(audit.occurredAt)} recorded ${String(audit.recordedAt)}`),
      });
    }
    let status = 'active';
    let broken = false;
    for (const audit of own) {
      const before = (audit.before as { status?: string } | undefined)?.status;
      const after = (audit.after as { status?: string } | undefined)?.status;
      if (before !== status || after === before) broken = true;
      status = after ?? status;
    }
    if (broken || status !== membership.status) brokenTrails++;
  }
  return { memberships: memberships.length, mismatches, effects, doubled, doubledExamples, brokenTrails };
}

const started = performance.now();
const directory = mkdtempSync(join(tmpdir(), 'sso-sync-chaos-'));
console.error(`starting the local stack (${userCount} people, AWS and fake IdP failure rate ${failureRate})…`);
const stack = await startLocalStackChild(directory, chaosSeed(directory), {
  CHAOS_FAILURE_RATE: String(failureRate),
  FAKE_IDP_FAILURE_RATE: String(failureRate),
  POLL_INTERVAL_SECONDS: String(POLL_INTERVAL_SECONDS),
  // Every line the handlers can write, so the secrets scan reads as much as the tests' does.
  POWERTOOLS_LOG_LEVEL: 'DEBUG',
  OFFLINE_FLAGS: '--noTimeout --param logLevel=DEBUG',
  CHAOS_STREAM_OUTAGE_SECONDS: String(outageSeconds),
});
// Imported once the stack is up: these modules read the table's settings when loaded.
registerSecret(SECRET, (await import('./lib/local-okta.js')).LOCAL_OKTA_API_TOKEN, (await import('./lib/local-graph.js')).LOCAL_GRAPH_CLIENT_SECRET);
let failed = true;
try {
  const orgUrl = stack.state.oktaOrgUrl;
  if (!orgUrl) throw new Error('the stack runs no fake Okta (is moto_server installed?)');
  const token = await localStackAdminToken();
  registerSecret(token);
  const { keys } = await import('../shared/store/keys.js');
  const { graphRecordId } = await import('../shared/domain/graph-notifications.js');
  const changes = randomChanges();
  const graphChanges = randomGraphChanges(graphChangeCount);
  await setFakeOktaFinalState(orgUrl, changes);
  console.error(`sending ${changes.length} Okta changes and ${graphChanges.length} Entra changes, ${concurrency} in flight…`);
  const sendStarted = performance.now();
  const stackStartS = (sendStarted - started) / 1000;
  const graphBaseUrl = stack.state.graphBaseUrl;
  if (!graphBaseUrl) throw new Error('the stack runs no fake Graph');
  // The outage: the stack's stream (in the npm start process) fails every invocation for outageSeconds.
  // What it dead-letters stays pending (no attempt ran to mark it failed): 2 s after it ends the
  // admin replays the dead-letter queue, as an operator would after an outage, while the send goes on.
  let afterOutageReplay: Promise<Awaited<ReturnType<typeof adminReplay>>> | undefined;
  const startOutage = () => {
    if (outageSeconds <= 0) return;
    console.error(`stream outage for ${outageSeconds} s…`);
    process.kill(stack.state.pid, 'SIGUSR2');
    afterOutageReplay = sleep(outageSeconds * 1000 + 2_000)
      .then(() => adminReplay(stack, token, { source: 'dead-letter-queue' }))
      .catch((error: unknown) => {
        console.error(`the replay after the outage failed: ${(error as Error).message}`);
        return { replayed: 0, rearmed: 0, messages: 0, deleted: 0, expired: 0 };
      });
  };
  const [okta, graph] = await Promise.all([sendAll(stack, orgUrl, changes, { share: OUTAGE_AFTER_SHARE, then: startOutage }), sendGraph(stack, graphBaseUrl, graphChanges)]);
  const sendS = (performance.now() - sendStarted) / 1000;

  // Okta events are stored under their uuid; Graph notifications under a hash of the record and its
  // day (one item per user, change type and day, however often Graph sends it).
  const graphKey = (change: GraphChange) => keys.inboxEvent(DEMO_ENTRA.connectionId, graphRecordId(graphRecordOf(change), change.day));
  const acknowledgedKeys = new Set([
    ...changes.filter((change) => okta.acknowledged.has(change.uuid)).map((change) => keys.inboxEvent(CONNECTION, change.uuid)),
    ...graphChanges.filter((_, index) => graph.acknowledged.has(index)).map(graphKey),
  ].map((key) => `${key.pk}|${key.sk}`));
  // Every Okta change must arrive (the poller brings what Okta gave up on); of Graph's, the acknowledged ones.
  const wantedKeys = [...new Map([...changes.map((change) => keys.inboxEvent(CONNECTION, change.uuid)), ...graphChanges.filter((_, index) => graph.acknowledged.has(index)).map(graphKey)].map((key) => [`${key.pk}|${key.sk}`, key])).values()];
  const afterOutage = (await afterOutageReplay) ?? { replayed: 0, rearmed: 0, messages: 0, deleted: 0, expired: 0 };
  console.error(`dead-letter queue replayed after the outage: ${JSON.stringify(afterOutage)}`);
  const replay = { rounds: 0, failedEvents: 0, deadLetterQueue: { ...afterOutage }, whileWaiting: 0 };
  // A dead-letter replay that failed (a timeout, an injected fault) leaves its messages hidden for a
  // minute: while waiting, the admin replays the queue again every 30 s.
  const replayQueueAgain = async () => {
    const fromQueue = await adminReplay(stack, token, { source: 'dead-letter-queue' });
    for (const name of Object.keys(fromQueue) as Array<keyof typeof fromQueue>) replay.deadLetterQueue[name] += fromQueue[name];
    replay.whileWaiting++;
  };
  console.error('waiting for every change to have an outcome (the pollers bring the dropped ones)…');
  const settleStarted = performance.now();
  let statuses = await settle(wantedKeys, 180_000, replayQueueAgain);
  const settleS = (performance.now() - settleStarted) / 1000;
  const failedFirst = [...statuses.values()].filter((status) => status === 'failed').length;
  // Replayed while anything is failed or still pending (a batch the stream gave up on whose events
  // could not be marked failed, the marking write being failed too, stays pending).
  const open = () => [...statuses.values()].some((status) => !status || status === 'failed' || status === 'pending');
  for (let round = 0; round < 3 && open(); round++) {
    replay.rounds++;
    const fromQueue = await adminReplay(stack, token, { source: 'dead-letter-queue' });
    for (const name of Object.keys(fromQueue) as Array<keyof typeof fromQueue>) replay.deadLetterQueue[name] += fromQueue[name];
    for (const connectionId of [CONNECTION, DEMO_ENTRA.connectionId]) replay.failedEvents += (await adminReplay(stack, token, { connectionId, status: 'failed' })).replayed;
    statuses = await settle(wantedKeys, 60_000);
  }
  const roundsS = (performance.now() - settleStarted) / 1000 - settleS;
  const checkStarted = performance.now();
  const outcomes: Record<string, number> = {};
  for (const status of statuses.values()) outcomes[status ?? 'not stored'] = (outcomes[status ?? 'not stored'] ?? 0) + 1;
  const withoutOutcome = [...statuses].filter(([, status]) => !status || !FINAL.has(status));
  const lost = withoutOutcome.filter(([key]) => acknowledgedKeys.has(key)).length;
  const result = await check(changes, graphChanges);
  const deliveries = { okta: okta.deliveries, graph: graph.deliveries };
  const streamDeadLettered = [...stack.output().matchAll(/(\d+) stream record\(s\) failed every attempt/g)].reduce((sum, [, count]) => sum + Number(count), 0);
  const batchesSentToQueue = [...stack.output().matchAll(/sent a batch of \d+ record\(s\) to the dead-letter queue/g)].length;
  // The wanted events an admin replay brought back (from the dead-letter queue or by status), and how they ended.
  const replayedOutcomes: Record<string, number> = {};
  for (const key of replayedKeys) {
    if (!statuses.has(key)) continue;
    const status = statuses.get(key) ?? 'not stored';
    replayedOutcomes[status] = (replayedOutcomes[status] ?? 0) + 1;
  }
  const injectedAws: Record<string, number> = {};
  for (const [, name] of stack.output().matchAll(/\[chaos\] injected (\w+)/g)) injectedAws[name ?? ''] = (injectedAws[name ?? ''] ?? 0) + 1;
  const fakeFaults = {
    okta: JSON.parse((await fakeControl(`${orgUrl}/_fake/faults`, 'GET')).body) as Record<string, number>,
    graph: stack.state.graphAuthorityHost ? (JSON.parse((await fakeControl(`${stack.state.graphAuthorityHost}/_fake/faults`, 'GET')).body) as Record<string, number>) : {},
  };
  // Issue 12, part 5: no configured secret, clientState, API token, client secret or JWT in any line the stack wrote.
  // Everything after npm start's banner (which shows the seed file's demo hook secrets, for curl).
  const output = stack.output();
  const bannerEnd = output.indexOf('Press Ctrl-C');
  const logLines = output.slice(bannerEnd < 0 ? 0 : bannerEnd).split('\n').filter(Boolean);
  const leaks = leaksIn(logLines);
  const report = {
    scope: { changes: changes.length + graphChanges.length, oktaChanges: changes.length, entraChanges: graphChanges.length, oktaPeople: userCount, entraPeople: entraCount, accounts: ACCOUNTS.length, failureRate, concurrency, pollIntervalSeconds: POLL_INTERVAL_SECONDS },
    deliveries: { ...deliveries, sendSeconds: Math.round(sendS) },
    injectedFaults: { aws: injectedAws, fakeIdps: fakeFaults, deliveriesLostInTransit: okta.deliveries.lostInTransit + graph.deliveries.lostInTransit },
    acknowledged: acknowledgedKeys.size,
    events: wantedKeys.length,
    outcomes,
    applied: outcomes.applied ?? 0,
    eventsWithoutOutcome: withoutOutcome.length,
    withoutOutcomeExamples: withoutOutcome.slice(0, 5).map(([key, status]) => `${key} ${status ?? 'not stored'}${acknowledgedKeys.has(key) ? ' (acknowledged)' : ''}`),
    lost,
    deadLettered: {
      outageSeconds,
      streamRecordsDeadLettered: streamDeadLettered,
      batchesSentToDeadLetterQueue: batchesSentToQueue,
      failedBeforeReplay: failedFirst,
      // The replay right after the outage, then the later rounds' (messages taken, deleted; events
      // re-armed from the stream (still pending) and replayed by status (failed)).
      deadLetterQueueAfterOutage: afterOutage,
      deadLetterQueueAllRounds: replay.deadLetterQueue,
      replayedFailedEvents: replay.failedEvents,
      replayRounds: replay.rounds,
      deadLetterReplaysWhileWaiting: replay.whileWaiting,
      eventsReplayed: [...replayedKeys].filter((key) => statuses.has(key)).length,
      eventsReplayedOutcomes: replayedOutcomes,
      appliedAfterReplay: replayedOutcomes.applied ?? 0,
    },
    memberships: {
      checked: result.memberships,
      mismatchesWithOracle: result.mismatches.length,
      // With each person's Okta changes in IdP order and their outcomes, to read what happened.
      examples: result.mismatches.slice(0, 4).map((mismatch) => ({
        ...mismatch,
        changes: changes
          .filter((change) => person(change.user).email === mismatch.membership.split(' ')[0])
          .map((change) => {
            const key = keys.inboxEvent(CONNECTION, change.uuid);
            return `${change.type} ${change.type.startsWith('group') ? change.group : ''} at+${(change.at - (changes[0]?.at ?? 0)) / 1000}s ${okta.acknowledged.has(change.uuid) ? 'acked' : 'dropped'} → ${statuses.get(`${key.pk}|${key.sk}`)}`;
          }),
      })),
    },
    audit: { entries: result.effects, doubled: result.doubled, doubledExamples: result.doubledExamples, brokenTrails: result.brokenTrails },
    secretsInLogs: { linesScanned: logLines.length, found: leaks.length, examples: leaks.slice(0, 3) },
    // Where the time went: starting the stack (and seeding the fake Okta), sending, waiting for every
    // event to have an outcome (with the replays while waiting), the replay rounds after it, checking.
    phaseSeconds: { startStack: Math.round(stackStartS), send: Math.round(sendS), settle: Math.round(settleS), replayRounds: Math.round(roundsS), check: Math.round((performance.now() - checkStarted) / 1000) },
    elapsedSeconds: Math.round((performance.now() - started) / 1000),
  };
  console.log(JSON.stringify(report, null, 2));
  failed = lost > 0 || withoutOutcome.length > 0 || result.mismatches.length > 0 || result.doubled > 0 || result.brokenTrails > 0 || leaks.length > 0;
} finally {
  await stack.stop();
  // The stack's own output (its logs, the stream's dead-letter lines), to read what happened.
  writeFileSync(join(directory, 'stack.log'), stack.output());
  console.error(`the stack's output: ${join(directory, 'stack.log')}`);
}
process.exit(failed ? 1 : 0);
