/**
 * The bench's `staleness` section, in a process of its own (`npm run bench` runs it after the
 * other sections; `npm run bench -- staleness` or `npx tsx scripts/bench/staleness.ts` runs it
 * alone): its own DynamoDB Local, moto_server (Secrets Manager), fake Okta and fake Graph, so
 * the fakes' certificate can be trusted from start-up and nothing the other sections left in their
 * table is processed here. Prints one JSON object on stdout (progress on stderr); see
 * staleness-run.ts for what is measured and docs/benchmark.md for the interval math.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { relaunchTrustingFakeGraph } from '../lib/extra-ca.js';

// process-graph-events and the pollers call the fakes over HTTPS with a test-only certificate.
await relaunchTrustingFakeGraph();

const { startDynamoDbLocal } = await import('../lib/dynamodb-local.js');
const { startMotoServer } = await import('../lib/moto-server.js');
const { startFakeOkta } = await import('../lib/fake-okta.js');
const { startFakeGraph } = await import('../lib/fake-graph.js');

/** The 5-minute promise of issue 11: a removal no webhook announced is applied within this. */
const PROMISE_MS = 5 * 60_000;
/** Target: when nothing changed, one IdP request per polled resource per connection. */
const IDLE_TARGET = { okta: 1, entra: 2 };

const started = performance.now();
const log = (message: string) => process.stderr.write(`[bench staleness ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

/** The deployed schedules' default (serverless.yml), so the interval math follows a change there. */
function deployedIntervalMs(parameter: 'oktaPollSchedule' | 'graphDeltaPollSchedule'): number {
  const manifest = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');
  const match = new RegExp(`\\$\\{param:${parameter}, 'rate\\((\\d+) (minute|minutes|hour|hours)\\)'\\}`).exec(manifest);
  if (!match) throw new Error(`serverless.yml: no rate(...) default for ${parameter}`);
  return Number(match[1]) * (match[2]?.startsWith('hour') ? 3_600_000 : 60_000);
}

type Measured = Awaited<ReturnType<typeof import('./staleness-run.js').runStalenessBenchmark>>;

/**
 * A removal made just after a poll run read the IdP waits a whole interval for the next run, then
 * that run's time, the stream and the processing: worst case ≈ deployed interval + the measured
 * time from a run's start to the soft-delete (processing p99). The scaled-down interval only
 * shortens the wait, not the processing.
 */
function intervalMath(measured: Measured) {
  const worstCase = (idp: 'okta' | 'entra') => {
    const deployed = deployedIntervalMs(idp === 'okta' ? 'oktaPollSchedule' : 'graphDeltaPollSchedule');
    const worstCaseMs = Math.round(deployed + measured[idp].processingP99Ms);
    return { deployedIntervalMs: deployed, processingP99Ms: measured[idp].processingP99Ms, worstCaseMs, promiseMs: PROMISE_MS, met: worstCaseMs < PROMISE_MS };
  };
  return { formula: 'worst case ≈ deployed interval + processingP99Ms (poll run start → soft-delete seen)', okta: worstCase('okta'), entra: worstCase('entra') };
}

function target(rule: string, value: number | string, limit: number | string, met: boolean) {
  return { rule, value, limit, met };
}

function evaluateTargets(measured: Measured, math: ReturnType<typeof intervalMath>) {
  const { okta, entra, idle, untouched } = measured;
  const targets = {
    noLoss: target('every removal applied (okta + entra)', okta.applied + entra.applied, okta.changes + entra.changes, okta.lost === 0 && entra.lost === 0),
    noOverreach: target('memberships no change was about stay active', untouched.stillActive, untouched.memberships, untouched.stillActive === untouched.memberships),
    oktaIdleCalls: target('oktaCallsPerIdlePoll per connection <= 1 (System Log)', idle.oktaCallsPerIdlePoll, IDLE_TARGET.okta, idle.oktaCallsPerIdlePoll <= IDLE_TARGET.okta),
    graphIdleCalls: target('graphCallsPerIdlePoll per connection <= 2 (users, groups)', idle.graphCallsPerIdlePoll, IDLE_TARGET.entra, idle.graphCallsPerIdlePoll <= IDLE_TARGET.entra),
    fiveMinutes: target(
      'deployed interval + processing p99 < 5 min (okta, entra)',
      `${math.okta.worstCaseMs} / ${math.entra.worstCaseMs}`,
      PROMISE_MS,
      math.okta.met && math.entra.met,
    ),
  };
  return { ...targets, allMet: Object.values(targets).every((entry) => entry.met) };
}

async function main() {
  log('starting DynamoDB Local, moto_server, the fake Okta and the fake Graph');
  const starting = await Promise.allSettled([startDynamoDbLocal(), startMotoServer(), startFakeOkta(), startFakeGraph()] as const);
  const stopAll = () =>
    Promise.allSettled(starting.map((server) => (server.status === 'fulfilled' ? server.value.stop() : undefined))).then(() => undefined);
  try {
    const [dynamo, moto, okta, graph] = starting.map((server) => {
      if (server.status === 'rejected') throw server.reason;
      return server.value;
    }) as [Awaited<ReturnType<typeof startDynamoDbLocal>>, Awaited<ReturnType<typeof startMotoServer>>, Awaited<ReturnType<typeof startFakeOkta>>, Awaited<ReturnType<typeof startFakeGraph>>];
    // shared/config.ts reads the environment at import: set before any shared/ or functions/ module loads.
    Object.assign(process.env, {
      TABLE_NAME: `bench-staleness-${randomUUID().slice(0, 8)}`,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      COGNITO_ENDPOINT: moto.endpoint,
      SECRETS_MANAGER_ENDPOINT: moto.endpoint,
      GRAPH_BASE_URL: graph.baseUrl,
      GRAPH_AUTHORITY_HOST: graph.authorityHost,
      AWS_REGION: 'us-east-1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      // EMF metric lines go to stdout, where this prints its JSON.
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    const { runStalenessBenchmark } = await import('./staleness-run.js');
    const measured = await runStalenessBenchmark({ endpoint: dynamo.endpoint, secretsEndpoint: moto.endpoint, okta, graph }, log);
    const math = intervalMath(measured);
    return { ...measured, intervalMath: math, targets: evaluateTargets(measured, math), durationSeconds: Math.round((performance.now() - started) / 100) / 10 };
  } finally {
    log('stopping DynamoDB Local, moto_server and the fakes');
    await stopAll();
  }
}

// Ctrl-C: exit through 'exit' so startDynamoDbLocal's handler kills the JVM.
process.once('SIGINT', () => process.exit(130));

try {
  const result = await main();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`, () => process.exit(0));
} catch (error) {
  console.error(`bench staleness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
}
