/**
 * Reads one page of an Okta org's System Log (`GET /api/v1/logs`) with plain fetch and the API
 * token (`Authorization: SSWS <token>`), not through @okta/okta-sdk-nodejs: the SDK's collections
 * either stop at the first empty page (`each()`) or poll forever (`for await`), where a poller
 * needs exactly one page per call and the `next` link of each (the SDK's Collection keeps it
 * private); fetch also spares the scheduled function the SDK's second of loading.
 *
 * Okta's facts (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/SystemLog/):
 * a *polling request* has no `until` and `sortOrder=ASCENDING`; every page, even an empty one,
 * carries `Link: <…>; rel="next"`, which is where to poll next; `since` and `after` cannot be
 * combined; `limit` is 1 to 1000 (default 100). Rate limits are per minute and endpoint, reported
 * in X-Rate-Limit-Limit/-Remaining/-Reset (epoch seconds) on every answer, and a 429 when spent
 * (https://developer.okta.com/docs/reference/rl-best-practices/).
 */
import { getFromOkta } from './okta-request.js';

export const SYSTEM_LOG_PATH = '/api/v1/logs';
const MAX_SUMMARY_LENGTH = 300;

export type RateLimit = { remaining: number | undefined; resetAt: Date | undefined };

export type SystemLogPage =
  | { kind: 'page'; events: unknown[]; nextUrl: string; rateLimit: RateLimit }
  | { kind: 'rateLimited'; rateLimit: RateLimit }
  | { kind: 'failed'; status: number; detail: string };

/** The System Log filter for these event types: `eventType eq "a" or eventType eq "b"`. */
export function eventTypeFilter(eventTypes: Iterable<string>): string {
  return [...eventTypes].map((type) => `eventType eq "${type}"`).join(' or ');
}

/** The first polling request of a connection: events stored since `since`, of the given types, oldest first. */
export function firstPollUrl(orgUrl: string, input: { since: Date; eventTypes: Iterable<string>; limit: number }): string {
  const url = new URL(SYSTEM_LOG_PATH, orgUrl);
  url.searchParams.set('since', input.since.toISOString());
  url.searchParams.set('sortOrder', 'ASCENDING');
  const filter = eventTypeFilter(input.eventTypes);
  if (filter) url.searchParams.set('filter', filter);
  url.searchParams.set('limit', String(input.limit));
  return url.href;
}

/**
 * Only a System Log URL of the connection's own org is ever called: the token must not follow a
 * link (ours or Okta's) anywhere else.
 */
export function isSystemLogUrlOf(orgUrl: string, candidate: string): boolean {
  try {
    const url = new URL(candidate);
    return url.origin === new URL(orgUrl).origin && url.pathname === SYSTEM_LOG_PATH;
  } catch {
    return false;
  }
}

/** The `rel="next"` target of a Link header (RFC 8288): `<url>; rel="self", <url>; rel="next"`. */
export function nextLinkOf(link: string | null): string | undefined {
  for (const part of (link ?? '').split(/,\s*(?=<)/)) {
    const match = /^<([^>]+)>\s*;(.*)$/.exec(part.trim());
    if (match?.[1] && /\brel="?next"?(\s|;|$)/.test(match[2] ?? '')) return match[1];
  }
  return undefined;
}

function rateLimitOf(headers: Headers): RateLimit {
  const number = (name: string) => {
    const value = Number(headers.get(name) ?? Number.NaN);
    return Number.isFinite(value) ? value : undefined;
  };
  const reset = number('x-rate-limit-reset');
  return { remaining: number('x-rate-limit-remaining'), resetAt: reset === undefined ? undefined : new Date(reset * 1000) };
}

/** Okta's error code and summary, the token cut out should Okta ever echo it. */
async function errorDetail(response: Response, apiToken: string): Promise<string> {
  const text = await response.text().catch(() => '');
  let detail = `status ${response.status}`;
  try {
    const body = JSON.parse(text) as { errorCode?: unknown; errorSummary?: unknown };
    if (typeof body.errorCode === 'string') detail += `, ${body.errorCode}`;
    if (typeof body.errorSummary === 'string') detail += ` (${body.errorSummary.slice(0, MAX_SUMMARY_LENGTH)})`;
  } catch {
    // Not Okta's JSON error: the status says enough.
  }
  return apiToken ? detail.replaceAll(apiToken, '[token]') : detail;
}

/** One GET of a System Log URL; never throws for Okta's answers, only reports them. */
export async function readSystemLogPage(url: string, apiToken: string): Promise<SystemLogPage> {
  let response: Response;
  try {
    response = await getFromOkta(url, apiToken);
  } catch (error) {
    return { kind: 'failed', status: 0, detail: (error as Error).message };
  }
  const rateLimit = rateLimitOf(response.headers);
  if (response.status === 429) {
    await response.body?.cancel();
    return { kind: 'rateLimited', rateLimit };
  }
  if (response.status !== 200) return { kind: 'failed', status: response.status, detail: await errorDetail(response, apiToken) };
  let events: unknown;
  try {
    events = await response.json();
  } catch {
    return { kind: 'failed', status: 200, detail: 'the System Log page is not JSON' };
  }
  if (!Array.isArray(events)) return { kind: 'failed', status: 200, detail: 'the System Log page is not an array of events' };
  const nextUrl = nextLinkOf(response.headers.get('link'));
  // Okta always sends it; without it there is nowhere to go on from, so the cursor must not move.
  if (!nextUrl) return { kind: 'failed', status: 200, detail: 'the System Log page has no next link' };
  return { kind: 'page', events, nextUrl, rateLimit };
}
