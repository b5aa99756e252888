/**
 * Graph delta polling: the pull path beside change notifications, so a change whose notification
 * was lost (or a subscription that lapsed) still reaches the inbox. Per Entra connection, two
 * delta rounds: `users/delta` (id, accountEnabled) and `groups/delta` with members for the groups
 * its SSO configs grant through. Each round starts from the stored `@odata.deltaLink`, follows
 * every nextLink, turns what changed into the state-based hints a notification gives
 * (domain/graph-delta.ts), stores them through the same inbox write, and only then moves the link.
 *
 * - First run (or a new tenant, Graph or group set): one full round, only for its deltaLink; the
 *   state it lists is not turned into hints (reconciliation's job).
 * - 410 Gone / syncStateNotFound: a reconcile request is queued and a fresh round taken.
 * - Any other failure leaves the link where it was; the next run asks again from there.
 */
import type { Connection } from '../domain/connection.js';
import { grantingGroupsByAccount } from '../domain/graph-deprovision.js';
import { groupDeltaRecords, userDeltaRecords } from '../domain/graph-delta.js';
import type { GraphChangeRecord } from '../domain/graph-notifications.js';
import { directoryFor } from '../idp/graph-connection.js';
import { GraphRequestError, GROUPS_DELTA_FILTER_LIMIT, isExpiredDelta, type DeltaRound, type GraphDirectory } from '../idp/graph.js';
import { pollEveryConnection } from './poll-connections.js';
import { advanceGraphDeltaCursor, CursorMovedError, getGraphDeltaCursor, type GraphDeltaResource } from '../store/graph-delta-cursor.js';
import { storeGraphRecords, storeReconcileRequest } from '../store/graph-inbox.js';
import { ssoConfigsServedBy } from '../store/sso-configs.js';

export type DeltaPollSettings = {
  retentionDays: number;
  /** The configured Graph: a link elsewhere (the setting changed) starts afresh. */
  graphBaseUrl: string;
  now?: () => Date;
};

export type DeltaOutcome =
  /** The first round: only its deltaLink was kept. */
  | 'started'
  | 'polled'
  /** The link had expired: a reconciliation was queued and a fresh link kept. */
  | 'expired'
  /** Another run moved the link meanwhile: it goes on from there. */
  | 'cursorMoved'
  /** Nothing to ask (no group grants an account of this connection). */
  | 'skipped'
  | 'failed';

export type DeltaResourceReport = {
  resource: GraphDeltaResource;
  outcome: DeltaOutcome;
  /** Graph delta requests made (pages), the first round's included. */
  requests: number;
  /** Hints stored (duplicates: already in the inbox and not re-armed). */
  stored: number;
  duplicates: number;
  failure?: string;
};

export type DeltaPollReport = { connectionId: string; resources: DeltaResourceReport[] };

export class GraphDeltaPollError extends Error {
  override name = 'GraphDeltaPollError';
}

/** The reconcile request's trigger when a delta link expired. */
export const DELTA_EXPIRED_TRIGGER = 'delta-expired';

export type PollableEntraConnection = Connection & { tenantId: string; graph: NonNullable<Connection['graph']> };

export function isDeltaPollable(connection: Connection | undefined): connection is PollableEntraConnection {
  return connection?.type === 'entra' && !connection.deactivatedAt && Boolean(connection.tenantId) && Boolean(connection.graph);
}

type ResourcePoll = {
  resource: GraphDeltaResource;
  /** For groups: the groups asked about, sorted and lowercased. */
  groupIds?: string[];
  round: (deltaLink: string | undefined) => Promise<DeltaRound<unknown>>;
  toRecords: (changes: unknown[]) => GraphChangeRecord[];
};

const sameGroups = (a: readonly string[] | undefined, b: readonly string[] | undefined) => (a ?? []).join(',') === (b ?? []).join(',');

async function pollResource(connection: PollableEntraConnection, poll: ResourcePoll, settings: DeltaPollSettings): Promise<DeltaResourceReport> {
  const now = settings.now ?? (() => new Date());
  const { connectionId, tenantId } = connection;
  const { resource, groupIds } = poll;
  const report: DeltaResourceReport = { resource, outcome: 'polled', requests: 0, stored: 0, duplicates: 0 };
  try {
    const saved = await getGraphDeltaCursor(connectionId, resource);
    const followable = saved && saved.tenantId === tenantId && saved.deltaLink.startsWith(`${settings.graphBaseUrl}/`);
    let expired = false;
    if (followable) {
      try {
        const round = await poll.round(saved.deltaLink);
        report.requests += round.requests;
        const receivedAt = now();
        const counts = await storeGraphRecords({ connectionId, records: poll.toRecords(round.changes), receivedAt, retentionDays: settings.retentionDays });
        report.stored += counts.stored;
        report.duplicates += counts.duplicates;
        // Stored: now the link may move past them (an unchanged link costs no write).
        if (sameGroups(saved.groupIds, groupIds)) {
          if (round.deltaLink !== saved.deltaLink) {
            await advanceGraphDeltaCursor({ connectionId, resource, tenantId, ...(groupIds ? { groupIds } : {}), previous: saved.deltaLink, deltaLink: round.deltaLink });
          }
          return report;
        }
        // The configured groups changed: the old link's changes are in; a new round for the new set follows.
      } catch (error) {
        if (!isExpiredDelta(error)) throw error;
        report.requests += 1;
        expired = true;
        // Changes since the link was issued are unknown: reconcile the connection (one request per minute).
        await storeReconcileRequest({ connectionId, trigger: DELTA_EXPIRED_TRIGGER, receivedAt: now(), retentionDays: settings.retentionDays });
      }
    }
    const fresh = await poll.round(undefined);
    report.requests += fresh.requests;
    await advanceGraphDeltaCursor({ connectionId, resource, tenantId, ...(groupIds ? { groupIds } : {}), previous: saved?.deltaLink, deltaLink: fresh.deltaLink });
    report.outcome = expired ? 'expired' : followable ? 'polled' : 'started';
    return report;
  } catch (error) {
    if (error instanceof CursorMovedError) return Object.assign(report, { outcome: 'cursorMoved' as const });
    if (error instanceof GraphRequestError || error instanceof RangeError) return Object.assign(report, { outcome: 'failed' as const, failure: error.message });
    throw error;
  }
}

/** The groups this connection's SSO configs grant access through (object ids), sorted. */
async function grantingGroupsOf(connectionId: string): Promise<string[]> {
  const byAccount = grantingGroupsByAccount(await ssoConfigsServedBy(connectionId), connectionId);
  return [...new Set([...byAccount.values()].flat())].sort();
}

/** One run for one connection: its users round, then its groups round (when any group grants access). */
export async function pollConnectionDeltas(connection: PollableEntraConnection, settings: DeltaPollSettings, directory?: GraphDirectory): Promise<DeltaPollReport> {
  const graph = directory ?? (await directoryFor(connection));
  const resources: DeltaResourceReport[] = [];
  resources.push(
    await pollResource(
      connection,
      {
        resource: 'users',
        round: (link) => graph.usersDelta(link),
        toRecords: (changes) => userDeltaRecords(changes as Parameters<typeof userDeltaRecords>[0]),
      },
      settings,
    ),
  );
  const groupIds = await grantingGroupsOf(connection.connectionId);
  if (groupIds.length === 0) {
    resources.push({ resource: 'groups', outcome: 'skipped', requests: 0, stored: 0, duplicates: 0 });
  } else if (groupIds.length > GROUPS_DELTA_FILTER_LIMIT) {
    const failure = `${groupIds.length} granting groups: a groups delta takes at most ${GROUPS_DELTA_FILTER_LIMIT}`;
    resources.push({ resource: 'groups', outcome: 'failed', requests: 0, stored: 0, duplicates: 0, failure });
  } else {
    resources.push(
      await pollResource(
        connection,
        {
          resource: 'groups',
          groupIds,
          round: (link) => graph.groupsDelta(groupIds, link),
          toRecords: (changes) => groupDeltaRecords(changes as Parameters<typeof groupDeltaRecords>[0]),
        },
        settings,
      ),
    );
  }
  return { connectionId: connection.connectionId, resources };
}

/**
 * Every active Entra connection with a Graph app, side by side (each tenant has its own limits).
 * Throws at the end if any connection failed.
 */
export function pollAllGraphDeltas(settings: DeltaPollSettings): Promise<{ connections: number; reports: DeltaPollReport[] }> {
  return pollEveryConnection({
    what: 'graph deltas',
    applies: isDeltaPollable,
    poll: (connection) => pollConnectionDeltas(connection, settings),
    failed: (report) => report.resources.some((resource) => resource.outcome === 'failed'),
    idle: (report) => report.resources.every((resource) => (resource.outcome === 'polled' || resource.outcome === 'skipped') && resource.stored === 0),
    stored: (report) => report.resources.reduce((sum, resource) => sum + resource.stored, 0),
    error: (failed) => new GraphDeltaPollError(`the Graph deltas of ${failed.length} Entra connection(s) could not be polled: ${failed.join(', ')}`),
  });
}
