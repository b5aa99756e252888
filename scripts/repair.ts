/**
 * npm run repair [-- --limit N] [--endpoint URL] [--table NAME] [--cognito-endpoint URL]
 *
 * Runs the scheduled repair now (shared/app/repair.ts): redoes the Cognito group syncs and
 * revocations that failed and were recorded for repair, and prints each one. Defaults to the
 * running `npm start` stack's table and its moto Cognito, if there is one. Exits 1 if any still fails.
 */
import { parseArgs } from './lib/args.js';
import { readState, useStackTable } from './lib/local-stack-state.js';

const { options } = parseArgs(process.argv.slice(2));
const stack = readState();
useStackTable(options, stack);
// npm start's user pools live in its moto_server, the same one that serves its Secrets Manager.
const cognitoEndpoint = options.get('cognito-endpoint') ?? (options.get('endpoint') ? undefined : stack?.secretsManagerEndpoint);
if (typeof cognitoEndpoint === 'string') process.env.COGNITO_ENDPOINT = cognitoEndpoint;
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const limitOption = options.get('limit');
const limit = typeof limitOption === 'string' ? Number(limitOption) : undefined;
if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
  console.error('usage: npm run repair -- [--limit N] [--endpoint http://127.0.0.1:8000] [--table sso-sync-dev] [--cognito-endpoint URL]');
  process.exit(2);
}

const { repairRecordedFailures } = await import('../shared/app/repair.js');

try {
  const report = await repairRecordedFailures(limit === undefined ? {} : { limit });
  for (const item of report.items) {
    console.log(`${item.result.padEnd(8)} ${item.repair.padEnd(10)} ${item.connectionId} ${item.of}: ${item.detail}${item.result === 'failed' ? ` (attempt ${item.attempts})` : ''}`);
  }
  if (report.items.length === 0) console.log(`Nothing to repair in ${process.env.TABLE_NAME}.`);
  else console.log(`${report.repaired} repaired, ${report.dropped} dropped, ${report.failed} still failing${report.more ? '; more are left for the next run' : ''}.`);
  process.exit(report.failed > 0 ? 1 : 0);
} catch (error) {
  console.error(`The repair could not run: ${(error as Error).message}`);
  process.exit(1);
}
