/**
 * A fake Okta org for tests: the Event Hooks management API (/api/v1/eventHooks) over HTTPS on
 * 127.0.0.1 with the test certificate of the fake Graph (./fake-graph/), with Okta's documented
 * payloads and error body. `verify` does what Okta does: the one-time GET to the hook's URI with
 * `x-okta-verification-challenge` and the configured auth header, 3 s timeout, one retry, and a
 * 400 when no good answer came. Every answer carries X-Rate-Limit-* headers; 429s and 5xx can be
 * injected per path.
 *
 * The System Log (GET /api/v1/logs) has Okta's polling semantics: `since` (default 7 days ago) or
 * `after`, never both; `sortOrder=ASCENDING`; `filter` of `eventType eq "…"` terms joined by ` or `;
 * `limit` (default 100, at most 1000); and a `Link: <…>; rel="next"` header on every page, even an
 * empty one, whose `after` is an opaque cursor. For a polling request `since` filters on when the
 * event was stored, which here is the order `addLogEvent` was called in.
 *
 * Groups and users for reconciliation: `GET /api/v1/groups?search=profile.name eq "…"` (exact
 * name, `\"` and `\\` escaped; several groups may share a name), `GET /api/v1/groups/{id}/users`
 * (`limit`, default 1000 as Okta, `after`, a `Link: <…>; rel="next"` while more remain) and
 * `GET /api/v1/users/{id}` (the User object with its `status`; an unknown or deleted user is 404
 * E0000007). Sources: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/Group/
 * (listGroups with `search`, listGroupUsers) and .../tag/User/ (getUser, the User object and statuses).
 *
 * Sources (System Log): https://developer.okta.com/docs/api/openapi/okta-management/management/tag/SystemLog/
 * (polling requests, `next` links, LogEvent object).
 *
 * Sources: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/EventHook/
 * (and its older page, docs/reference/api/event-hooks in okta/okta-developer-docs),
 * https://developer.okta.com/docs/concepts/event-hooks/#one-time-verification-request,
 * https://developer.okta.com/docs/reference/error-codes/ and
 * https://developer.okta.com/docs/reference/rl-best-practices/ (the rate limit headers).
 *
 * The calling process must trust the certificate from start-up (NODE_EXTRA_CA_CERTS, see
 * scripts/lib/extra-ca.ts; vitest.config.ts sets it for the tests).
 */
import { drawFault, randomFaults, type RandomFaults } from './fake-fault-rate.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { FAKE_GRAPH_CERT_PATH } from './fake-graph.js';
import { readBody } from './read-body.js';

const KEY_PATH = fileURLToPath(new URL('./fake-graph/key.pem', import.meta.url));

/** Okta's EventHook object as the API returns it (authScheme.value is never returned). */
export type FakeEventHook = {
  id: string;
  name: string;
  status: 'ACTIVE' | 'INACTIVE';
  verificationStatus: 'UNVERIFIED' | 'VERIFIED';
  events: { type: 'EVENT_TYPE'; items: string[] };
  channel: {
    type: 'HTTP';
    version: string;
    config: { uri: string; method: 'POST'; headers: Array<{ key: string; value: string }>; authScheme?: { type: 'HEADER'; key: string } };
  };
  created: string;
  createdBy: string;
  lastUpdated: string;
  _links: Record<string, { href: string; hints?: { allow: string[] } }>;
};

export type OktaFault = {
  method?: string;
  /** Compared with the start of the request's path, e.g. `/api/v1/eventHooks/` or `/api/v1/eventHooks/who…/lifecycle/verify`. */
  pathPrefix: string;
  status: number;
  times: number;
  /** Matching requests let through before the fault starts (2nd page: `skip: 1`). */
  skip?: number;
  /** For a 429: seconds until X-Rate-Limit-Reset (default 1). */
  resetInSeconds?: number;
};

/** Okta's user statuses (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/). */
export type FakeUserStatus = 'ACTIVE' | 'PROVISIONED' | 'RECOVERY' | 'PASSWORD_EXPIRED' | 'LOCKED_OUT' | 'STAGED' | 'SUSPENDED' | 'DEPROVISIONED';
export type FakeUser = { status: FakeUserStatus; login?: string; email?: string };

export type OktaRequest = { method: string; path: string; authorized: boolean; query: string };
/** A System Log LogEvent as Okta returns it; only these fields are read by the fake. */
export type FakeLogEvent = { uuid: string; published: string; eventType: string } & Record<string, unknown>;
/** One verification GET the fake sent to a hook URI, and what came back. */
export type VerificationAttempt = { hookId: string; uri: string; status: number; ok: boolean; reason?: string };

export type FakeOkta = {
  /** https://127.0.0.1:<port>, the org URL. */
  readonly orgUrl: string;
  readonly hooks: Map<string, FakeEventHook>;
  readonly requests: OktaRequest[];
  readonly verifications: VerificationAttempt[];
  /** An API token this org accepts (`Authorization: SSWS <token>`). */
  addApiToken(token: string): void;
  failNext(fault: OktaFault): void;
  /** Rate-based faults on the API (not /_fake): the chaos run's. */
  readonly randomFaults: RandomFaults;
  /** The method and path of each authorized management call, in order: `POST /api/v1/eventHooks/who…/lifecycle/verify`. */
  calls(): string[];
  /** Appends a LogEvent to the System Log, stored now or at `storedAt` (a polling request's `since` compares with this). */
  addLogEvent(event: FakeLogEvent, storedAt?: Date): void;
  /** The System Log requests' full URLs (path and query), in order. */
  logRequests(): string[];
  /** The Okta groups (by name) user `userId` is in, as `GET /api/v1/users/{userId}/groups` lists them; a user never set is not found (404). */
  setUserGroups(userId: string, groupNames: string[]): void;
  /** The `GET /api/v1/users/{id}/groups` requests' full URLs (path and query), in order. */
  userGroupRequests(): string[];
  /** Adds an Okta group (type OKTA_GROUP) with this name and returns its id; names may repeat, as APP_GROUPs' do. */
  addGroup(name: string): string;
  /** Sets the members of a group (Okta user ids), in listing order. */
  setGroupMembers(groupId: string, userIds: string[]): void;
  /** Creates or changes a user; a member never set is listed as ACTIVE. */
  setUser(userId: string, user: FakeUser): void;
  /** Deletes a user: `GET /api/v1/users/{id}` is 404 and no group lists them any more. */
  deleteUser(userId: string): void;
  /** The requests on the groups and users paths (`/api/v1/groups…`, `GET /api/v1/users/{id}`), path and query, in order. */
  directoryRequests(): string[];
  /** Forgets hooks, tokens, faults, logs, users' groups, groups and users. */
  reset(): void;
  stop(): Promise<void>;
};

export async function startFakeOkta(): Promise<FakeOkta> {
  const fake = new FakeOktaServer();
  await fake.listen();
  return fake;
}

type Reply = { status: number; headers?: Record<string, string>; body?: unknown };

/** Okta waits 3 s for the verification answer and retries once. */
const VERIFICATION_TIMEOUT_MS = 3_000;
const VERIFICATION_ATTEMPTS = 2;
/** The documented limit on active event hooks per org. */
const MAX_ACTIVE_HOOKS = 25;
const RATE_LIMIT = 100;
/** The header names Okta refuses as custom headers or authScheme key (reserved). */
const RESERVED_HEADERS = new Set(['accept', 'content-type', 'content-length', 'host', 'user-agent', 'x-okta-verification-challenge']);


/** Okta ids: 20 characters; event hooks start with "who". */
const oktaId = (prefix: string) => `${prefix}${randomBytes(16).toString('base64url').replace(/[-_]/g, 'x').slice(0, 20 - prefix.length)}`;

/** Okta's error object (https://developer.okta.com/docs/reference/error-codes/). */
function oktaError(status: number, errorCode: string, errorSummary: string, causes: string[] = []): Reply {
  return {
    status,
    body: { errorCode, errorSummary, errorLink: errorCode, errorId: oktaId('oae'), errorCauses: causes.map((cause) => ({ errorSummary: cause })) },
  };
}

const notFound = (id: string) => oktaError(404, 'E0000007', `Not found: Resource not found: ${id} (EventHook)`);
const validationFailed = (causes: string[]) => oktaError(400, 'E0000001', 'Api validation failed: eventHook', causes);

/** `eventType eq "a" or eventType eq "b"` → {a, b}; no filter → undefined (every event). */
function parseEventTypeFilter(filter: string | null): Set<string> | undefined | 'invalid' {
  if (filter === null || filter.trim() === '') return undefined;
  const types = new Set<string>();
  for (const term of filter.split(/\s+or\s+/)) {
    const match = /^\(?\s*eventType\s+eq\s+"([^"]+)"\s*\)?$/.exec(term.trim());
    if (!match?.[1]) return 'invalid';
    types.add(match[1]);
  }
  return types;
}

/** Okta's `after` is opaque; here it is the log position, encoded so callers cannot treat it as a number. */
const encodeAfter = (position: number) => Buffer.from(`pos:${position}`).toString('base64url');
function decodeAfter(after: string): number {
  const match = /^pos:(\d+)$/.exec(Buffer.from(after, 'base64url').toString());
  return match?.[1] ? Number(match[1]) : -1;
}

const isLoopback = (url: URL) => url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';

class FakeOktaServer implements FakeOkta {
  orgUrl = '';
  readonly hooks = new Map<string, FakeEventHook>();
  readonly requests: OktaRequest[] = [];
  readonly verifications: VerificationAttempt[] = [];
  private readonly apiTokens = new Set<string>();
  /** authScheme.value per hook: Okta keeps it and never returns it. */
  private readonly hookSecrets = new Map<string, string>();
  private faults: OktaFault[] = [];
  readonly randomFaults = randomFaults(0);
  /** The System Log in storage order; `after` cursors are positions in it. */
  private readonly logEvents: Array<{ event: FakeLogEvent; storedAt: number }> = [];
  /** Group names per Okta user id (`GET /api/v1/users/{id}/groups`). */
  private readonly userGroups = new Map<string, string[]>();
  /** Okta group ids per group name, stable for the fake's life. */
  private readonly groupIds = new Map<string, string>();
  /** Groups added with addGroup, by id, each with its members' Okta user ids. */
  private readonly groups = new Map<string, { name: string; members: string[] }>();
  private readonly users = new Map<string, FakeUser>();
  private readonly deletedUsers = new Set<string>();
  private readonly server = createServer({ cert: readFileSync(FAKE_GRAPH_CERT_PATH), key: readFileSync(KEY_PATH) }, (request, response) => {
    void this.handle(request, response);
  });

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.orgUrl = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  addApiToken(token: string): void {
    this.apiTokens.add(token);
  }

  failNext(fault: OktaFault): void {
    this.faults.push({ ...fault });
  }

  addLogEvent(event: FakeLogEvent, storedAt = new Date()): void {
    this.logEvents.push({ event: structuredClone(event), storedAt: storedAt.getTime() });
  }

  setUserGroups(userId: string, groupNames: string[]): void {
    this.userGroups.set(userId, [...groupNames]);
  }

  addGroup(name: string): string {
    const id = oktaId('00g');
    this.groups.set(id, { name, members: [] });
    return id;
  }

  setGroupMembers(groupId: string, userIds: string[]): void {
    const group = this.groups.get(groupId);
    if (!group) throw new Error(`no group ${groupId} in the fake Okta`);
    group.members = [...userIds];
  }

  setUser(userId: string, user: FakeUser): void {
    this.users.set(userId, { ...user });
    this.deletedUsers.delete(userId);
  }

  deleteUser(userId: string): void {
    this.users.delete(userId);
    this.deletedUsers.add(userId);
  }

  directoryRequests(): string[] {
    return this.requests
      .filter((request) => request.path.startsWith('/api/v1/groups') || /^\/api\/v1\/users\/[^/]+$/.test(request.path))
      .map((request) => `${request.path}${request.query}`);
  }

  userGroupRequests(): string[] {
    return this.requests.filter((request) => /^\/api\/v1\/users\/[^/]+\/groups$/.test(request.path)).map((request) => `${request.path}${request.query}`);
  }

  logRequests(): string[] {
    return this.requests.filter((request) => request.path === '/api/v1/logs').map((request) => `${request.path}${request.query}`);
  }

  calls(): string[] {
    return this.requests.filter((request) => request.authorized).map((request) => `${request.method} ${request.path}`);
  }

  reset(): void {
    this.hooks.clear();
    this.hookSecrets.clear();
    this.apiTokens.clear();
    this.faults = [];
    this.logEvents.length = 0;
    this.userGroups.clear();
    this.groups.clear();
    this.users.clear();
    this.deletedUsers.clear();
    this.requests.length = 0;
    this.verifications.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.orgUrl);
    const method = request.method ?? 'GET';
    const body = await readBody(request).catch(() => '');
    const authorization = request.headers.authorization ?? '';
    const authorized = authorization.startsWith('SSWS ') && this.apiTokens.has(authorization.slice(5));
    let reply: Reply;
    if (url.pathname.startsWith('/_fake/')) {
      reply = method === 'GET' && url.pathname === '/_fake/faults' ? { status: 200, body: this.randomFaults.injected } : this.control(method, url.pathname, body);
      response.writeHead(reply.status, reply.body === undefined ? {} : { 'content-type': 'application/json' });
      response.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
      return;
    }
    this.requests.push({ method, path: url.pathname, authorized, query: url.search });
    try {
      reply = this.injectedFault(method, url.pathname) ?? this.randomFault(method, url.pathname) ?? (authorized ? await this.route(method, url, body) : oktaError(401, 'E0000011', 'Invalid token provided'));
    } catch {
      reply = oktaError(500, 'E0000009', 'Internal Server Error');
    }
    const resetAt = Math.ceil(Date.now() / 1000) + 60;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-okta-request-id': randomUUID().replaceAll('-', ''),
      'x-rate-limit-limit': String(RATE_LIMIT),
      'x-rate-limit-remaining': String(RATE_LIMIT - 1),
      'x-rate-limit-reset': String(resetAt),
      ...reply.headers,
    };
    if (reply.body === undefined) delete headers['content-type'];
    response.writeHead(reply.status, headers);
    response.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
  }

  /**
   * Changes from another process (`npm run demo -- poll` against `npm start`'s fake), as an Okta
   * administrator's actions would make them: POST /_fake/logs with a LogEvent appends it to the
   * System Log; PUT /_fake/users/{id} with `{status, login, email}` sets a user (e.g. DEPROVISIONED);
   * PUT /_fake/users/{id}/groups with an array of group names sets the user's groups.
   * Not part of Okta's API, and not counted in `requests`.
   */
  private control(method: string, path: string, body: string): Reply {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return { status: 400, body: { error: 'a JSON body is expected' } };
    }
    if (method === 'POST' && path === '/_fake/logs') {
      const event = value as Partial<FakeLogEvent> | null;
      if (typeof event?.uuid !== 'string' || typeof event.published !== 'string' || typeof event.eventType !== 'string') {
        return { status: 400, body: { error: 'a LogEvent needs uuid, published and eventType' } };
      }
      this.addLogEvent(event as FakeLogEvent);
      return { status: 204 };
    }
    const user = /^\/_fake\/users\/([^/]+)$/.exec(path);
    const status = (value as { status?: unknown } | null)?.status;
    if (method === 'PUT' && user && typeof status === 'string') {
      this.setUser(decodeURIComponent(user[1] ?? ''), value as FakeUser);
      return { status: 204 };
    }
    const userGroups = /^\/_fake\/users\/([^/]+)\/groups$/.exec(path);
    if (method === 'PUT' && userGroups && Array.isArray(value) && value.every((name) => typeof name === 'string')) {
      this.setUserGroups(decodeURIComponent(userGroups[1] ?? ''), value as string[]);
      return { status: 204 };
    }
    return { status: 404, body: { error: 'POST /_fake/logs, PUT /_fake/users/{id} or PUT /_fake/users/{id}/groups' } };
  }

  private randomFault(method: string, path: string): Reply | undefined {
    if (!path.startsWith('/api/v1/')) return undefined;
    const status = drawFault(this.randomFaults);
    if (status === undefined) return undefined;
    return this.injectedFault(method, path, { pathPrefix: path, status, times: 1, resetInSeconds: 1 });
  }

  private injectedFault(method: string, path: string, given?: OktaFault): Reply | undefined {
    const fault = given ?? this.faults.find((candidate) => (candidate.method ?? method) === method && path.startsWith(candidate.pathPrefix) && candidate.times > 0);
    if (!fault) return undefined;
    if ((fault.skip ?? 0) > 0) {
      fault.skip = (fault.skip ?? 0) - 1;
      return undefined;
    }
    fault.times -= 1;
    if (fault.status === 429) {
      // Okta's rate limit answer: the headers say when the window resets (epoch seconds).
      const reply = oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
      const reset = Math.ceil(Date.now() / 1000) + (fault.resetInSeconds ?? 1);
      return { ...reply, headers: { 'x-rate-limit-limit': String(RATE_LIMIT), 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(reset) } };
    }
    return oktaError(fault.status, 'E0000009', 'Internal Server Error');
  }

  private async route(method: string, url: URL, body: string): Promise<Reply> {
    const path = url.pathname;
    if (path === '/api/v1/logs') {
      if (method !== 'GET') return oktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
      return this.systemLog(url);
    }
    const userGroups = /^\/api\/v1\/users\/([^/]+)\/groups$/.exec(path);
    if (userGroups) {
      if (method !== 'GET') return oktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
      return this.groupsOfUser(decodeURIComponent(userGroups[1] ?? ''), url);
    }
    const directory = this.directoryRoute(method, url);
    if (directory) return directory;
    if (path === '/api/v1/eventHooks') {
      if (method === 'GET') return { status: 200, body: [...this.hooks.values()] };
      if (method === 'POST') return this.create(body);
      return oktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
    }
    const match = /^\/api\/v1\/eventHooks\/([^/]+)(?:\/lifecycle\/(verify|activate|deactivate))?$/.exec(path);
    if (!match) return oktaError(404, 'E0000007', `Not found: Resource not found: ${path} (Resource)`);
    const id = match[1] ?? '';
    const lifecycle = match[2];
    const hook = this.hooks.get(id);
    if (!hook) return notFound(id);
    if (lifecycle) {
      if (method !== 'POST') return oktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
      if (lifecycle === 'verify') return this.verify(hook);
      if (lifecycle === 'activate' && hook.status !== 'ACTIVE' && this.activeHooks() >= MAX_ACTIVE_HOOKS) {
        return validationFailed([`You can have at most ${MAX_ACTIVE_HOOKS} active event hooks.`]);
      }
      return { status: 200, body: this.change(hook, { status: lifecycle === 'activate' ? 'ACTIVE' : 'INACTIVE' }) };
    }
    if (method === 'GET') return { status: 200, body: hook };
    if (method === 'DELETE') {
      // "As a safety precaution, only event hooks with a status of INACTIVE are eligible for deletion."
      if (hook.status !== 'INACTIVE') return validationFailed(['Only INACTIVE event hooks can be deleted.']);
      this.hooks.delete(id);
      this.hookSecrets.delete(id);
      return { status: 204 };
    }
    return oktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
  }

  /**
   * One page of a polling request. The `after` cursor is the position of the last event the
   * query has passed (an empty page keeps it), so events stored later come on the next page.
   */
  private systemLog(url: URL): Reply {
    const query = url.searchParams;
    const invalid = (cause: string) => oktaError(400, 'E0000001', 'Api validation failed: systemLog', [cause]);
    if (query.has('since') && query.has('after')) return invalid('since and after cannot be used together.');
    if (query.has('until')) return invalid('this fake serves polling requests only (no until).');
    if ((query.get('sortOrder') ?? 'ASCENDING') !== 'ASCENDING') return invalid('this fake serves polling requests only (sortOrder=ASCENDING).');
    const limit = Number(query.get('limit') ?? '100');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return invalid('limit: must be between 1 and 1000.');
    const types = parseEventTypeFilter(query.get('filter'));
    if (types === 'invalid') return invalid('filter: only eventType eq "…" terms joined by or are supported here.');
    let start: number;
    if (query.has('after')) {
      start = decodeAfter(query.get('after') ?? '');
      if (start < 0 || start > this.logEvents.length) return invalid('after: not a cursor this org issued.');
    } else {
      const since = query.has('since') ? Date.parse(query.get('since') ?? '') : Date.now() - 7 * 86_400_000;
      if (Number.isNaN(since)) return invalid('since: not an ISO 8601 time.');
      const first = this.logEvents.findIndex((entry) => entry.storedAt >= since);
      start = first === -1 ? this.logEvents.length : first;
    }
    const page: FakeLogEvent[] = [];
    let position = start;
    while (position < this.logEvents.length && page.length < limit) {
      const { event } = this.logEvents[position] as { event: FakeLogEvent };
      position += 1;
      if (!types || types.has(event.eventType)) page.push(structuredClone(event));
    }
    const next = new URL('/api/v1/logs', this.orgUrl);
    for (const [name, value] of query) if (name !== 'since' && name !== 'after') next.searchParams.set(name, value);
    next.searchParams.set('after', encodeAfter(position));
    const self = new URL(`${url.pathname}${url.search}`, this.orgUrl);
    return { status: 200, headers: { link: `<${self.href}>; rel="self", <${next.href}>; rel="next"` }, body: page };
  }

  /**
   * `GET /api/v1/users/{id}/groups`: Okta's Group objects ({id, type, profile: {name,
   * description}}), `limit` per page (default 200 here) with `after` the next group's position and a
   * `Link: <…>; rel="next"` while more remain; an unknown user is 404 E0000007.
   */
  private groupsOfUser(userId: string, url: URL): Reply {
    const names = this.userGroups.get(userId);
    if (!names) return oktaError(404, 'E0000007', `Not found: Resource not found: ${userId} (User)`);
    const limit = Number(url.searchParams.get('limit') ?? '200');
    const start = Number(url.searchParams.get('after') ?? '0');
    if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(start) || start < 0) {
      return oktaError(400, 'E0000001', 'Api validation failed: limit or after', ['limit and after must be whole numbers.']);
    }
    const page = names.slice(start, start + limit).map((name) => {
      const id = this.groupIds.get(name) ?? oktaId('00g');
      this.groupIds.set(name, id);
      const type = name === 'Everyone' ? 'BUILT_IN' : 'OKTA_GROUP';
      return { id, created: '2026-01-01T00:00:00.000Z', lastUpdated: '2026-01-01T00:00:00.000Z', type, profile: { name, description: null }, _links: {} };
    });
    const self = new URL(`${url.pathname}${url.search}`, this.orgUrl);
    const links = [`<${self.href}>; rel="self"`];
    if (start + limit < names.length) {
      const next = new URL(url.pathname, this.orgUrl);
      next.searchParams.set('limit', String(limit));
      next.searchParams.set('after', String(start + limit));
      links.push(`<${next.href}>; rel="next"`);
    }
    return { status: 200, headers: { link: links.join(', ') }, body: page };
  }

  /** The groups and users paths reconciliation reads; undefined for any other path. */
  private directoryRoute(method: string, url: URL): Reply | undefined {
    const path = url.pathname;
    const groupUsers = /^\/api\/v1\/groups\/([^/]+)\/users$/.exec(path);
    const user = /^\/api\/v1\/users\/([^/]+)$/.exec(path);
    if (path !== '/api/v1/groups' && !groupUsers && !user) return undefined;
    if (method !== 'GET') return oktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
    if (path === '/api/v1/groups') return this.searchGroups(url);
    if (groupUsers) return this.membersOfGroup(decodeURIComponent(groupUsers[1] ?? ''), url);
    return this.userById(decodeURIComponent(user?.[1] ?? ''));
  }

  /** `search=profile.name eq "…"` only (what reconciliation sends); every matching group on one page. */
  private searchGroups(url: URL): Reply {
    const search = url.searchParams.get('search') ?? '';
    const match = /^profile\.name eq "((?:[^"\\]|\\.)*)"$/.exec(search);
    if (!match) return oktaError(400, 'E0000031', 'Invalid search criteria.', ['this fake answers search=profile.name eq "…" only.']);
    const name = (match[1] ?? '').replace(/\\(.)/g, '$1');
    const found = [...this.groups].filter(([, group]) => group.name === name).map(([id, group]) => this.groupObject(id, group.name));
    return { status: 200, body: found };
  }

  private groupObject(id: string, name: string) {
    const at = '2026-01-01T00:00:00.000Z';
    return {
      id,
      created: at,
      lastUpdated: at,
      lastMembershipUpdated: at,
      objectClass: ['okta:user_group'],
      type: 'OKTA_GROUP',
      profile: { name, description: null },
      _links: { users: { href: `${this.orgUrl}/api/v1/groups/${id}/users` } },
    };
  }

  private userObject(id: string) {
    const user = this.users.get(id) ?? { status: 'ACTIVE' as const };
    const login = user.login ?? `${id.toLowerCase()}@example.com`;
    const at = '2026-01-01T00:00:00.000Z';
    return {
      id,
      status: user.status,
      created: at,
      activated: user.status === 'STAGED' ? null : at,
      statusChanged: at,
      lastLogin: null,
      lastUpdated: at,
      passwordChanged: null,
      type: { id: 'oty00000000000000000' },
      profile: { login, email: user.email ?? login, firstName: 'Test', lastName: id, mobilePhone: null, secondEmail: null },
      credentials: { provider: { type: 'OKTA', name: 'OKTA' } },
      _links: { self: { href: `${this.orgUrl}/api/v1/users/${id}` } },
    };
  }

  /** `GET /api/v1/groups/{id}/users`: `limit` (1 to 1000, Okta's default 1000), `after` = the position to go on from. */
  private membersOfGroup(groupId: string, url: URL): Reply {
    const group = this.groups.get(groupId);
    if (!group) return oktaError(404, 'E0000007', `Not found: Resource not found: ${groupId} (UserGroup)`);
    const limit = Number(url.searchParams.get('limit') ?? '1000');
    const start = url.searchParams.has('after') ? decodeAfter(url.searchParams.get('after') ?? '') : 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000 || start < 0) {
      return oktaError(400, 'E0000001', 'Api validation failed: limit or after', ['limit must be 1 to 1000; after must be a cursor this org issued.']);
    }
    const members = group.members.filter((id) => !this.deletedUsers.has(id));
    const page = members.slice(start, start + limit).map((id) => this.userObject(id));
    const self = new URL(`${url.pathname}${url.search}`, this.orgUrl);
    const links = [`<${self.href}>; rel="self"`];
    if (start + limit < members.length) {
      const next = new URL(url.pathname, this.orgUrl);
      next.searchParams.set('limit', String(limit));
      next.searchParams.set('after', encodeAfter(start + limit));
      links.push(`<${next.href}>; rel="next"`);
    }
    return { status: 200, headers: { link: links.join(', ') }, body: page };
  }

  private userById(userId: string): Reply {
    const known = this.users.has(userId) || [...this.groups.values()].some((group) => group.members.includes(userId));
    if (!known || this.deletedUsers.has(userId)) return oktaError(404, 'E0000007', `Not found: Resource not found: ${userId} (User)`);
    return { status: 200, body: this.userObject(userId) };
  }

  private activeHooks(): number {
    return [...this.hooks.values()].filter((hook) => hook.status === 'ACTIVE').length;
  }

  private change(hook: FakeEventHook, changes: Partial<FakeEventHook>): FakeEventHook {
    Object.assign(hook, changes, { lastUpdated: new Date().toISOString() });
    return hook;
  }

  private create(body: string): Reply {
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(body);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      return oktaError(400, 'E0000003', 'The request body was not well-formed.');
    }
    const causes: string[] = [];
    const name = typeof input.name === 'string' ? input.name : '';
    if (name.length < 1 || name.length > 255) causes.push('name: The field must be between 1 and 255 characters.');
    if ([...this.hooks.values()].some((hook) => hook.name === name)) causes.push('name: An event hook with this name already exists.');
    const events = (input.events ?? {}) as { type?: unknown; items?: unknown };
    const items = Array.isArray(events.items) ? events.items.filter((item): item is string => typeof item === 'string') : [];
    if (events.type !== 'EVENT_TYPE') causes.push('events.type: The only supported type is EVENT_TYPE.');
    if (items.length === 0 || items.length > 300) causes.push('events.items: Subscribe to between 1 and 300 event types.');
    const channel = (input.channel ?? {}) as { type?: unknown; version?: unknown; config?: { uri?: unknown; headers?: unknown; authScheme?: { type?: unknown; key?: unknown; value?: unknown } } };
    if (channel.type !== 'HTTP') causes.push('channel.type: The only supported type is HTTP.');
    if (channel.version !== '1.0.0') causes.push('channel.version: The only supported version is 1.0.0.');
    const uri = typeof channel.config?.uri === 'string' ? channel.config.uri : '';
    if (!this.acceptableUri(uri)) causes.push('channel.config.uri: Must begin with https:// and be at most 1024 characters.');
    const headers = Array.isArray(channel.config?.headers) ? (channel.config.headers as Array<{ key?: unknown; value?: unknown }>) : [];
    const customHeaders = headers.flatMap((header) => (typeof header.key === 'string' && typeof header.value === 'string' ? [{ key: header.key, value: header.value }] : []));
    if (customHeaders.some((header) => RESERVED_HEADERS.has(header.key.toLowerCase()))) causes.push('channel.config.headers: A reserved header cannot be set.');
    const authScheme = channel.config?.authScheme;
    if (authScheme !== undefined) {
      if (authScheme.type !== 'HEADER') causes.push('channel.config.authScheme.type: The only supported type is HEADER.');
      if (typeof authScheme.key !== 'string' || authScheme.key === '' || RESERVED_HEADERS.has(authScheme.key.toLowerCase())) causes.push('channel.config.authScheme.key: A header name is required.');
      if (typeof authScheme.value !== 'string' || authScheme.value === '') causes.push('channel.config.authScheme.value: A value is required.');
    }
    if (causes.length > 0) return validationFailed(causes);
    const id = oktaId('who');
    const now = new Date().toISOString();
    const hook: FakeEventHook = {
      id,
      name,
      status: 'ACTIVE',
      verificationStatus: 'UNVERIFIED',
      events: { type: 'EVENT_TYPE', items },
      channel: {
        type: 'HTTP',
        version: '1.0.0',
        config: { uri, method: 'POST', headers: customHeaders, ...(authScheme ? { authScheme: { type: 'HEADER' as const, key: authScheme.key as string } } : {}) },
      },
      created: now,
      createdBy: oktaId('00u'),
      lastUpdated: now,
      _links: this.links(id),
    };
    this.hooks.set(id, hook);
    if (authScheme) this.hookSecrets.set(id, authScheme.value as string);
    return { status: 200, body: hook };
  }

  private links(id: string): FakeEventHook['_links'] {
    const self = `${this.orgUrl}/api/v1/eventHooks/${id}`;
    return {
      self: { href: self, hints: { allow: ['GET', 'PUT', 'DELETE'] } },
      verify: { href: `${self}/lifecycle/verify`, hints: { allow: ['POST'] } },
      deactivate: { href: `${self}/lifecycle/deactivate`, hints: { allow: ['POST'] } },
    };
  }

  /** Okta requires https; this fake also lets tests use plain http on loopback. */
  private acceptableUri(uri: string): boolean {
    if (uri.length === 0 || uri.length > 1024) return false;
    try {
      const url = new URL(uri);
      return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url));
    } catch {
      return false;
    }
  }

  /**
   * The one-time verification: GET the hook's URI with a fresh challenge, the auth header and the
   * custom headers; the endpoint must answer 200 with JSON {"verification": <challenge>}.
   */
  private async verify(hook: FakeEventHook): Promise<Reply> {
    const challenge = randomBytes(24).toString('base64url');
    const headers: Record<string, string> = { accept: 'application/json', 'x-okta-verification-challenge': challenge };
    for (const header of hook.channel.config.headers) headers[header.key] = header.value;
    const secret = this.hookSecrets.get(hook.id);
    if (hook.channel.config.authScheme && secret !== undefined) headers[hook.channel.config.authScheme.key] = secret;
    let lastReason = '';
    for (let attempt = 0; attempt < VERIFICATION_ATTEMPTS; attempt += 1) {
      const outcome = await this.verificationAttempt(hook, headers, challenge);
      this.verifications.push(outcome);
      if (outcome.ok) return { status: 200, body: this.change(hook, { verificationStatus: 'VERIFIED' }) };
      lastReason = outcome.reason ?? '';
    }
    return validationFailed([`Event hook verification failed: ${lastReason}`]);
  }

  private async verificationAttempt(hook: FakeEventHook, headers: Record<string, string>, challenge: string): Promise<VerificationAttempt> {
    const uri = hook.channel.config.uri;
    try {
      const answer = await fetch(uri, { method: 'GET', headers, signal: AbortSignal.timeout(VERIFICATION_TIMEOUT_MS) });
      const text = await answer.text();
      if (answer.status !== 200) return { hookId: hook.id, uri, status: answer.status, ok: false, reason: `the endpoint answered ${answer.status}` };
      let verification: unknown;
      try {
        verification = (JSON.parse(text) as { verification?: unknown }).verification;
      } catch {
        return { hookId: hook.id, uri, status: 200, ok: false, reason: 'the answer is not JSON' };
      }
      if (verification !== challenge) return { hookId: hook.id, uri, status: 200, ok: false, reason: 'the answer does not carry the verification value' };
      return { hookId: hook.id, uri, status: 200, ok: true };
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      return { hookId: hook.id, uri, status: 0, ok: false, reason: timedOut ? 'the endpoint did not answer within 3 seconds' : 'the endpoint could not be reached' };
    }
  }
}
