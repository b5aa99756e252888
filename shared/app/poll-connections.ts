/**
 * Runs a poller over every connection it applies to, side by side (each IdP tenant has its own
 * limits): one connection's failure stops no other, every report is logged, and the run throws
 * at the end if any failed, so the schedule retries and alarms.
 */
import type { Connection } from '../domain/connection.js';
import { logger } from '../logger.js';
import { publishCount } from '../metrics.js';
import { getConnection, listConnectionIds } from '../store/connections.js';

export type ConnectionPoller<C extends Connection, R> = {
  /** What is polled, for the logs and the error: "okta system log", "graph deltas". */
  what: string;
  applies: (connection: Connection | undefined) => connection is C;
  poll: (connection: C) => Promise<R>;
  failed: (report: R) => boolean;
  /** A run that found nothing new: logged at debug, so an idle schedule does not fill the logs. */
  idle: (report: R) => boolean;
  /** New inbox items the run stored (the EventsPolled metric). */
  stored: (report: R) => number;
  /** The error thrown when any connection failed, given their ids. */
  error: (failedIds: string[]) => Error;
};

export async function pollEveryConnection<C extends Connection, R extends Record<string, unknown>>(poller: ConnectionPoller<C, R>): Promise<{ connections: number; reports: R[] }> {
  const connections = (await Promise.all((await listConnectionIds()).map((connectionId) => getConnection(connectionId)))).filter(poller.applies);
  const failed: string[] = [];
  const reports: R[] = [];
  await Promise.all(
    connections.map(async (connection) => {
      const { connectionId } = connection;
      try {
        const report = await poller.poll(connection);
        reports.push(report);
        publishCount(connectionId, 'EventsPolled', poller.stored(report));
        if (poller.failed(report)) {
          failed.push(connectionId);
          logger.warn(`${poller.what} not polled`, { ...report });
        } else if (poller.idle(report)) {
          logger.debug(`${poller.what} polled, nothing new`, { ...report });
        } else {
          logger.info(`${poller.what} polled`, { ...report });
        }
      } catch (error) {
        failed.push(connectionId);
        logger.error(`${poller.what} not polled`, { connectionId, error: error as Error });
      }
    }),
  );
  // The reports go with the error: what the other connections did is still worth showing.
  if (failed.length > 0) throw Object.assign(poller.error(failed.sort()), { reports });
  return { connections: connections.length, reports };
}
