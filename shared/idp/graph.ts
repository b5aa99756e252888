/**
 * The Microsoft Graph calls for one Entra tenant: the user behind a change notification, the
 * members of a group (reconciliation), and the subscription lifecycle. App-only tokens come from
 * ClientSecretCredential, which caches them: create one directory per connection and keep it.
 *
 * Retries: the client's RetryHandler retries 429, 503 and 504 (not 500), waiting Retry-After when
 * Graph sends it and backing off otherwise. We bound it: at most `maxRetries` retries, and no wait
 * longer than MAX_RETRY_AFTER_SECONDS inside one invocation; past either the call throws
 * GraphRequestError, so the event fails and the stream delivers it again later.
 */
import { ClientSecretCredential } from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  GraphError,
  HTTPMessageHandler,
  RetryHandler,
  RetryHandlerOptions,
  TelemetryHandler,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import * as z from 'zod/mini';

export type GraphCredentials = { tenantId: string; clientId: string; clientSecret: string };
export type GraphEndpoints = { baseUrl: string; authorityHost: string };
export type GraphUser = { id: string; accountEnabled: boolean | undefined; mail: string | null | undefined; userPrincipalName: string | undefined };
export type GraphSubscription = {
  id: string;
  resource: string;
  changeType: string;
  expirationDateTime: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  clientState?: string;
};
export type NewSubscription = {
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  clientState: string;
  expirationDateTime: string;
};

/** A user the users delta lists: changed, new, or `@removed` (deleted or out of scope). */
export type UserDeltaChange = { id: string; removed: boolean; accountEnabled: boolean | undefined };
/** A group the groups delta lists: its members `@removed` and added, or the group itself `@removed`. */
export type GroupDeltaChange = {
  id: string;
  removedReason: string | undefined;
  /** User members, lowercased. */
  removedMembers: string[];
  addedMembers: string[];
  /** A nested group (or another non-user member) was added or removed: its members' access may have changed. */
  nestedChanged: boolean;
};
/** One delta round followed to its end: what it listed, and the link that asks for what changes next. */
export type DeltaRound<T> = { changes: T[]; deltaLink: string; requests: number };

export interface GraphDirectory {
  /** undefined when Graph answers 404: the user is soft- or hard-deleted. */
  getUser(id: string): Promise<GraphUser | undefined>;
  /**
   * Which of these groups the user is a member of, directly or through nested groups; undefined
   * when Graph answers 404 (the user is gone). Graph takes at most 20 ids per call.
   */
  memberGroupsOf(userId: string, groupIds: readonly string[]): Promise<Set<string> | undefined>;
  /** Direct user members, from the members delta query followed to its deltaLink; throws if any page fails. */
  groupMemberIds(groupId: string): Promise<Set<string>>;
  /**
   * The users delta (`$select=id,accountEnabled`): from `deltaLink`, what changed since; without
   * one, every user (the first round, whose deltaLink is what matters). Every nextLink is followed;
   * throws if any page fails (isExpiredDelta: the link is no longer usable).
   */
  usersDelta(deltaLink: string | undefined): Promise<DeltaRound<UserDeltaChange>>;
  /** The groups delta with members for these groups (at most 50), as usersDelta. */
  groupsDelta(groupIds: readonly string[], deltaLink: string | undefined): Promise<DeltaRound<GroupDeltaChange>>;
  createSubscription(input: NewSubscription): Promise<GraphSubscription>;
  /** undefined when the subscription no longer exists. */
  renewSubscription(id: string, expirationDateTime: string): Promise<GraphSubscription | undefined>;
  /** false when the subscription no longer exists. */
  reauthorizeSubscription(id: string): Promise<boolean>;
  /** A subscription that no longer exists counts as deleted. */
  deleteSubscription(id: string): Promise<void>;
}

/**
 * A Graph call that failed. `status` is Graph's HTTP status, or 0 when Graph did not answer (no
 * token, network). `code` is Graph's error code, or the identity platform's (`invalid_client`)
 * when no token came. The message names the call, status and code: never a token, a secret or
 * Graph's free-text message.
 */
export class GraphRequestError extends Error {
  override name = 'GraphRequestError';
  constructor(
    call: string,
    readonly status: number,
    readonly code: string | undefined,
    options: { reason?: string; requestId?: string; cause?: unknown } = {},
  ) {
    const answer = status > 0 ? `status ${status}` : (options.reason ?? 'no answer from Graph');
    const requestId = options.requestId ? ` (request-id ${options.requestId})` : '';
    super(`Graph ${call} failed: ${answer}${code ? `, ${code}` : ''}${requestId}`, { cause: options.cause });
  }
}

const DEFAULT_ENDPOINTS: GraphEndpoints = { baseUrl: 'https://graph.microsoft.com/v1.0', authorityHost: 'https://login.microsoftonline.com' };
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const DEFAULT_MAX_RETRIES = 3;
/** Per call, retries and their waits included (3 retries after at most 10 s each, plus the answers). */
const DEFAULT_CALL_TIMEOUT_MS = 45_000;
/** A longer Retry-After fails the call instead of holding the Lambda; the stream retries it later. */
const MAX_RETRY_AFTER_SECONDS = 10;
/** First back-off without Retry-After; the RetryHandler adds exponential growth and up to 1 s of jitter. */
const BACKOFF_SECONDS = 1;
/** What @azure/identity throws when it gets no token. */
const CREDENTIAL_ERRORS = new Set(['AuthenticationRequiredError', 'AuthenticationError', 'CredentialUnavailableError']);
const USER_PROPERTIES = ['id', 'mail', 'userPrincipalName', 'accountEnabled'];

const userSchema = z.object({
  id: z.string(),
  accountEnabled: z.optional(z.boolean()),
  mail: z.optional(z.nullable(z.string())),
  userPrincipalName: z.optional(z.string()),
});

const memberGroupsSchema = z.object({ value: z.array(z.string()) });
/** https://learn.microsoft.com/graph/api/directoryobject-checkmembergroups: "up to 20 groups". */
const CHECK_MEMBER_GROUPS_LIMIT = 20;

const subscriptionSchema = z.object({
  id: z.string(),
  resource: z.string(),
  changeType: z.string(),
  expirationDateTime: z.string(),
  notificationUrl: z.string(),
  lifecycleNotificationUrl: z.optional(z.nullable(z.string())),
  clientState: z.optional(z.nullable(z.string())),
});

const membersDeltaPageSchema = z.object({
  '@odata.nextLink': z.optional(z.string()),
  '@odata.deltaLink': z.optional(z.string()),
  value: z.array(
    z.object({
      id: z.string(),
      'members@delta': z.optional(
        z.array(z.object({ id: z.string(), '@odata.type': z.optional(z.string()), '@removed': z.optional(z.unknown()) })),
      ),
    }),
  ),
});

const usersDeltaPageSchema = z.object({
  '@odata.nextLink': z.optional(z.string()),
  '@odata.deltaLink': z.optional(z.string()),
  value: z.array(z.object({ id: z.string(), accountEnabled: z.optional(z.nullable(z.boolean())), '@removed': z.optional(z.unknown()) })),
});

const groupsDeltaPageSchema = z.object({
  '@odata.nextLink': z.optional(z.string()),
  '@odata.deltaLink': z.optional(z.string()),
  value: z.array(
    z.object({
      id: z.string(),
      '@removed': z.optional(z.unknown()),
      'members@delta': z.optional(
        z.array(z.object({ id: z.string(), '@odata.type': z.optional(z.string()), '@removed': z.optional(z.unknown()) })),
      ),
    }),
  ),
});

/** Graph takes at most 50 ids in a groups delta filter. */
export const GROUPS_DELTA_FILTER_LIMIT = 50;
/** What Graph answers for a delta link it no longer holds state for: start over. */
const EXPIRED_DELTA_CODES = new Set(['syncStateNotFound', 'syncStateInvalid', 'resyncRequired']);

/** The delta link can no longer be followed (410 Gone, or an expired or unknown sync state): a full round is needed. */
export function isExpiredDelta(error: unknown): boolean {
  return error instanceof GraphRequestError && (error.status === 410 || (error.code !== undefined && EXPIRED_DELTA_CODES.has(error.code)));
}

/**
 * `@removed` comes as `{"reason": "changed" | "deleted"}` in delta answers and as a bare string
 * in change notifications; absent or null means not removed. The reason, or "removed".
 */
function removedReason(removed: unknown): string | undefined {
  if (removed === undefined || removed === null) return undefined;
  if (typeof removed === 'string') return removed;
  const reason = (removed as { reason?: unknown }).reason;
  return typeof reason === 'string' ? reason : 'removed';
}

export function graphDirectory(
  credentials: GraphCredentials,
  endpoints: Partial<GraphEndpoints> = {},
  options: { maxRetries?: number; callTimeoutMs?: number } = {},
): GraphDirectory {
  const graphApi = graphClient(credentials, { ...DEFAULT_ENDPOINTS, ...endpoints }, options.maxRetries ?? DEFAULT_MAX_RETRIES);
  const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  // Every call ends within its budget (retries included): a hung connection fails the call, not the Lambda.
  const client = { api: (path: string) => graphApi.api(path).options({ signal: AbortSignal.timeout(callTimeoutMs) }) };

  const baseUrl = (endpoints.baseUrl ?? DEFAULT_ENDPOINTS.baseUrl).replace(/\/+$/, '');

  /** Follows a delta round from its first request to the deltaLink, page by page. */
  async function deltaRound<P extends { '@odata.nextLink'?: string | undefined; '@odata.deltaLink'?: string | undefined }>(
    call: string,
    schema: z.ZodMiniType<P>,
    first: () => Promise<unknown>,
    onPage: (page: P) => void,
  ): Promise<{ deltaLink: string; requests: number }> {
    let request = first;
    for (let requests = 1; ; requests += 1) {
      const page = parseAnswer(call, schema, await send(call, request));
      onPage(page);
      const deltaLink = page['@odata.deltaLink'];
      if (deltaLink) return { deltaLink: ownLink(call, deltaLink), requests };
      const nextLink = page['@odata.nextLink'];
      if (!nextLink) throw new GraphRequestError(call, 0, 'UnexpectedAnswer', { reason: 'a delta page with neither nextLink nor deltaLink' });
      const link = ownLink(call, nextLink);
      request = () => client.api(link).get();
    }
  }

  /** Links are followed with the token: only ones on the configured Graph. */
  function ownLink(call: string, link: string): string {
    if (!link.startsWith(`${baseUrl}/`)) throw new GraphRequestError(call, 0, 'UnexpectedAnswer', { reason: 'a delta link away from the configured Graph' });
    return link;
  }

  return {
    async usersDelta(deltaLink) {
      const changes: UserDeltaChange[] = [];
      const first = deltaLink ? () => client.api(ownLink('GET /users/delta', deltaLink)).get() : () => client.api('/users/delta').select(['id', 'accountEnabled']).get();
      const round = await deltaRound('GET /users/delta', usersDeltaPageSchema, first, (page) => {
        for (const user of page.value) {
          changes.push({ id: user.id.toLowerCase(), removed: removedReason(user['@removed']) !== undefined, accountEnabled: user.accountEnabled ?? undefined });
        }
      });
      return { changes, ...round };
    },

    async groupsDelta(groupIds, deltaLink) {
      const call = 'GET /groups/delta';
      if (groupIds.length === 0 || groupIds.length > GROUPS_DELTA_FILTER_LIMIT) {
        throw new RangeError(`a groups delta takes 1 to ${GROUPS_DELTA_FILTER_LIMIT} groups, not ${groupIds.length}`);
      }
      const filter = encodeURIComponent(groupIds.map((id) => `id eq '${id.replaceAll("'", "''")}'`).join(' or '));
      const first = deltaLink ? () => client.api(ownLink(call, deltaLink)).get() : () => client.api('/groups/delta').filter(filter).select('members').get();
      // A group may come back on several pages, each with part of its members: merge by id.
      const byId = new Map<string, GroupDeltaChange>();
      const round = await deltaRound(call, groupsDeltaPageSchema, first, (page) => {
        for (const group of page.value) {
          const id = group.id.toLowerCase();
          const change = byId.get(id) ?? { id, removedReason: undefined, removedMembers: [], addedMembers: [], nestedChanged: false };
          change.removedReason = removedReason(group['@removed']) ?? change.removedReason;
          for (const member of group['members@delta'] ?? []) {
            if (!isUser(member['@odata.type'])) {
              change.nestedChanged = true;
              continue;
            }
            (removedReason(member['@removed']) === undefined ? change.addedMembers : change.removedMembers).push(member.id.toLowerCase());
          }
          byId.set(id, change);
        }
      });
      return { changes: [...byId.values()], ...round };
    },

    async getUser(id) {
      const call = 'GET /users/{id}';
      const body = await unlessNotFound(send(call, () => client.api(`/users/${encodeURIComponent(id)}`).select(USER_PROPERTIES).get()));
      if (body === undefined) return undefined;
      const user = parseAnswer(call, userSchema, body);
      return { id: user.id, accountEnabled: user.accountEnabled, mail: user.mail, userPrincipalName: user.userPrincipalName };
    },

    async memberGroupsOf(userId, groupIds) {
      const call = 'POST /users/{id}/checkMemberGroups';
      const found = new Set<string>();
      for (let start = 0; start < groupIds.length; start += CHECK_MEMBER_GROUPS_LIMIT) {
        const groupIdsPage = groupIds.slice(start, start + CHECK_MEMBER_GROUPS_LIMIT);
        const body = await unlessNotFound(send(call, () => client.api(`/users/${encodeURIComponent(userId)}/checkMemberGroups`).post({ groupIds: groupIdsPage })));
        if (body === undefined) return undefined;
        for (const id of parseAnswer(call, memberGroupsSchema, body).value) found.add(id.toLowerCase());
      }
      return found;
    },

    async groupMemberIds(groupId) {
      const call = 'GET /groups/delta';
      const filter = encodeURIComponent(`id eq '${groupId.replaceAll("'", "''")}'`);
      const members = new Set<string>();
      let groupSeen = false;
      let nextPage = () => client.api('/groups/delta').filter(filter).select('members').get();
      for (;;) {
        const page = parseAnswer(call, membersDeltaPageSchema, await send(call, nextPage));
        groupSeen = mergeMembers(members, page, groupId) || groupSeen;
        const nextLink = page['@odata.nextLink'];
        if (!nextLink) break;
        nextPage = () => client.api(nextLink).get();
      }
      // A group absent from every page does not exist or is not visible to the app: never call it empty.
      // (GroupNotFound is our code; Graph answers such a query with an empty page.)
      if (!groupSeen) throw new GraphRequestError(call, 404, 'GroupNotFound');
      return members;
    },

    async createSubscription(input) {
      const call = 'POST /subscriptions';
      return toSubscription(parseAnswer(call, subscriptionSchema, await send(call, () => client.api('/subscriptions').post(input))));
    },

    async renewSubscription(id, expirationDateTime) {
      const call = 'PATCH /subscriptions/{id}';
      const body = await unlessNotFound(send(call, () => client.api(subscriptionPath(id)).patch({ expirationDateTime })));
      return body === undefined ? undefined : toSubscription(parseAnswer(call, subscriptionSchema, body));
    },

    async reauthorizeSubscription(id) {
      const call = 'POST /subscriptions/{id}/reauthorize';
      const answered = await unlessNotFound(send(call, () => client.api(`${subscriptionPath(id)}/reauthorize`).post(undefined).then(() => true)));
      return answered ?? false;
    },

    async deleteSubscription(id) {
      await unlessNotFound(send('DELETE /subscriptions/{id}', () => client.api(subscriptionPath(id)).delete()));
    },
  };
}

function graphClient(credentials: GraphCredentials, endpoints: GraphEndpoints, maxRetries: number): Client {
  const credential = new ClientSecretCredential(credentials.tenantId, credentials.clientId, credentials.clientSecret, {
    authorityHost: endpoints.authorityHost,
    // Instance discovery asks the public cloud about the authority, which knows nothing of a private one.
    disableInstanceDiscovery: endpoints.authorityHost !== DEFAULT_ENDPOINTS.authorityHost,
  });
  const authProvider = new TokenCredentialAuthenticationProvider(credential, { scopes: [GRAPH_SCOPE] });
  const retryOptions = new RetryHandlerOptions(
    BACKOFF_SECONDS,
    maxRetries,
    (_delay, _attempt, _request, _options, response) => retryAfterSeconds(response) <= MAX_RETRY_AFTER_SECONDS,
  );
  // The client splits a request URL into host + version + path: baseUrl must not end in the version.
  const base = new URL(endpoints.baseUrl);
  const segments = base.pathname.split('/').filter(Boolean);
  const version = segments.pop() ?? 'v1.0';
  return Client.initWithMiddleware({
    baseUrl: `${base.origin}/${segments.join('/')}`,
    defaultVersion: version,
    // The token is only attached to Graph's own hosts unless another base URL's host is named here.
    customHosts: new Set([base.hostname]),
    // The default chain with our RetryHandlerOptions (and no RedirectHandler: these calls never redirect).
    middleware: [new AuthenticationHandler(authProvider), new RetryHandler(retryOptions), new TelemetryHandler(), new HTTPMessageHandler()],
  });
}

/** Seconds (possibly fractional) or an HTTP date; no or unreadable header means "no wait asked". */
function retryAfterSeconds(response: Response): number {
  const header = response.headers.get('Retry-After');
  if (header === null) return 0;
  const seconds = Number(header);
  const wait = Number.isNaN(seconds) ? (Date.parse(header) - Date.now()) / 1000 : seconds;
  return Number.isFinite(wait) ? wait : 0;
}

async function send<T>(call: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw toGraphRequestError(call, error);
  }
}

function toGraphRequestError(call: string, error: unknown): GraphRequestError {
  if (!(error instanceof GraphError)) return new GraphRequestError(call, 0, undefined, { cause: error });
  if (error.statusCode > 0) {
    return new GraphRequestError(call, error.statusCode, error.code ?? undefined, { requestId: error.requestId ?? undefined, cause: error });
  }
  // statusCode -1: Graph never answered, and `code` is the name of what was thrown instead.
  if (error.code && CREDENTIAL_ERRORS.has(error.code)) {
    // MSAL starts the message with the OAuth error ("invalid_client: … AADSTS7000215 …"); the rest stays in the cause.
    const oauthError = /^([a-z_]+):/.exec(error.message)?.[1];
    return new GraphRequestError(call, 0, oauthError ?? error.code, { reason: 'no access token', cause: error });
  }
  return new GraphRequestError(call, 0, error.code ?? undefined, { cause: error });
}

async function unlessNotFound<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof GraphRequestError && error.status === 404) return undefined;
    throw error;
  }
}

function parseAnswer<T>(call: string, schema: z.ZodMiniType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new GraphRequestError(call, 0, 'UnexpectedAnswer', { cause: parsed.error });
  return parsed.data;
}

function toSubscription(answer: z.infer<typeof subscriptionSchema>): GraphSubscription {
  const { lifecycleNotificationUrl, clientState, ...required } = answer;
  return {
    ...required,
    ...(lifecycleNotificationUrl ? { lifecycleNotificationUrl } : {}),
    ...(clientState ? { clientState } : {}),
  };
}

/**
 * Adds one delta page's members of the group to `members`; true when the page names the group.
 * The same group may come back on several pages, each with part of its members.
 * https://learn.microsoft.com/graph/delta-query-groups#paging-through-members-in-a-large-group
 */
function mergeMembers(members: Set<string>, page: z.infer<typeof membersDeltaPageSchema>, groupId: string): boolean {
  let seen = false;
  for (const group of page.value) {
    if (group.id.toLowerCase() !== groupId.toLowerCase()) continue;
    seen = true;
    for (const member of group['members@delta'] ?? []) {
      // "@removed" comes only in later rounds (from a deltaLink); honoured in case a page repeats a member.
      if (member['@removed'] !== undefined) members.delete(member.id);
      else if (isUser(member['@odata.type'])) members.add(member.id);
    }
  }
  return seen;
}

const subscriptionPath = (id: string) => `/subscriptions/${encodeURIComponent(id)}`;

/** Delta answers name each member's type; a member without one is taken as a user. */
const isUser = (odataType: string | undefined) => odataType === undefined || odataType.toLowerCase() === '#microsoft.graph.user';
