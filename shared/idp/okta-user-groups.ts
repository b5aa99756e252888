/**
 * Reads an Okta user's current groups (`GET /api/v1/users/{id}/groups`) with plain fetch and the
 * connection's API token (`Authorization: SSWS <token>`), like the System Log reader: only the
 * connection's own org is ever called, `Link: <…>; rel="next"` pages are followed within it.
 *
 * Okta's facts (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserResources/#tag/UserResources/operation/listUserGroups):
 * the answer is an array of Group objects (`{id, type, profile: {name, description}}`); a user
 * Okta does not know is 404 (E0000007); a spent rate limit is 429.
 */
import { nextLinkOf } from './okta-system-log.js';
import { getFromOkta } from './okta-request.js';

const PAGE_LIMIT = 200;
/** A user in more groups than this is answered from what was read: a bound on calls per event. */
const MAX_PAGES = 10;

/** The user's group names, or that Okta no longer knows the user. */
export type OktaUserGroups = { kind: 'groups'; names: Set<string> } | { kind: 'userGone' };

/** Okta did not answer usably (5xx, timeout, 429, another error): the event fails and the stream retries it. */
export class OktaLookupError extends Error {
  override name = 'OktaLookupError';
}

function userGroupsPath(oktaUserId: string): string {
  return `/api/v1/users/${encodeURIComponent(oktaUserId)}/groups`;
}

/** A next link is followed only on the org's own origin and the same path: the token must not go anywhere else. */
function isUserGroupsUrlOf(orgUrl: string, oktaUserId: string, candidate: string): boolean {
  try {
    const url = new URL(candidate);
    return url.origin === new URL(orgUrl).origin && url.pathname === userGroupsPath(oktaUserId);
  } catch {
    return false;
  }
}

async function getPage(url: string, apiToken: string): Promise<Response> {
  try {
    return await getFromOkta(url, apiToken);
  } catch (error) {
    throw new OktaLookupError((error as Error).message);
  }
}

/** The names of the groups Okta lists for this user now; throws OktaLookupError when Okta does not answer usably. */
export async function readOktaUserGroups(orgUrl: string, oktaUserId: string, apiToken: string): Promise<OktaUserGroups> {
  const first = new URL(userGroupsPath(oktaUserId), orgUrl);
  first.searchParams.set('limit', String(PAGE_LIMIT));
  const names = new Set<string>();
  let url: string | undefined = first.href;
  for (let page = 0; url && page < MAX_PAGES; page += 1) {
    const response = await getPage(url, apiToken);
    if (response.status === 404 && page === 0) {
      await response.body?.cancel();
      return { kind: 'userGone' };
    }
    if (response.status === 429) {
      await response.body?.cancel();
      throw new OktaLookupError(`Okta's rate limit for the user's groups is spent (resets at ${response.headers.get('x-rate-limit-reset') ?? 'an unknown time'})`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new OktaLookupError(`Okta answered status ${response.status} for the user's groups`);
    }
    let groups: unknown;
    try {
      groups = await response.json();
    } catch {
      throw new OktaLookupError("the user's groups are not JSON");
    }
    if (!Array.isArray(groups)) throw new OktaLookupError("the user's groups are not an array");
    for (const group of groups as Array<{ profile?: { name?: unknown } } | null>) {
      const name = group?.profile?.name;
      if (typeof name === 'string') names.add(name);
    }
    const next = nextLinkOf(response.headers.get('link'));
    url = next && isUserGroupsUrlOf(orgUrl, oktaUserId, next) ? next : undefined;
  }
  return { kind: 'groups', names };
}
