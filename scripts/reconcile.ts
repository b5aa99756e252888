/**
 * npm run reconcile -- <connectionId> [--dry-run] [--endpoint URL] [--table NAME]
 *
 * Reconciles one connection now. Entra: lists the members of every group that grants access,
 * then soft-deletes the memberships of linked users who are in none of an account's groups.
 * Okta (a connection with an org URL and an API token): lists the members of every granting
 * group through the Okta API, reads the status of each linked user they leave out, then
 * soft-deletes what they left, and everything of users deactivated, suspended or deleted.
 * --dry-run prints that diff and writes nothing. If any IdP read fails, nothing is deleted
 * and the command exits 1. Defaults to the running `npm start` stack's table, if there is one.
 */
import { parseArgs } from './lib/args.js';
import { readState, useLocalGraph, useStackTable } from './lib/local-stack-state.js';
import { relaunchTrustingFakeGraph } from './lib/extra-ca.js';
import type { EventOutcome } from '../shared/domain/memberships.js';
import type { InboxEventRef } from '../shared/store/deprovision.js';

const { positional, options } = parseArgs(process.argv.slice(2));
const connectionId = positional[0];
if (!connectionId) {
  console.error('usage: npm run reconcile -- <connectionId> [--dry-run] [--endpoint http://127.0.0.1:8000] [--table sso-sync-dev]');
  process.exit(2);
}
const dryRun = options.get('dry-run') === true;
const stack = readState();
useStackTable(options, stack);
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// Against `npm start`: its fake Graph, whose test-only certificate this process must trust.
if (!options.get('endpoint') && useLocalGraph(stack)) await relaunchTrustingFakeGraph();

const { config } = await import('../shared/config.js');
const { getConnection } = await import('../shared/store/connections.js');
const { storeReconcileRequest } = await import('../shared/store/graph-inbox.js');
const { keys } = await import('../shared/store/keys.js');
const { reconcileDiff, applyReconcileDiff } = await import('../shared/app/reconcile-connection.js');
const { oktaReconcileDiff, applyOktaReconcileDiff } = await import('../shared/app/okta-reconcile.js');
const { isPollable } = await import('../shared/app/okta-log-poller.js');

const connection = await getConnection(connectionId);
if (!connection || (connection.type !== 'entra' && connection.type !== 'okta')) {
  console.error(`${connectionId}: no Entra or Okta connection with this id in ${process.env.TABLE_NAME}`);
  process.exit(1);
}
if (connection.type === 'okta' && !isPollable(connection)) {
  console.error(`${connectionId}: an Okta connection needs an orgUrl and an oktaApiTokenRef (and must not be deactivated) to be reconciled`);
  process.exit(1);
}

/** The diff of either IdP, as this command prints and applies it. */
type Reconciliation = {
  removals: { userId: string; objectId: string; accountId: string; removal?: string; reason?: string }[];
  apply: (event: InboxEventRef) => Promise<EventOutcome>;
};

async function reconciliationOf(target: NonNullable<typeof connection>, onProgress: (message: string) => void): Promise<Reconciliation & { subjectName: string }> {
  const disableOnDeprovision = config().disableOnDeprovision;
  if (isPollable(target)) {
    const diff = await oktaReconcileDiff(target, { onProgress });
    onProgress(`${connectionId}: ${diff.oktaRequests} Okta API request(s)`);
    return { removals: diff.removals, subjectName: 'Okta user id', apply: (event) => applyOktaReconcileDiff(event, diff, { disableOnDeprovision }) };
  }
  const diff = await reconcileDiff(target, { onProgress });
  return { removals: diff.removals, subjectName: 'object id', apply: (event) => applyReconcileDiff(event, diff, { disableOnDeprovision }) };
}

try {
  const { removals, subjectName, apply } = await reconciliationOf(connection, (message) => console.log(`  ${message}`));
  if (removals.length === 0) console.log('Nothing to remove: every linked user with an active membership is still in a granting group.');
  for (const removal of removals) {
    const why = removal.reason ? `: ${removal.reason.replace(/^reconcile: /, '')} (removal: ${removal.removal})` : '';
    console.log(`  - ${removal.accountId}: user ${removal.userId} (${subjectName} ${removal.objectId})${why}`);
  }
  if (dryRun) {
    console.log(`Dry run: ${removals.length} membership(s) would be soft-deleted; nothing was written. (One a group removal took already is recorded as a removal of the person instead.)`);
    process.exit(0);
  }
  // Stored first so the effects are audited under its id; the stream leaves CLI requests alone.
  const receivedAt = new Date();
  const { eventId } = await storeReconcileRequest({ connectionId, trigger: 'cli', receivedAt, retentionDays: config().inboxRetentionDays });
  const event = { connectionId, eventId, receivedAt: receivedAt.toISOString() };
  const outcome = await apply(event);
  console.log(`${outcome.status}: ${outcome.detail} (event ${keys.inboxEvent(connectionId, eventId).pk})`);
} catch (error) {
  console.error(`Reconciliation of ${connectionId} failed: ${(error as Error).message}`);
  process.exit(1);
}
