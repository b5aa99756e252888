/**
 * npm run subscriptions -- <connectionId> [--endpoint URL] [--table NAME] [--hooks-base-url URL]
 *
 * Creates the Graph subscriptions an Entra connection lacks and renews those about to expire,
 * as the scheduled renew-subscriptions function does, then prints what it holds. While `npm start`
 * runs, its DynamoDB Local table and HTTP URL are the defaults; without --endpoint (and with
 * --table, or no local stack) the table of your AWS credentials is used. The Graph app's secret
 * is read from Secrets Manager (SECRETS_MANAGER_ENDPOINT for a local one).
 */
import { parseArgs } from './lib/args.js';
import { readState, useLocalGraph } from './lib/local-stack-state.js';
import { relaunchTrustingFakeGraph } from './lib/extra-ca.js';

const USAGE = 'usage: npm run subscriptions -- <connectionId> [--endpoint http://127.0.0.1:8000] [--table sso-sync-dev] [--hooks-base-url https://api.example.com]';

const { positional, options } = parseArgs(process.argv.slice(2));
const connectionId = positional[0];
const option = (name: string) => {
  const value = options.get(name);
  return typeof value === 'string' ? value : undefined;
};
if (!connectionId || positional.length > 1) {
  console.error(USAGE);
  process.exit(2);
}

const endpoint = option('endpoint');
const table = option('table');
const localStack = !endpoint && !table ? readState() : undefined;
const dynamoEndpoint = endpoint ?? localStack?.dynamoEndpoint;
if (dynamoEndpoint) process.env.DYNAMODB_ENDPOINT = dynamoEndpoint;
process.env.TABLE_NAME = table ?? localStack?.tableName ?? process.env.TABLE_NAME ?? 'sso-sync-dev';
const hooksBaseUrl = option('hooks-base-url') ?? process.env.HOOKS_BASE_URL ?? localStack?.httpUrl;
if (!hooksBaseUrl) {
  console.error('HOOKS_BASE_URL (or --hooks-base-url) is required: the public base URL of the HTTP API, where Graph sends notifications.');
  console.error(USAGE);
  process.exit(2);
}
process.env.HOOKS_BASE_URL = hooksBaseUrl;
// Against `npm start`: its fake Graph, whose test-only certificate this process must trust.
if (useLocalGraph(localStack)) await relaunchTrustingFakeGraph();
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// Imported after the environment is set: configuration is read once, at first use.
const { getConnectionWithSubscriptions } = await import('../shared/store/connections.js');
const { listSubscriptions } = await import('../shared/store/subscriptions.js');
const { failuresOf, hasGraphApp, maintainSubscriptions } = await import('../shared/app/graph-subscriptions.js');

function fail(message: string): never {
  console.error(`${connectionId}: ${message}`);
  process.exit(1);
}

const target = `${process.env.TABLE_NAME}${dynamoEndpoint ? ` at ${dynamoEndpoint}` : ''}`;
let found;
try {
  found = await getConnectionWithSubscriptions(connectionId);
} catch (error) {
  fail(`could not read the table ${target}: ${(error as Error).message}`);
}
if (!found) fail(`no such connection in ${target}`);
if (!hasGraphApp(found.connection)) fail('not an Entra connection with a tenantId and a Graph app (graph.clientId, graph.clientSecretRef)');
if (found.connection.deactivatedAt) fail(`deactivated at ${found.connection.deactivatedAt}: a deactivated connection holds no subscriptions`);

let report;
try {
  report = await maintainSubscriptions(found, { hooksBaseUrl });
} catch (error) {
  fail(`nothing was changed: ${(error as Error).message}`);
}

const status = new Map<string, string>();
for (const { subscriptionId } of report.ensured.created) status.set(subscriptionId, 'created');
for (const { subscriptionId } of report.renewal.renewed) status.set(subscriptionId, 'renewed');
for (const { replaced, subscription } of report.renewal.recreated) status.set(subscription.subscriptionId, `recreated (was ${replaced})`);
for (const { subscriptionId } of report.ensured.unwanted) status.set(subscriptionId, 'not wanted by any SSO config');

const held = (await listSubscriptions(connectionId)).sort((a, b) => a.resource.localeCompare(b.resource));
const rows = [['resource', 'subscription id', 'expires', ''], ...held.map((s) => [s.resource, s.subscriptionId, s.expiresAt, status.get(s.subscriptionId) ?? ''])];
const widths = [0, 1, 2].map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
console.log(`${connectionId} (${target}), notifications to ${hooksBaseUrl}:`);
if (held.length === 0) console.log('  no subscriptions');
else for (const row of rows) console.log(`  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd()}`);

const failures = failuresOf(report);
if (failures.length > 0) {
  for (const failure of failures) console.error(`failed: ${failure.resource}${failure.subscriptionId ? ` (${failure.subscriptionId})` : ''}: ${failure.error}`);
  fail(`${failures.length} subscription(s) could not be created or renewed`);
}
