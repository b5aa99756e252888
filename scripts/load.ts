/**
 * npm run load [-- --seconds 30] [--concurrency 50] [--users 400]
 *
 * A bounded loopback load test of the local stack (issue 12): starts `npm start` (serverless-offline,
 * DynamoDB Local, the stream, the fakes) with extra users, then drives its HTTP routes with
 * `concurrency` requests in flight for `seconds` (at most 60): Okta event hook deliveries (group
 * removals), Graph change notifications (user deletions) and admin API reads. Prints one JSON object:
 * per route the requests, p50/p99 and the answers by status; then, once the stream has drained, the
 * applied-event lag (processedAt − receivedAt of every event the load stored) and whether any
 * acknowledged event was lost. Exits 1 on any 5xx, network error or lost event.
 *
 * Everything runs on this machine (2 cores here), so the figures say how the code behaves under
 * contention, not what Lambda would do.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { oktaHookDelivery, oktaLogEvent } from './lib/okta-events.js';
import { parseArgs } from './lib/args.js';
import { DEMO_ENTRA, graphUserNotification } from './lib/graph-notifications.js';
import { localStackAdminToken, startLocalStackChild } from './lib/local-stack-child.js';
import { round2, sleep, summarize, type LatencySummary } from './bench/stats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAX_SECONDS = 60;

const { options } = parseArgs(process.argv.slice(2));
const numberOption = (name: string, fallback: number) => {
  const value = Number(options.get(name) ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
};
const seconds = Math.min(numberOption('seconds', 30), MAX_SECONDS);
const concurrency = numberOption('concurrency', 50);
const usersPerIdp = numberOption('users', 400);

const OKTA_CONNECTION = 'demo-okta';
const OKTA_ACCOUNT = 'demo-account';
const OKTA_GROUP = 'Finance-Approvers';
const { connectionId: ENTRA_CONNECTION, accountId: ENTRA_ACCOUNT, usersSubscriptionId: ENTRA_USERS_SUBSCRIPTION } = DEMO_ENTRA;

const oktaUser = (index: number) => ({ id: `00uLOAD${String(index).padStart(13, '0')}`, email: `load-okta-${index}@example.com` });
const entraUser = (index: number) => ({ id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`, email: `load-entra-${index}@example.com` });

/** The demo seed plus `usersPerIdp` users per IdP, each with one active membership the load removes. */
function loadSeed(directory: string): string {
  const seed = JSON.parse(readFileSync(join(ROOT, 'seed/demo.json'), 'utf8')) as { users: unknown[] } & Record<string, unknown>;
  const changedAt = '2025-01-01T00:00:00Z';
  for (let index = 0; index < usersPerIdp; index++) {
    const okta = oktaUser(index);
    const entra = entraUser(index);
    seed.users.push(
      { email: okta.email, identities: [{ connectionId: OKTA_CONNECTION, subject: okta.id }], memberships: [{ accountId: OKTA_ACCOUNT, role: 'Admin', changedAt }] },
      { email: entra.email, identities: [{ connectionId: ENTRA_CONNECTION, subject: entra.id }], memberships: [{ accountId: ENTRA_ACCOUNT, role: 'Author', changedAt }] },
    );
  }
  const file = join(directory, 'load-seed.json');
  writeFileSync(file, JSON.stringify(seed));
  return file;
}

type Stack = { httpUrl: string; oktaSecret: string; stop: () => Promise<void> };

async function startStack(directory: string, seedFile: string): Promise<Stack> {
  // The load is about the webhook path: the pollers stay out of the way.
  const child = await startLocalStackChild(directory, seedFile, { POLL_INTERVAL_SECONDS: '600' });
  const oktaSecret = /header "authorization: (demo-okta-hook-secret[^"]+)"/.exec(child.output())?.[1];
  if (!oktaSecret) {
    await child.stop();
    throw new Error('npm start did not print the demo-okta hook secret');
  }
  return { httpUrl: child.httpUrl, oktaSecret, stop: child.stop };
}

type Route = 'oktaHook' | 'graphHook' | 'adminEvents' | 'adminUsers';
type Sent = { okta: string[]; graph: Array<{ id: string; day: Date }> };

function oktaDelivery(index: number, uuid: string) {
  const user = oktaUser(index);
  return oktaHookDelivery([
    oktaLogEvent({
      uuid,
      published: new Date().toISOString(),
      eventType: 'group.user_membership.remove',
      displayMessage: 'Remove user from group membership',
      user: { id: user.id, email: user.email, displayName: `Load ${index}` },
      group: { id: '00g0000000000000DEV1', name: OKTA_GROUP },
    }),
  ]);
}

const graphDeletion = (index: number) => graphUserNotification(entraUser(index).id, 'deleted');

async function runLoad(stack: Stack, token: string) {
  const latencies = new Map<Route, number[]>();
  const statuses = new Map<Route, Map<string, number>>();
  /** The first body of each unexpected answer, for the report (shortened). */
  const samples = new Map<string, string>();
  const sent: Sent = { okta: [], graph: [] };
  let okta = 0;
  let graph = 0;
  let sequence = 0;
  const count = (route: Route, status: string, ms: number) => {
    latencies.set(route, [...(latencies.get(route) ?? []), ms]);
    const ofRoute = statuses.get(route) ?? new Map<string, number>();
    ofRoute.set(status, (ofRoute.get(status) ?? 0) + 1);
    statuses.set(route, ofRoute);
  };

  // A fixed mix: 6 in 10 Okta deliveries, 3 Graph notifications, 1 admin read.
  const nextRequest = (): { route: Route; url: string; init: RequestInit; onAcked?: () => void } => {
    const slot = sequence++ % 10;
    if (slot < 6) {
      const index = okta++ % usersPerIdp;
      const uuid = crypto.randomUUID();
      return {
        route: 'oktaHook',
        url: `${stack.httpUrl}/hooks/okta/${OKTA_CONNECTION}`,
        init: { method: 'POST', headers: { 'content-type': 'application/json', authorization: stack.oktaSecret }, body: JSON.stringify(oktaDelivery(index, uuid)) },
        onAcked: () => sent.okta.push(uuid),
      };
    }
    if (slot < 9) {
      const index = graph++ % usersPerIdp;
      return {
        route: 'graphHook',
        url: `${stack.httpUrl}/hooks/graph/${ENTRA_CONNECTION}`,
        init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(graphDeletion(index)) },
        onAcked: () => sent.graph.push({ id: entraUser(index).id, day: new Date() }),
      };
    }
    const admin = sequence % 20 < 10;
    return {
      route: admin ? 'adminEvents' : 'adminUsers',
      url: admin ? `${stack.httpUrl}/admin/events?limit=10` : `${stack.httpUrl}/admin/users?email=${encodeURIComponent(oktaUser(sequence % usersPerIdp).email)}`,
      init: { headers: { authorization: `Bearer ${token}` } },
    };
  };

  // Warm-up, not counted: the first call of each worker loads its bundle (cold starts are the
  // bench's business).
  // Each route once alone, then `concurrency` at once, so offline has its workers up.
  for (const inFlight of [1, concurrency]) {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        const request = nextRequest();
        await fetch(request.url, { ...request.init, signal: AbortSignal.timeout(120_000) }).then((response) => response.text(), () => '');
      }),
    );
  }
  okta = 0;
  graph = 0;
  sent.okta.length = 0;
  sent.graph.length = 0;

  const deadline = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < deadline) {
      const request = nextRequest();
      const started = performance.now();
      try {
        const response = await fetch(request.url, { ...request.init, signal: AbortSignal.timeout(30_000) });
        const body = await response.text();
        // serverless-offline answers a Lambda timeout with 200 and an error body (API Gateway: 504).
        const status = body.includes('"LambdaTimeoutError"') ? '504 (offline: Lambda timeout)' : String(response.status);
        count(request.route, status, performance.now() - started);
        const acknowledged = status === String(request.route === 'graphHook' ? 202 : 200);
        if (!acknowledged && !samples.has(`${request.route} ${status}`)) samples.set(`${request.route} ${status}`, body.slice(0, 300));
        if (acknowledged) request.onAcked?.();
      } catch (error) {
        count(request.route, (error as Error).name === 'TimeoutError' ? 'timeout' : 'networkError', performance.now() - started);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = (performance.now() - started) / 1000;
  const routes: Record<string, { requests: number; perSecond: number; latency: LatencySummary; statuses: Record<string, number> }> = {};
  for (const [route, durations] of latencies) {
    routes[route] = { requests: durations.length, perSecond: round2(durations.length / elapsedS), latency: summarize(durations), statuses: Object.fromEntries(statuses.get(route) ?? []) };
  }
  return { elapsedS: round2(elapsedS), routes, unexpectedAnswers: Object.fromEntries(samples), sent };
}

/** Waits for every acknowledged event to have an outcome, then reads the lag of each. */
async function appliedLag(sent: Sent, settleMs: number) {
  const { GetCommand } = await import('@aws-sdk/lib-dynamodb');
  const { documentClient, tableName } = await import('../shared/store/client.js');
  const { keys } = await import('../shared/store/keys.js');
  const { graphRecordId } = await import('../shared/domain/graph-notifications.js');
  const wanted = [
    ...sent.okta.map((uuid) => keys.inboxEvent(OKTA_CONNECTION, uuid)),
    // Graph deliveries are stored under a hash of the record and its day: one item per user and day.
    ...[...new Map(sent.graph.map(({ id, day }) => [`${id}/${day.toISOString().slice(0, 10)}`, { id, day }])).values()].map(({ id, day }) =>
      keys.inboxEvent(ENTRA_CONNECTION, graphRecordId({ kind: 'change', subscriptionId: ENTRA_USERS_SUBSCRIPTION, changeType: 'deleted', resourceType: 'users', resourceId: id }, day)),
    ),
  ];
  const drainStarted = performance.now();
  let pending = wanted;
  const done = new Map<string, { status: string; receivedAt: string; processedAt?: string }>();
  while (pending.length > 0 && performance.now() - drainStarted < settleMs) {
    const still: typeof wanted = [];
    for (let start = 0; start < pending.length; start += 25) {
      await Promise.all(
        pending.slice(start, start + 25).map(async (key) => {
          const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
          if (Item && Item.status !== 'pending') done.set(`${key.pk}|${key.sk}`, Item as { status: string; receivedAt: string; processedAt?: string });
          else still.push(key);
        }),
      );
    }
    pending = still;
    if (pending.length > 0) await sleep(500);
  }
  const outcomes: Record<string, number> = {};
  const lags: number[] = [];
  for (const item of done.values()) {
    outcomes[item.status] = (outcomes[item.status] ?? 0) + 1;
    if (item.processedAt) lags.push(Date.parse(item.processedAt) - Date.parse(item.receivedAt));
  }
  return {
    events: wanted.length,
    withOutcome: done.size,
    lost: pending.length,
    lostExamples: pending.slice(0, 5).map((key) => `${key.pk} ${key.sk}`),
    outcomes,
    drainMs: Math.round(performance.now() - drainStarted),
    lag: summarize(lags),
  };
}

const directory = mkdtempSync(join(tmpdir(), 'sso-sync-load-'));
console.error(`starting the local stack with ${usersPerIdp} extra users per IdP…`);
const stack = await startStack(directory, loadSeed(directory));
let failed = true;
try {
  const token = await localStackAdminToken();
  console.error(`load: ${concurrency} in flight for ${seconds} s against ${stack.httpUrl}…`);
  const load = await runLoad(stack, token);
  console.error('waiting for the stream to apply every acknowledged event…');
  const applied = await appliedLag(load.sent, 120_000);
  const answers = Object.values(load.routes).flatMap((route) => Object.entries(route.statuses));
  const serverErrors = answers.filter(([status]) => status.startsWith('5')).reduce((sum, [, n]) => sum + n, 0);
  const networkErrors = answers.filter(([status]) => status === 'networkError' || status === 'timeout').reduce((sum, [, n]) => sum + n, 0);
  const result = {
    load: { seconds, concurrency, usersPerIdp, elapsedS: load.elapsedS, routes: load.routes, unexpectedAnswers: load.unexpectedAnswers, serverErrors, networkErrors },
    applied,
    targets: {
      no5xx: { value: serverErrors, limit: 0, met: serverErrors === 0 },
      noNetworkErrors: { value: networkErrors, limit: 0, met: networkErrors === 0 },
      noLoss: { value: applied.lost, limit: 0, met: applied.lost === 0 },
    },
  };
  console.log(JSON.stringify(result, null, 2));
  failed = !Object.values(result.targets).every((target) => target.met);
} finally {
  await stack.stop();
}
process.exit(failed ? 1 : 0);
