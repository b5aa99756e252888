/**
 * The two scheduled pollers for `npm start` and `npm run poll`: in the cloud, EventBridge runs
 * poll-okta-logs and poll-graph-deltas every 2 minutes; locally this process runs the same code
 * (shared/app) on a short interval, so a change made only in the fake IdPs is applied within
 * seconds, with no webhook at all.
 */
import { config } from '../../shared/config.js';
import { pollAllConnections, type PollReport } from '../../shared/app/okta-log-poller.js';
import { pollAllGraphDeltas, type DeltaPollReport } from '../../shared/app/graph-delta-poller.js';

export type PollRound = { okta: PollReport[]; graph: DeltaPollReport[]; failures: string[] };

/** One run of both pollers over every connection they apply to; a failing one is reported, not thrown. */
export async function pollOnce(): Promise<PollRound> {
  const settings = config();
  const round: PollRound = { okta: [], graph: [], failures: [] };
  const [okta, graph] = await Promise.allSettled([
    pollAllConnections({
      actedOnTypes: settings.oktaEventTypes,
      lookbackMinutes: settings.oktaPoll.lookbackMinutes,
      maxPages: settings.oktaPoll.maxPages,
      retentionDays: settings.inboxRetentionDays,
    }),
    pollAllGraphDeltas({ graphBaseUrl: settings.graphBaseUrl, retentionDays: settings.inboxRetentionDays }),
  ]);
  // A failed run still carries the reports of every connection it polled (poll-connections.ts).
  const reportsOf = <R>(reason: unknown): R[] => ((reason as { reports?: R[] }).reports ?? []);
  if (okta.status === 'fulfilled') round.okta = okta.value.reports;
  else {
    round.okta = reportsOf<PollReport>(okta.reason);
    round.failures.push(`Okta System Log: ${(okta.reason as Error).message}`);
  }
  if (graph.status === 'fulfilled') round.graph = graph.value.reports;
  else {
    round.graph = reportsOf<DeltaPollReport>(graph.reason);
    round.failures.push(`Graph deltas: ${(graph.reason as Error).message}`);
  }
  return round;
}

/** Polls every `intervalMs` (never two rounds at once) until the returned stop is called. */
export function startLocalPollers(intervalMs: number, onFailure: (message: string) => void): () => Promise<void> {
  let stopped = false;
  let current: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const round = async () => {
    const { failures } = await pollOnce();
    for (const failure of failures) onFailure(failure);
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      current = round().catch((error: Error) => onFailure(error.message)).finally(schedule);
    }, intervalMs);
  };
  schedule();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await current;
  };
}
