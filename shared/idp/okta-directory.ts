/**
 * Reads what Okta reconciliation needs from an org with plain fetch and the connection's API token
 * (`Authorization: SSWS <token>`), like the System Log and user-groups readers: groups by exact
 * name, every member of a group (with their status), and one user's status. Only the connection's
 * own org is ever called; `Link: <…>; rel="next"` pages are followed only on its origin and path.
 *
 * Okta's facts (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/Group/
 * and .../tag/User/): `GET /api/v1/groups?search=profile.name eq "…"` finds groups by exact name
 * (APP_GROUPs imported from a directory may share one); `GET /api/v1/groups/{id}/users` lists
 * User objects (`{id, status, profile}`), `limit` at most 1000; `GET /api/v1/users/{id}` answers
 * one, or 404 E0000007 when Okta no longer has the user (deleted). A spent rate limit is 429 with
 * X-Rate-Limit-Reset (epoch seconds) (https://developer.okta.com/docs/reference/rl-best-practices/).
 *
 * Every answer other than those throws OktaDirectoryError: reconciliation deletes nothing unless
 * it has read everything.
 */
import type { OktaUserState } from '../domain/okta-reconcile.js';
import { nextLinkOf } from './okta-system-log.js';
import { getFromOkta } from './okta-request.js';

const PAGE_LIMIT = 200;
/** A 429 whose window resets within this is waited out once; a later one fails the read. */
const MAX_RATE_LIMIT_WAIT_MS = 10_000;

export type OktaGroup = { id: string; name: string };
/** A member as a group listing shows them, with Okta's user status (ACTIVE, SUSPENDED, DEPROVISIONED, …). */
export type OktaGroupMember = { oktaUserId: string; status: string };

export class OktaDirectoryError extends Error {
  override name = 'OktaDirectoryError';
}

export type OktaDirectory = {
  groupsNamed(name: string): Promise<OktaGroup[]>;
  membersOf(group: OktaGroup, onPage?: (page: number, members: number) => void): Promise<OktaGroupMember[]>;
  userState(oktaUserId: string): Promise<OktaUserState>;
  /** GET requests sent (429s and retries included): what a run cost against Okta's rate limit. */
  readonly requests: number;
};

/** A SCIM filter string literal: `"` and `\` escaped with a backslash. */
export function groupNameSearch(name: string): string {
  return `profile.name eq "${name.replace(/["\\]/g, (character) => `\\${character}`)}"`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The directory of one org; `wait` is for tests of the 429 path. */
/** A next link already followed would loop until the function times out: a failed read instead. */
function unseen(next: string | undefined, seen: Set<string>, what: string): string | undefined {
  if (next === undefined) return undefined;
  if (seen.has(next)) throw new OktaDirectoryError(`Okta repeated a next link while listing ${what}`);
  seen.add(next);
  return next;
}

export function oktaDirectory(orgUrl: string, apiToken: string, options: { wait?: (ms: number) => Promise<unknown> } = {}): OktaDirectory {
  const origin = new URL(orgUrl).origin;
  const wait = options.wait ?? sleep;
  let requests = 0;

  async function send(url: string, what: string): Promise<Response> {
    requests += 1;
    try {
      return await getFromOkta(url, apiToken);
    } catch (error) {
      throw new OktaDirectoryError(`${(error as Error).message} for ${what}`);
    }
  }

  /** One GET; a 429 that resets soon is waited out once. Answers with the response for 200 and 404, throws for the rest. */
  async function get(url: string, what: string): Promise<Response> {
    let response = await send(url, what);
    if (response.status === 429) {
      await response.body?.cancel();
      const resetAt = Number(response.headers.get('x-rate-limit-reset')) * 1000;
      const waitMs = Number.isFinite(resetAt) ? resetAt - Date.now() : Number.POSITIVE_INFINITY;
      if (waitMs > MAX_RATE_LIMIT_WAIT_MS) throw new OktaDirectoryError(`Okta's rate limit is spent for ${what} (resets at ${response.headers.get('x-rate-limit-reset') ?? 'an unknown time'})`);
      await wait(Math.max(0, waitMs));
      response = await send(url, what);
    }
    if (response.status === 200 || response.status === 404) return response;
    await response.body?.cancel();
    throw new OktaDirectoryError(`Okta answered status ${response.status} for ${what}`);
  }

  async function json(response: Response, what: string): Promise<unknown> {
    try {
      return await response.json();
    } catch {
      throw new OktaDirectoryError(`${what}: the answer is not JSON`);
    }
  }

  async function array(response: Response, what: string): Promise<unknown[]> {
    const body = await json(response, what);
    if (!Array.isArray(body)) throw new OktaDirectoryError(`${what}: the answer is not an array`);
    return body;
  }

  /** A next link is followed only on the org's own origin and the same path: the token must not go anywhere else. */
  function nextOnSamePath(response: Response, path: string): string | undefined {
    const next = nextLinkOf(response.headers.get('link'));
    if (!next) return undefined;
    let url: URL;
    try {
      url = new URL(next);
    } catch {
      throw new OktaDirectoryError(`Okta's next link for ${path} is not a URL`);
    }
    // Stopping at a foreign link would read half a member list as all of it: fail instead.
    if (url.origin !== origin || url.pathname !== path) throw new OktaDirectoryError(`Okta's next link for ${path} leaves the org's path; not followed`);
    return url.href;
  }

  return {
    get requests() {
      return requests;
    },

    async groupsNamed(name) {
      const what = `the groups named "${name}"`;
      const first = new URL('/api/v1/groups', origin);
      first.searchParams.set('search', groupNameSearch(name));
      first.searchParams.set('limit', String(PAGE_LIMIT));
      const groups: OktaGroup[] = [];
      const seen = new Set<string>();
      for (let url: string | undefined = first.href; url; ) {
        const response = await get(url, what);
        if (response.status === 404) throw new OktaDirectoryError(`Okta answered status 404 for ${what}`);
        for (const group of await array(response, what)) {
          const { id, profile } = (group ?? {}) as { id?: unknown; profile?: { name?: unknown } };
          // `search` matches exactly, but a name compared here too costs nothing and rules out a surprise.
          if (typeof id === 'string' && profile?.name === name) groups.push({ id, name });
        }
        url = unseen(nextOnSamePath(response, '/api/v1/groups'), seen, what);
      }
      return groups;
    },

    async membersOf(group, onPage) {
      const path = `/api/v1/groups/${encodeURIComponent(group.id)}/users`;
      const what = `the members of group "${group.name}" (${group.id})`;
      const first = new URL(path, origin);
      first.searchParams.set('limit', String(PAGE_LIMIT));
      const members: OktaGroupMember[] = [];
      const seen = new Set<string>();
      let page = 0;
      for (let url: string | undefined = first.href; url; ) {
        const response = await get(url, what);
        // The group was deleted since the search: a failure, not an empty group (the next run sees it gone).
        if (response.status === 404) throw new OktaDirectoryError(`Okta answered status 404 for ${what}`);
        for (const user of await array(response, what)) {
          const { id, status } = (user ?? {}) as { id?: unknown; status?: unknown };
          if (typeof id !== 'string' || typeof status !== 'string') throw new OktaDirectoryError(`${what}: a member without an id or status`);
          members.push({ oktaUserId: id, status });
        }
        page += 1;
        onPage?.(page, members.length);
        url = unseen(nextOnSamePath(response, path), seen, what);
      }
      return members;
    },

    async userState(oktaUserId) {
      const what = `user ${oktaUserId}`;
      const response = await get(new URL(`/api/v1/users/${encodeURIComponent(oktaUserId)}`, origin).href, what);
      if (response.status === 404) {
        const body = (await json(response, what).catch(() => undefined)) as { errorCode?: unknown } | undefined;
        // Only Okta's "resource not found" says the user is gone; any other 404 is a failed read.
        if (body?.errorCode === 'E0000007') return 'deleted';
        throw new OktaDirectoryError(`Okta answered status 404 for ${what} without E0000007`);
      }
      const { id, status } = ((await json(response, what)) ?? {}) as { id?: unknown; status?: unknown };
      if (id !== oktaUserId || typeof status !== 'string') throw new OktaDirectoryError(`${what}: the answer is not that user`);
      return { status };
    },
  };
}
