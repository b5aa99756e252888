/**
 * How stale can access get when the webhooks say nothing? With no hook called at all, the real
 * poll-okta-logs and poll-graph-deltas handlers run on a scaled-down schedule (INTERVAL_MS), the
 * local stream feeds the real process-okta-events and process-graph-events, and removals are made
 * in the fake IdPs a few per interval: Okta deactivations and group removals in the System Log,
 * Entra users disabled, deleted and removed from the granting group. Each change is timed from
 * when it was made to when its membership is seen soft-deleted in the table. Then, with nothing
 * changed, the IdP requests of one poll are counted. Import after the environment is set.
 */
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { handler as pollGraphDeltas } from '../../functions/poll-graph-deltas.js';
import { handler as pollOktaLogs } from '../../functions/poll-okta-logs.js';
import { handler as processGraphEvents } from '../../functions/process-graph-events.js';
import { handler as processOktaEvents } from '../../functions/process-okta-events.js';
import { parseSeed } from '../../shared/domain/seed.js';
import { dynamoClient, documentClient, tableName } from '../../shared/store/client.js';
import { keys } from '../../shared/store/keys.js';
import { seededUserId, writeSeed } from '../../shared/store/seed-writer.js';
import { ensureTable } from '../../shared/store/table.js';
import { oktaLogEvent, withGroup, withUser } from '../../test/helpers/fixtures.js';
import { graphAppSecret } from '../../test/helpers/secrets.js';
import type { FakeGraph } from '../lib/fake-graph.js';
import type { FakeLogEvent, FakeOkta } from '../lib/fake-okta.js';
import { populateLocalGraph } from '../lib/local-graph.js';
import { graphConsumer, lambdaContext, LocalStream, type StreamHandler } from '../lib/local-stream.js';
import {
  ENTRA_ACCOUNT,
  ENTRA_GROUP,
  entraObjectId,
  entraUserEmail,
  OKTA_ACCOUNT,
  OKTA_GROUP,
  OKTA_TOKEN_REF,
  oktaUserEmail,
  stalenessSeed,
} from './staleness-seed.js';
import { round2, sleep, summarize } from './stats.js';

/** The scaled-down poll schedule: both pollers run every INTERVAL_MS (deployed: every 2 minutes). */
export const INTERVAL_MS = 1_000;
export const PLAN = {
  usersPerIdp: 150,
  /** Removals per IdP, each of a different user; the users left over must keep their access. */
  changesPerIdp: 120,
  /** Spread evenly, so changes land at every phase of the poll interval. */
  changesPerInterval: 5,
  /** Lambda polls a DynamoDB stream shard about four times a second. */
  streamPollMs: 250,
  /** How often the table is read for the memberships still waiting to be soft-deleted. */
  watchMs: 50,
  /** After the last change: how long to wait for the last soft-delete before counting the rest as lost. */
  settleTimeoutMs: 30_000,
  idlePolls: 3,
};

type Idp = 'okta' | 'entra';
type Change = { idp: Idp; kind: string; userId: string; accountId: string; madeAt: number; appliedAt?: number };
type PollRun = { startedAt: number; ms: number; failed?: string };

const scheduledEvent = (): ScheduledEvent => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: new Date().toISOString(),
  region: process.env.AWS_REGION ?? 'us-east-1',
  resources: [],
  detail: {},
});

type ScheduledHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;
const pollers: Record<Idp, { name: string; handler: ScheduledHandler }> = {
  okta: { name: 'poll-okta-logs', handler: pollOktaLogs as unknown as ScheduledHandler },
  entra: { name: 'poll-graph-deltas', handler: pollGraphDeltas as unknown as ScheduledHandler },
};

/** One scheduled invocation of a poller, timed; a failure is recorded, not thrown (the next run goes on, as on AWS). */
async function invokePoller(idp: Idp): Promise<PollRun> {
  const { name, handler } = pollers[idp];
  const startedAt = performance.now();
  try {
    await handler(scheduledEvent(), lambdaContext(name));
    return { startedAt, ms: performance.now() - startedAt };
  } catch (error) {
    return { startedAt, ms: performance.now() - startedAt, failed: (error as Error).message };
  }
}

/** Runs a poller at a fixed rate until told to stop; a run longer than the interval delays the next (no overlap). */
async function pollOnSchedule(idp: Idp, runs: PollRun[], stopped: () => boolean): Promise<void> {
  let next = performance.now();
  while (!stopped()) {
    runs.push(await invokePoller(idp));
    next = Math.max(next + INTERVAL_MS, performance.now());
    while (!stopped() && performance.now() < next) await sleep(Math.min(50, next - performance.now()));
  }
}

/** The memberships' statuses, read consistently, 100 keys a request. */
async function statusesOf(memberships: readonly { userId: string; accountId: string }[]): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (let start = 0; start < memberships.length; start += 100) {
    let pending: Record<string, unknown>[] = memberships.slice(start, start + 100).map(({ userId, accountId }) => keys.membership(userId, accountId));
    while (pending.length > 0) {
      const page = await documentClient.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: 'userId, accountId, #status', ExpressionAttributeNames: { '#status': 'status' } },
          },
        }),
      );
      for (const item of page.Responses?.[tableName] ?? []) statuses.set(`${String(item.userId)}|${String(item.accountId)}`, String(item.status));
      pending = page.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return statuses;
}

const membershipKey = (change: { userId: string; accountId: string }) => `${change.userId}|${change.accountId}`;

/** Stamps each change when its membership is first read as deleted; returns when all are, or at the deadline. */
async function watchSoftDeletes(changes: Change[], allMade: () => boolean, deadline: () => number): Promise<void> {
  for (;;) {
    const waiting = changes.filter((change) => change.appliedAt === undefined);
    if (allMade() && waiting.length === 0) return;
    if (performance.now() > deadline()) return;
    if (waiting.length > 0) {
      const statuses = await statusesOf(waiting);
      const seenAt = performance.now();
      for (const change of waiting) if (statuses.get(membershipKey(change)) === 'deleted') change.appliedAt = seenAt;
    }
    await sleep(PLAN.watchMs);
  }
}

/** The removals, each of its own user: Okta through the System Log, Entra in the fake directory. */
function changeMakers(okta: FakeOkta, graph: FakeGraph): Record<Idp, (index: number) => Change> {
  const groupMembers = new Set(Array.from({ length: PLAN.usersPerIdp }, (_, index) => entraObjectId(index)));
  return {
    okta: (index) => {
      const email = oktaUserEmail(index);
      const deactivation = index % 2 === 0;
      const event = deactivation
        ? withUser(oktaLogEvent('okta-user-deactivate.json'), email)
        : withGroup(withUser(oktaLogEvent('okta-group-membership-remove.json'), email), OKTA_GROUP);
      okta.addLogEvent(event as unknown as FakeLogEvent);
      return { idp: 'okta', kind: event.eventType, userId: seededUserId(email), accountId: OKTA_ACCOUNT, madeAt: performance.now() };
    },
    entra: (index) => {
      const email = entraUserEmail(index);
      const id = entraObjectId(index);
      const kind = (['disabled', 'deleted', 'removedFromGroup'] as const)[index % 3] ?? 'disabled';
      if (kind === 'disabled') graph.setUser({ id, mail: email, userPrincipalName: email, accountEnabled: false });
      if (kind === 'deleted') graph.deleteUser(id);
      if (kind === 'removedFromGroup') {
        groupMembers.delete(id);
        graph.setGroupMembers(ENTRA_GROUP, [...groupMembers]);
      }
      return { idp: 'entra', kind, userId: seededUserId(email), accountId: ENTRA_ACCOUNT, madeAt: performance.now() };
    },
  };
}

/** Makes the changes of both IdPs, evenly spaced, Entra's half a step after Okta's. */
async function makeChanges(makers: Record<Idp, (index: number) => Change>, changes: Change[]): Promise<void> {
  const step = INTERVAL_MS / PLAN.changesPerInterval;
  const started = performance.now();
  for (let index = 0; index < PLAN.changesPerIdp; index++) {
    for (const [idp, offset] of [['okta', 0], ['entra', step / 2]] as const) {
      const due = started + index * step + offset;
      if (performance.now() < due) await sleep(due - performance.now());
      changes.push(makers[idp](index));
    }
  }
}

/** The first run of the IdP's poller that started after the change: the earliest that could see it. */
function firstRunAfter(runs: readonly PollRun[], at: number): PollRun | undefined {
  return runs.find((run) => run.startedAt >= at);
}

function summarizeIdp(idp: Idp, changes: readonly Change[], runs: readonly PollRun[]) {
  const own = changes.filter((change) => change.idp === idp);
  const applied = own.filter((change): change is Change & { appliedAt: number } => change.appliedAt !== undefined);
  const lag = summarize(applied.map((change) => change.appliedAt - change.madeAt));
  // What the interval does not explain: from the start of the poll run that could first see the change to the soft-delete.
  const afterPollStart = applied.flatMap((change) => {
    const run = firstRunAfter(runs, change.madeAt);
    return run ? [change.appliedAt - run.startedAt] : [];
  });
  const processing = summarize(afterPollStart);
  const kinds: Record<string, { made: number; applied: number }> = {};
  for (const change of own) {
    const entry = (kinds[change.kind] ??= { made: 0, applied: 0 });
    entry.made += 1;
    if (change.appliedAt !== undefined) entry.applied += 1;
  }
  return {
    changes: own.length,
    applied: applied.length,
    lost: own.length - applied.length,
    byKind: kinds,
    // Change made → its membership read as deleted, over the applied changes.
    p50Ms: lag.p50Ms,
    p99Ms: lag.p99Ms,
    maxMs: lag.maxMs,
    meanMs: lag.meanMs,
    processingP50Ms: processing.p50Ms,
    processingP99Ms: processing.p99Ms,
    processingMaxMs: processing.maxMs,
    pollRuns: runs.length,
    pollRunMs: summarize(runs.map((run) => run.ms)),
    pollRunsFailed: runs.filter((run) => run.failed).length,
  };
}

/** IdP requests of `polls` runs of each poller with nothing changed, per run and per connection. */
async function idleCalls(okta: FakeOkta, graph: FakeGraph, connections: Record<Idp, number>, polls: number) {
  const oktaBefore = okta.requests.length;
  const graphBefore = graph.requests.length;
  const failures: string[] = [];
  for (let run = 0; run < polls; run++) {
    for (const idp of ['okta', 'entra'] as const) {
      const result = await invokePoller(idp);
      if (result.failed) failures.push(`${idp}: ${result.failed}`);
    }
  }
  const oktaRequests = okta.requests.slice(oktaBefore);
  const graphRequests = graph.requests.slice(graphBefore);
  // Graph API calls are under /v1.0; the rest are the identity platform's (tokens, discovery).
  const graphApi = graphRequests.filter((request) => request.path.startsWith('/v1.0/'));
  // Per poll run and per connection polled.
  const perOktaPoll = (count: number) => round2(count / polls / connections.okta);
  const perEntraPoll = (count: number) => round2(count / polls / connections.entra);
  return {
    polls,
    connections,
    oktaCallsPerIdlePoll: perOktaPoll(oktaRequests.length),
    oktaSystemLogCallsPerIdlePoll: perOktaPoll(oktaRequests.filter((request) => request.path === '/api/v1/logs').length),
    graphCallsPerIdlePoll: perEntraPoll(graphApi.length),
    graphCallsByPath: Object.fromEntries(
      [...new Set(graphApi.map((request) => request.path))].map((path) => [path, perEntraPoll(graphApi.filter((request) => request.path === path).length)]),
    ),
    graphLoginCallsPerIdlePoll: perEntraPoll(graphRequests.length - graphApi.length),
    failures,
  };
}

export type StalenessInfra = { endpoint: string; secretsEndpoint: string; okta: FakeOkta; graph: FakeGraph };

/** The table, the seed, the secrets and the fakes' directories; returns the stream and the connections per IdP. */
async function prepare(infra: StalenessInfra, log: (message: string) => void): Promise<{ streamArn: string; connections: Record<Idp, number> }> {
  const streamArn = await ensureTable(dynamoClient, tableName);
  const seed = parseSeed(stalenessSeed({ orgUrl: infra.okta.orgUrl, users: PLAN.usersPerIdp }));
  const items = await writeSeed(seed);
  log(`staleness: seeded ${items} items (${PLAN.usersPerIdp} users per IdP)`);
  // The Okta API token and the Graph app's secret, in moto's Secrets Manager and known to the fakes;
  // the fake Graph holds every seeded Entra user, enabled, in the group that grants their membership.
  // The hooks' base URL names subscriptions only, and this seed has none: no webhook is ever called.
  // (graphAppSecret creates any secret in moto, or reads it back if it exists.)
  infra.okta.addApiToken(await graphAppSecret(OKTA_TOKEN_REF, `00StaleBenchToken-${crypto.randomUUID()}`));
  await populateLocalGraph(infra.graph, seed, { secretsEndpoint: infra.secretsEndpoint, hooksBaseUrl: 'http://127.0.0.1:9' });
  const ofType = (type: string) => seed.connections.filter((connection) => connection.type === type).length;
  return { streamArn, connections: { okta: ofType('okta'), entra: ofType('entra') } };
}

export async function runStalenessBenchmark(infra: StalenessInfra, log: (message: string) => void) {
  const { streamArn, connections } = await prepare(infra, log);
  const stream = new LocalStream({
    endpoint: infra.endpoint,
    streamArn,
    handler: processOktaEvents as unknown as StreamHandler,
    consumers: [graphConsumer(processGraphEvents as unknown as StreamHandler)],
  });
  stream.start(PLAN.streamPollMs);
  const runs: Record<Idp, PollRun[]> = { okta: [], entra: [] };
  let polling = true;
  let pollLoops: Promise<void>[] = [];
  let watching: Promise<void> = Promise.resolve();
  try {
    // The first runs only take the cursors (Okta: now − lookback; Graph: a deltaLink of the current state).
    for (const idp of ['okta', 'entra'] as const) {
      const first = await invokePoller(idp);
      if (first.failed) throw new Error(`staleness: the first ${pollers[idp].name} run failed: ${first.failed}`);
    }
    log(`staleness: pollers every ${INTERVAL_MS} ms, ${PLAN.changesPerIdp} removals per IdP, ${PLAN.changesPerInterval} per interval, no webhook`);
    pollLoops = (['okta', 'entra'] as const).map((idp) => pollOnSchedule(idp, runs[idp], () => !polling));
    const changes: Change[] = [];
    let allMade = false;
    let deadline = Number.POSITIVE_INFINITY;
    watching = watchSoftDeletes(changes, () => allMade, () => deadline);
    const started = performance.now();
    try {
      await makeChanges(changeMakers(infra.okta, infra.graph), changes);
      deadline = performance.now() + PLAN.settleTimeoutMs;
    } catch (error) {
      deadline = 0;
      throw error;
    } finally {
      allMade = true;
    }
    await watching;
    const wallMs = performance.now() - started;
    polling = false;
    await Promise.all(pollLoops);
    log(`staleness: ${changes.filter((change) => change.appliedAt !== undefined).length} of ${changes.length} removals applied in ${(wallMs / 1000).toFixed(1)} s; idle polls`);

    // Users no change was about keep their access (a poll must not remove more than what changed).
    const untouched = Array.from({ length: PLAN.usersPerIdp - PLAN.changesPerIdp }, (_, offset) => PLAN.changesPerIdp + offset).flatMap((index) => [
      { userId: seededUserId(oktaUserEmail(index)), accountId: OKTA_ACCOUNT },
      { userId: seededUserId(entraUserEmail(index)), accountId: ENTRA_ACCOUNT },
    ]);
    const untouchedStatuses = await statusesOf(untouched);
    const untouchedStillActive = untouched.filter((membership) => untouchedStatuses.get(membershipKey(membership)) === 'active').length;

    const idle = await idleCalls(infra.okta, infra.graph, connections, PLAN.idlePolls);
    const okta = summarizeIdp('okta', changes, runs.okta);
    const entra = summarizeIdp('entra', changes, runs.entra);
    return {
      intervalMs: INTERVAL_MS,
      plan: PLAN,
      wallMs: round2(wallMs),
      okta,
      entra,
      processingP99Ms: Math.max(okta.processingP99Ms, entra.processingP99Ms),
      untouched: { memberships: untouched.length, stillActive: untouchedStillActive },
      deadLettered: stream.deadLetters.length,
      idle,
    };
  } finally {
    // Nothing of this run may still be reading the table when the caller stops DynamoDB Local.
    polling = false;
    await Promise.allSettled([...pollLoops, watching]);
    await stream.stop();
  }
}
