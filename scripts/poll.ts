/**
 * npm run poll [-- --endpoint URL] [--table NAME] [--json]
 *
 * Runs the two pollers once now, as their schedules do: the System Log of every Okta connection
 * with an API token, and the users and groups delta of every Entra connection with a Graph app.
 * What they find goes to the inbox like a webhook's events (the stream applies it). Prints one
 * line per connection (or the reports as JSON) and exits 1 if any connection could not be polled.
 * Defaults to the running `npm start` stack (its table, fake Okta and fake Graph), if there is one.
 */
import { parseArgs } from './lib/args.js';
import { readState, useLocalGraph, useStackTable } from './lib/local-stack-state.js';
import { relaunchTrustingFakeGraph } from './lib/extra-ca.js';

const { options } = parseArgs(process.argv.slice(2));
const stack = readState();
useStackTable(options, stack);
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// Against `npm start`: its fake Graph and fake Okta (one test-only certificate this process must trust).
if (!options.get('endpoint') && useLocalGraph(stack)) await relaunchTrustingFakeGraph();

const { pollOnce } = await import('./lib/local-pollers.js');
const round = await pollOnce();
if (options.get('json') === true) {
  console.log(JSON.stringify(round, null, 2));
} else {
  for (const report of round.okta) {
    const stored = `${report.received} event(s) read, ${report.stored} new, ${report.duplicates} already in the inbox`;
    console.log(`okta  ${report.connectionId}: ${report.requests} request(s), ${stored}; stopped: ${report.stoppedBy}${report.failure ? ` (${report.failure})` : ''}`);
  }
  for (const report of round.graph) {
    const resources = report.resources.map(
      (resource) => `${resource.resource} ${resource.outcome}, ${resource.requests} request(s), ${resource.stored} new hint(s)${resource.failure ? ` (${resource.failure})` : ''}`,
    );
    console.log(`graph ${report.connectionId}: ${resources.join('; ')}`);
  }
  if (round.okta.length + round.graph.length === 0 && round.failures.length === 0) {
    console.log('Nothing to poll: no Okta connection with an API token, no Entra connection with a Graph app.');
  }
}
for (const failure of round.failures) console.error(`poll failed: ${failure}`);
process.exit(round.failures.length > 0 ? 1 : 0);
