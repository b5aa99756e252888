/**
 * Okta System Log polling: the pull path beside the event hook, so an event whose delivery Okta
 * gave up on (or a hook that was never registered) still reaches the inbox. Each run reads a few
 * pages from the connection's cursor (the last `next` link), stores their events through the same
 * conditional inbox write as the hook (same records, same key: an event that came both ways is
 * one inbox item, applied once), and only then moves the cursor to the page's `next` link.
 *
 * Nothing that goes wrong moves the cursor: a 429 waits for X-Rate-Limit-Reset once if that is
 * soon, else the run stops and the next one goes on from the same link; a 5xx, an unreachable
 * org or a page we cannot read stops the run and is reported.
 */
import { oktaLogEventSchema, toOktaEventRecord, type OktaLogEvent } from '../domain/okta-events.js';
import type { Connection } from '../domain/connection.js';
import { pollEveryConnection } from './poll-connections.js';
import { storeOktaEvents } from '../store/inbox.js';
import { advanceOktaLogCursor, CursorMovedError, getOktaLogCursor } from '../store/okta-log-cursor.js';
import { eventTypeFilter, firstPollUrl, isSystemLogUrlOf, readSystemLogPage } from '../idp/okta-system-log.js';
import { secretValue } from '../idp/secrets.js';
import { describeIssues } from '../validation.js';

export type PollSettings = {
  actedOnTypes: ReadonlySet<string>;
  /** Where a connection's first run starts: this long before now. */
  lookbackMinutes: number;
  /** Pages one run may read per connection: bounds its time and its share of Okta's rate limit. */
  maxPages: number;
  retentionDays: number;
  /** Okta's default page; at most 1000. */
  pageSize?: number;
  /** A 429 whose reset is this close is waited out once; a later one ends the run. */
  maxRateLimitWaitMs?: number;
  now?: () => Date;
};

export type PollStop =
  /** An empty page: nothing more for now (its next link is saved). */
  | 'caughtUp'
  | 'maxPages'
  /** Okta's rate limit is spent: the next run goes on from the cursor. */
  | 'rateLimited'
  /** Another run moved the cursor meanwhile: it goes on from there. */
  | 'cursorMoved'
  | 'failed';

export type PollReport = {
  connectionId: string;
  /** System Log requests made, 429s included. */
  requests: number;
  pages: number;
  received: number;
  stored: number;
  duplicates: number;
  ignored: number;
  invalid: number;
  stoppedBy: PollStop;
  /** Why, for `failed`: Okta's status and error code, or what was wrong with the page. */
  failure?: string;
  /** For `rateLimited`: when Okta said the limit resets. */
  retryAfter?: string;
};

export class OktaLogPollError extends Error {
  override name = 'OktaLogPollError';
}

const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_MAX_RATE_LIMIT_WAIT_MS = 10_000;

export type PollableConnection = Connection & { orgUrl: string; oktaApiTokenRef: string };

export function isPollable(connection: Connection | undefined): connection is PollableConnection {
  return connection?.type === 'okta' && !connection.deactivatedAt && Boolean(connection.orgUrl) && Boolean(connection.oktaApiTokenRef);
}

type ParsedPage = { relevant: OktaLogEvent[]; ignored: number } | { problem: string };

/** The events of a type we act on, parsed as the hook parses them; other types are not looked at. */
function parsePage(events: unknown[], actedOnTypes: ReadonlySet<string>): ParsedPage {
  const relevant: OktaLogEvent[] = [];
  for (const [index, event] of events.entries()) {
    const type = (event as { eventType?: unknown } | null)?.eventType;
    if (typeof type !== 'string' || !actedOnTypes.has(type)) continue;
    const parsed = oktaLogEventSchema.safeParse(event);
    if (!parsed.success) return { problem: `event ${index} of the page is not a LogEvent: ${describeIssues(parsed.error)}` };
    relevant.push(parsed.data);
  }
  return { relevant, ignored: events.length - relevant.length };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One run for one connection: at most `maxPages` pages from its cursor (or, the first time, from
 * now − lookback), storing each page's events before the cursor moves past them.
 */
export async function pollConnection(connection: PollableConnection, settings: PollSettings, apiToken?: string): Promise<PollReport> {
  const now = settings.now ?? (() => new Date());
  const { connectionId, orgUrl } = connection;
  const token = apiToken ?? (await secretValue(connection.oktaApiTokenRef));
  const report: PollReport = { connectionId, requests: 0, pages: 0, received: 0, stored: 0, duplicates: 0, ignored: 0, invalid: 0, stoppedBy: 'maxPages' };
  const stop = (stoppedBy: PollStop, extra: Partial<PollReport> = {}) => Object.assign(report, { stoppedBy }, extra);

  try {
    const saved = await getOktaLogCursor(connectionId);
    const filter = eventTypeFilter(settings.actedOnTypes);
    const usable = saved && saved.orgUrl === orgUrl && isSystemLogUrlOf(orgUrl, saved.nextUrl);
    let cursor: string;
    if (usable && saved.filter === filter) {
      cursor = saved.nextUrl;
    } else {
      // The first run (or the connection now names another org) starts at now − lookback. When
      // OKTA_EVENT_TYPES changed, the link goes on with the old types and has passed events of
      // the new ones: go back the lookback from where the cursor last moved (what comes twice is
      // stored once). The start is saved at once, so a run that fails is retried from the same place.
      const from = usable ? Math.min(Date.parse(saved.updatedAt), now().getTime()) : now().getTime();
      const since = new Date(from - settings.lookbackMinutes * 60_000);
      const start = firstPollUrl(orgUrl, { since, eventTypes: settings.actedOnTypes, limit: settings.pageSize ?? DEFAULT_PAGE_SIZE });
      await advanceOktaLogCursor({ connectionId, orgUrl, filter, previous: saved?.nextUrl, nextUrl: start });
      cursor = start;
    }
    let waitedForRateLimit = false;
    while (report.pages < settings.maxPages) {
      const page = await readSystemLogPage(cursor, token);
      report.requests += 1;
      if (page.kind === 'rateLimited') {
        const resetAt = page.rateLimit.resetAt;
        const wait = resetAt ? resetAt.getTime() - now().getTime() : Number.POSITIVE_INFINITY;
        if (!waitedForRateLimit && wait <= (settings.maxRateLimitWaitMs ?? DEFAULT_MAX_RATE_LIMIT_WAIT_MS)) {
          waitedForRateLimit = true;
          await sleep(Math.max(wait, 0) + 250);
          continue;
        }
        return stop('rateLimited', resetAt ? { retryAfter: resetAt.toISOString() } : {});
      }
      if (page.kind === 'failed') return stop('failed', { failure: `GET /api/v1/logs: ${page.detail}` });
      if (!isSystemLogUrlOf(orgUrl, page.nextUrl)) return stop('failed', { failure: 'the next link leads away from the org\'s System Log' });
      const parsed = parsePage(page.events, settings.actedOnTypes);
      if ('problem' in parsed) return stop('failed', { failure: parsed.problem });
      const receivedAt = now();
      const records = parsed.relevant.map((event) => toOktaEventRecord(event, receivedAt));
      const counts = await storeOktaEvents({ connectionId, records, deliveryId: undefined, receivedAt, retentionDays: settings.retentionDays });
      report.pages += 1;
      report.received += page.events.length;
      report.stored += counts.stored;
      report.duplicates += counts.duplicates;
      report.ignored += parsed.ignored;
      report.invalid += records.filter((record) => record.invalidReason).length;
      // Stored: now the cursor may move past them (an unchanged link costs no write).
      if (page.nextUrl !== cursor) {
        await advanceOktaLogCursor({ connectionId, orgUrl, filter, previous: cursor, nextUrl: page.nextUrl });
        cursor = page.nextUrl;
      }
      if (page.events.length === 0) return stop('caughtUp');
      if (page.rateLimit.remaining === 0) {
        return stop('rateLimited', page.rateLimit.resetAt ? { retryAfter: page.rateLimit.resetAt.toISOString() } : {});
      }
    }
    return report;
  } catch (error) {
    if (error instanceof CursorMovedError) return stop('cursorMoved');
    throw error;
  }
}

/**
 * Every active Okta connection with an org URL and an API token, one run each, side by side
 * (each org has its own rate limits). Throws at the end if any connection failed; a rate-limited
 * one has not failed, it goes on next time.
 */
export function pollAllConnections(settings: PollSettings): Promise<{ connections: number; reports: PollReport[] }> {
  return pollEveryConnection({
    what: 'okta system log',
    applies: isPollable,
    poll: (connection) => pollConnection(connection, settings),
    failed: (report) => report.stoppedBy === 'failed',
    idle: (report) => report.received === 0 && report.stoppedBy === 'caughtUp',
    stored: (report) => report.stored,
    error: (failed) => new OktaLogPollError(`the System Log of ${failed.length} Okta connection(s) could not be polled: ${failed.join(', ')}`),
  });
}
