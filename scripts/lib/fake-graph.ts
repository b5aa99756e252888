/**
 * A fake Microsoft Graph (v1.0) and Microsoft identity platform login for tests, over HTTPS on
 * 127.0.0.1 with the test certificate in ./fake-graph/ (@azure/identity refuses a plain-http
 * authority). It answers the calls shared/idp/graph.ts makes with Graph's documented payloads:
 * client-credentials tokens, users, the group members delta query, subscriptions with the
 * notification URL validation handshake, and Graph's error body. Faults (429/5xx with Retry-After)
 * can be injected per path.
 *
 * The process that calls it must trust the certificate from start-up: NODE_EXTRA_CA_CERTS is
 * read once when Node starts (see assertProcessTrustsFakeGraph).
 */
import { drawFault, randomFaults, type RandomFaults } from './fake-fault-rate.js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { readBody } from './read-body.js';

export const FAKE_GRAPH_CERT_PATH = fileURLToPath(new URL('./fake-graph/cert.pem', import.meta.url));
const KEY_PATH = fileURLToPath(new URL('./fake-graph/key.pem', import.meta.url));

export type FakeUser = {
  id: string;
  mail: string | null;
  userPrincipalName: string;
  accountEnabled: boolean;
  displayName?: string | null;
};

/** Graph's subscription resource, as GET /subscriptions/{id} returns it. */
export type FakeSubscription = {
  id: string;
  resource: string;
  changeType: string;
  clientState: string | null;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  expirationDateTime: string;
  applicationId: string;
  creatorId: string;
  includeResourceData: boolean;
  latestSupportedTlsVersion: string;
  encryptionCertificate: string | null;
  encryptionCertificateId: string | null;
  notificationQueryOptions: string | null;
  notificationUrlAppId: string | null;
};

export type FakeFault = {
  method?: string;
  /** Compared with the start of the request's path and query as sent, e.g. `/v1.0/groups/delta?$skiptoken`. */
  pathPrefix: string;
  status: number;
  retryAfterSeconds?: number;
  times: number;
  /** Graph error code in the body; by default the one Graph uses for the status. */
  code?: string;
  /** Wait this long before answering (a slow or hung Graph). */
  delayMs?: number;
};

export type RecordedRequest = { method: string; path: string; query: Record<string, string> };
export type TokenRequest = { tenantId: string; clientId: string; clientSecret: string; scope: string; granted: boolean };

export type FakeGraphOptions = {
  /** Members per delta page; small values force several pages. */
  memberPageSize?: number;
  /** Do the notification URL validation handshake on POST /subscriptions, as Graph does. */
  validateNotificationUrls?: boolean;
};

export type FakeGraph = {
  /** https://127.0.0.1:<port>/v1.0 */
  readonly baseUrl: string;
  /** https://127.0.0.1:<port>, for ClientSecretCredential's authorityHost. */
  readonly authorityHost: string;
  memberPageSize: number;
  validateNotificationUrls: boolean;
  readonly subscriptions: Map<string, FakeSubscription>;
  readonly requests: RecordedRequest[];
  readonly tokenRequests: TokenRequest[];
  /** Once a tenant has an app, only that app and secret get tokens for it; other tenants accept anything. */
  registerApp(tenantId: string, clientId: string, secret: string): void;
  setUser(user: FakeUser): void;
  /** The user then answers 404, as a soft-deleted user does. */
  deleteUser(id: string): void;
  /** Direct members: user ids, or the ids of nested groups (whose members checkMemberGroups counts too). */
  setGroupMembers(groupId: string, memberIds: string[]): void;
  failNext(fault: FakeFault): void;
  /** Rate-based faults on the API (not /_fake, not tokens): the chaos run's. */
  readonly randomFaults: RandomFaults;
  /** Every deltaLink issued so far answers 410 Gone, syncStateNotFound (Graph's answer to an expired link). */
  expireDeltaLinks(): void;
  /** A subscription Graph already holds (made before the test), with Graph's defaults for what is not given. */
  holdSubscription(given: Pick<FakeSubscription, 'id' | 'resource' | 'notificationUrl'> & Partial<FakeSubscription>): FakeSubscription;
  /** Forgets apps, users, groups, subscriptions, faults and logs. Issued tokens stay valid. */
  reset(): void;
  stop(): Promise<void>;
};

export class FakeGraphNotTrustedError extends Error {
  override name = 'FakeGraphNotTrustedError';
  constructor() {
    super(
      'NODE_EXTRA_CA_CERTS must name the fake Graph certificate when Node starts (it is read once, at start-up), e.g. ' +
        `NODE_EXTRA_CA_CERTS=${FAKE_GRAPH_CERT_PATH} npx vitest run …`,
    );
  }
}

/** Throws unless this process trusts the fake's certificate; call it before talking to the fake. */
export function assertProcessTrustsFakeGraph(): void {
  const extraCerts = process.env.NODE_EXTRA_CA_CERTS;
  const certificate = readFileSync(FAKE_GRAPH_CERT_PATH, 'utf8').trim();
  let trusted = false;
  try {
    trusted = extraCerts !== undefined && readFileSync(extraCerts, 'utf8').includes(certificate);
  } catch {
    trusted = false;
  }
  if (!trusted) throw new FakeGraphNotTrustedError();
}

export async function startFakeGraph(options: FakeGraphOptions = {}): Promise<FakeGraph> {
  const fake = new FakeGraphServer(options);
  await fake.listen();
  return fake;
}

// --- HTTP plumbing ---------------------------------------------------------------------------

type Reply = { status: number; headers?: Record<string, string>; body?: unknown };

const ODATA_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
/** Graph waits 10 s for the validation answer. */
const VALIDATION_TIMEOUT_MS = 10_000;
/** user, group and other directory resources (the subscription resource page); Outlook resources 4230. */
const MAX_DIRECTORY_SUBSCRIPTION_MINUTES = 41_760;
const MAX_OTHER_SUBSCRIPTION_MINUTES = 4_230;
const MAX_CLIENT_STATE_LENGTH = 128;

/** The properties GET /users/{id} returns without $select (accountEnabled is not one of them). */
const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];
const KNOWN_USER_PROPERTIES = new Set([...DEFAULT_USER_PROPERTIES, 'accountEnabled']);

/** The code Graph puts in the body for an injected status. */
function defaultErrorCode(status: number): string {
  if (status === 429) return 'TooManyRequests';
  if (status >= 502 && status <= 504) return 'serviceNotAvailable';
  return 'generalException';
}

/** Graph's innerError.date: seconds precision, no zone letter. */
const graphDate = () => new Date().toISOString().slice(0, 19);


function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isLoopback = (url: URL) => url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';

// --- the fake ----------------------------------------------------------------------------------

/** What a delta round saw, for the deltaLink it ends with to answer what changed since. */
/** users: each user's change count when the link was issued (Graph reports an object changed since, with its state now). */
type DeltaSnapshot = { resource: 'users'; versions: Map<string, number> } | { resource: 'groups'; members: Map<string, string[] | undefined>; select: string[] | undefined };
type DeltaSession = { pages: Array<Array<Record<string, unknown>>>; context: string; resource?: 'users' | 'groups'; snapshot?: DeltaSnapshot };
type IssuedToken = { tenantId: string; clientId: string };
type RequestContext = { requestId: string; clientRequestId: string };

class FakeGraphServer implements FakeGraph {
  baseUrl = '';
  authorityHost = '';
  memberPageSize: number;
  validateNotificationUrls: boolean;
  readonly subscriptions = new Map<string, FakeSubscription>();
  readonly requests: RecordedRequest[] = [];
  readonly tokenRequests: TokenRequest[] = [];

  private readonly apps = new Map<string, Map<string, string>>();
  private readonly users = new Map<string, FakeUser>();
  /** How often each user was set: a delta link reports the users changed since it was issued. */
  private readonly userVersions = new Map<string, number>();
  private readonly groups = new Map<string, string[]>();
  private readonly faults: FakeFault[] = [];
  readonly randomFaults = randomFaults(0);
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly deltaSessions = new Map<string, DeltaSession>();
  private readonly expiredDeltaTokens = new Set<string>();
  /** The service principal that "creates" subscriptions. */
  private readonly creatorId = randomUUID();
  private readonly server = createServer({ cert: readFileSync(FAKE_GRAPH_CERT_PATH), key: readFileSync(KEY_PATH) }, (request, response) => {
    this.handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`fake Graph failed: ${String(error)}`);
    });
  });

  constructor(options: FakeGraphOptions) {
    this.memberPageSize = options.memberPageSize ?? 100;
    this.validateNotificationUrls = options.validateNotificationUrls ?? true;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        const { port } = this.server.address() as AddressInfo;
        this.authorityHost = `https://127.0.0.1:${port}`;
        this.baseUrl = `${this.authorityHost}/v1.0`;
        resolve();
      });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  registerApp(tenantId: string, clientId: string, secret: string): void {
    const apps = this.apps.get(tenantId) ?? new Map<string, string>();
    apps.set(clientId, secret);
    this.apps.set(tenantId, apps);
  }

  setUser(user: FakeUser): void {
    const id = user.id.toLowerCase();
    this.users.set(id, { ...user });
    this.userVersions.set(id, (this.userVersions.get(id) ?? 0) + 1);
  }

  deleteUser(id: string): void {
    this.users.delete(id.toLowerCase());
  }

  setGroupMembers(groupId: string, userIds: string[]): void {
    this.groups.set(groupId.toLowerCase(), [...userIds]);
  }

  failNext(fault: FakeFault): void {
    this.faults.push({ ...fault });
  }

  expireDeltaLinks(): void {
    for (const token of this.deltaSessions.keys()) this.expiredDeltaTokens.add(token);
  }

  reset(): void {
    this.expiredDeltaTokens.clear();
    this.apps.clear();
    this.users.clear();
    this.userVersions.clear();
    this.groups.clear();
    this.subscriptions.clear();
    this.faults.length = 0;
    this.requests.length = 0;
    this.tokenRequests.length = 0;
    this.deltaSessions.clear();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const rawPath = request.url ?? '/';
    const url = new URL(rawPath, this.authorityHost);
    const body = await readBody(request);
    const clientRequestId = request.headers['client-request-id'];
    const context = {
      requestId: randomUUID(),
      clientRequestId: typeof clientRequestId === 'string' ? clientRequestId : randomUUID(),
    };
    this.requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams) });

    if (method === 'GET' && url.pathname === '/_fake/faults') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.randomFaults.injected));
      return;
    }
    const randomStatus = url.pathname.startsWith('/v1.0/') ? drawFault(this.randomFaults) : undefined;
    const fault = randomStatus ? { pathPrefix: url.pathname, status: randomStatus, times: 1, retryAfterSeconds: 1 } : this.takeFault(method, rawPath);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    const reply = fault
      ? this.graphError(context, fault.status, fault.code ?? defaultErrorCode(fault.status), 'Injected fault.', retryAfter(fault))
      : await this.route(method, url, body, request.headers, context);

    const headers: Record<string, string> = { 'request-id': context.requestId, 'client-request-id': context.clientRequestId, ...reply.headers };
    if (reply.body === undefined) {
      response.writeHead(reply.status, headers).end();
    } else if (typeof reply.body === 'string') {
      response.writeHead(reply.status, { 'content-type': 'text/plain', ...headers }).end(reply.body);
    } else {
      response.writeHead(reply.status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(reply.body));
    }
  }

  private takeFault(method: string, rawPath: string): FakeFault | undefined {
    const fault = this.faults.find(
      (candidate) => candidate.times > 0 && rawPath.startsWith(candidate.pathPrefix) && (!candidate.method || candidate.method === method),
    );
    if (fault) fault.times -= 1;
    return fault;
  }

  private async route(method: string, url: URL, body: string, headers: IncomingHttpHeaders, context: RequestContext): Promise<Reply> {
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0] === '_fake') return this.control(method, segments.slice(1), body);
    if (segments[0] === 'v1.0') {
      const caller = this.authenticate(headers);
      if (!caller) return this.unauthenticated(context, headers.authorization === undefined);
      return this.routeGraph(method, segments.slice(1), url.searchParams, body, caller, context);
    }
    const [tenantId, ...rest] = segments;
    const endpoint = rest.join('/');
    if (tenantId && method === 'GET' && endpoint === 'v2.0/.well-known/openid-configuration') return this.openIdConfiguration(tenantId);
    if (tenantId && method === 'POST' && endpoint === 'oauth2/v2.0/token') return this.issueToken(tenantId, body);
    return { status: 404, body: 'not found' };
  }

  /**
   * Changes from another process (`npm run demo` against `npm start`'s fake): PUT /_fake/users/{id}
   * with a user's fields, DELETE /_fake/users/{id}, DELETE and PUT /_fake/groups/{id}/members/{userId}
   * (a member taken out of the group, or put back). Not part of Graph.
   */
  private control(method: string, segments: string[], body: string): Reply {
    const [collection, id, sub, memberId] = segments;
    if (collection === 'groups' && id && sub === 'members' && memberId && (method === 'DELETE' || method === 'PUT')) {
      const others = (this.groups.get(id.toLowerCase()) ?? []).filter((member) => member.toLowerCase() !== memberId.toLowerCase());
      this.setGroupMembers(id, method === 'PUT' ? [...others, memberId] : others);
      return { status: 204 };
    }
    if (collection !== 'users' || !id) return { status: 404, body: 'not found' };
    if (method === 'DELETE') {
      this.deleteUser(id);
      return { status: 204 };
    }
    const fields = parseJson(body);
    if (method !== 'PUT' || !fields) return { status: 400, body: 'PUT a JSON user, or DELETE' };
    const text = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string) : null);
    this.setUser({ id, mail: text('mail'), userPrincipalName: text('userPrincipalName') ?? id, accountEnabled: fields.accountEnabled !== false });
    return { status: 204 };
  }

  private routeGraph(
    method: string,
    segments: string[],
    query: URLSearchParams,
    body: string,
    caller: IssuedToken,
    context: RequestContext,
  ): Promise<Reply> | Reply {
    const [collection, id, action] = segments;
    if (collection === 'users' && (id === 'delta' || id === 'microsoft.graph.delta') && !action && method === 'GET') return this.usersDelta(query, context);
    if (collection === 'users' && id && !action && method === 'GET') return this.getUser(id, query, context);
    if (collection === 'users' && id && action === 'checkMemberGroups' && method === 'POST') return this.checkMemberGroups(id, body, context);
    if (collection === 'groups' && (id === 'delta' || id === 'microsoft.graph.delta') && !action && method === 'GET') {
      return this.groupsDelta(query, context);
    }
    if (collection === 'subscriptions') {
      if (!id && method === 'POST') return this.createSubscription(body, caller, context);
      if (id && !action && method === 'GET') return this.withSubscription(id, context, (found) => this.subscriptionReply(200, found, true));
      if (id && !action && method === 'PATCH') return this.withSubscription(id, context, (found) => this.renewSubscription(found, body, context));
      if (id && !action && method === 'DELETE') return this.withSubscription(id, context, () => this.deleteSubscription(id));
      if (id && action === 'reauthorize' && method === 'POST') return this.withSubscription(id, context, () => ({ status: 204 }));
    }
    return this.graphError(context, 400, 'BadRequest', `Resource not found for the segment '${segments.join('/')}'.`);
  }

  // --- login ---

  private openIdConfiguration(tenantId: string): Reply {
    const base = `${this.authorityHost}/${tenantId}`;
    return {
      status: 200,
      body: {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${base}/v2.0`,
        request_uri_parameter_supported: false,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
      },
    };
  }

  private issueToken(tenantId: string, body: string): Reply {
    const form = new URLSearchParams(body);
    const clientId = form.get('client_id') ?? '';
    const clientSecret = form.get('client_secret') ?? '';
    const scope = form.get('scope') ?? '';
    const refusal = this.refuseClient(tenantId, clientId, clientSecret, form.get('grant_type'));
    this.tokenRequests.push({ tenantId, clientId, clientSecret, scope, granted: !refusal });
    if (refusal) return refusal;
    const accessToken = `fake-graph-token-${randomUUID()}`;
    this.tokens.set(accessToken, { tenantId, clientId });
    return {
      status: 200,
      headers: { 'cache-control': 'no-store, no-cache' },
      body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken },
    };
  }

  /** Errors shaped like the identity platform's (error, error_description with an AADSTS code). */
  private refuseClient(tenantId: string, clientId: string, clientSecret: string, grantType: string | null): Reply | undefined {
    const oauthError = (status: number, error: string, aadsts: number, description: string): Reply => ({
      status,
      body: {
        error,
        error_description: `AADSTS${aadsts}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
        error_codes: [aadsts],
        timestamp: new Date().toISOString(),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
        error_uri: `${this.authorityHost}/error?code=${aadsts}`,
      },
    });
    if (grantType !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    const apps = this.apps.get(tenantId);
    if (!apps) return undefined;
    const expectedSecret = apps.get(clientId);
    if (expectedSecret === undefined) {
      return oauthError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenantId}'.`);
    }
    if (expectedSecret !== clientSecret) {
      return oauthError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
      );
    }
    return undefined;
  }

  private authenticate(headers: IncomingHttpHeaders): IssuedToken | undefined {
    const match = /^Bearer (.+)$/.exec(headers.authorization ?? '');
    return match?.[1] ? this.tokens.get(match[1]) : undefined;
  }

  private unauthenticated(context: RequestContext, missing: boolean): Reply {
    const reply = this.graphError(
      context,
      401,
      'InvalidAuthenticationToken',
      missing ? 'Access token is empty.' : 'Access token validation failure. Invalid audience.',
    );
    return { ...reply, headers: { ...reply.headers, 'www-authenticate': 'Bearer realm="", error="invalid_token"' } };
  }

  // --- Graph resources ---

  private graphError(context: RequestContext, status: number, code: string, message: string, headers?: Record<string, string>): Reply {
    return {
      status,
      headers,
      body: {
        error: {
          code,
          message,
          innerError: { date: graphDate(), 'request-id': context.requestId, 'client-request-id': context.clientRequestId },
        },
      },
    };
  }

  private getUser(idOrPrincipalName: string, query: URLSearchParams, context: RequestContext): Reply {
    const key = idOrPrincipalName.toLowerCase();
    const user = this.users.get(key) ?? [...this.users.values()].find((candidate) => candidate.userPrincipalName.toLowerCase() === key);
    if (!user) {
      return this.graphError(
        context,
        404,
        'Request_ResourceNotFound',
        `Resource '${idOrPrincipalName}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    const select = query.get('$select');
    const properties = select ? select.split(',').map((name) => name.trim()) : DEFAULT_USER_PROPERTIES;
    const unknown = properties.find((name) => !KNOWN_USER_PROPERTIES.has(name));
    if (unknown) return this.graphError(context, 400, 'BadRequest', `Could not find a property named '${unknown}' on type 'microsoft.graph.user'.`);
    const stored: Record<string, unknown> = { ...user, businessPhones: [] };
    const entity = Object.fromEntries(properties.map((name) => [name, stored[name] ?? null]));
    const odataContext = `${this.baseUrl}/$metadata#users${select ? `(${properties.join(',')})` : ''}/$entity`;
    return { status: 200, headers: { 'content-type': ODATA_JSON }, body: { '@odata.context': odataContext, ...entity } };
  }

  /**
   * POST /users/{id}/checkMemberGroups: which of up to 20 group ids the user is a member of
   * (https://learn.microsoft.com/graph/api/directoryobject-checkmembergroups). Graph answers
   * transitively: a group's members may be groups (setGroupMembers with a group's id), whose
   * members count too, at any depth.
   */
  private checkMemberGroups(userId: string, body: string, context: RequestContext): Reply {
    if (!this.users.has(userId.toLowerCase())) {
      return this.graphError(context, 404, 'Request_ResourceNotFound', `Resource '${userId}' does not exist or one of its queried reference-property objects are not present.`);
    }
    let groupIds: unknown;
    try {
      groupIds = (JSON.parse(body) as { groupIds?: unknown }).groupIds;
    } catch {
      groupIds = undefined;
    }
    if (!Array.isArray(groupIds) || groupIds.length === 0 || groupIds.length > 20 || !groupIds.every((id) => typeof id === 'string')) {
      return this.graphError(context, 400, 'Request_BadRequest', 'groupIds must list 1 to 20 group ids.');
    }
    const value = (groupIds as string[]).filter((groupId) => this.transitiveMemberIds(groupId).has(userId.toLowerCase()));
    return { status: 200, headers: { 'content-type': ODATA_JSON }, body: { '@odata.context': `${this.baseUrl}/$metadata#Collection(Edm.String)`, value } };
  }

  /** Every member of a group, nested groups expanded (each group once, so a cycle ends). */
  private transitiveMemberIds(groupId: string, seen = new Set<string>()): Set<string> {
    const members = new Set<string>();
    if (seen.has(groupId.toLowerCase())) return members;
    seen.add(groupId.toLowerCase());
    for (const id of this.groups.get(groupId.toLowerCase()) ?? []) {
      members.add(id.toLowerCase());
      if (this.groups.has(id.toLowerCase())) for (const nested of this.transitiveMemberIds(id, seen)) members.add(nested);
    }
    return members;
  }

  /**
   * The group members delta query. A snapshot is taken on the first request; each group's members
   * are split over pages of memberPageSize, the group object repeated on each page, and the last
   * page carries the deltaLink (https://learn.microsoft.com/graph/delta-query-groups). A deltaLink
   * request answers what changed since its round: members removed (`@removed`) or added, a group
   * gone (`@removed`, reason deleted); none is one empty page. An expired link answers 410.
   */
  private groupsDelta(query: URLSearchParams, context: RequestContext): Reply {
    const skipToken = query.get('$skiptoken');
    const deltaToken = query.get('$deltatoken');
    if (deltaToken !== null) return this.changesSince(deltaToken, 'groups', context);
    if (skipToken !== null) return this.nextDeltaPage(skipToken, context);
    const filter = query.get('$filter') ?? '';
    const groupIds = [...filter.matchAll(/id eq '([^']+)'/g)].map((match) => match[1] ?? '');
    if (groupIds.length === 0) return this.graphError(context, 400, 'BadRequest', 'This fake answers only $filter=id eq \'{id}\'.');
    const select = query.get('$select')?.split(',').map((name) => name.trim());
    const withMembers = !select || select.includes('members') || query.get('$expand') === 'members';
    const session: DeltaSession = {
      pages: [],
      context: `${this.baseUrl}/$metadata#groups${select ? `(${select.join(',')})` : ''}`,
      resource: 'groups',
      snapshot: { resource: 'groups', select, members: new Map(groupIds.map((groupId) => [groupId.toLowerCase(), this.groups.get(groupId.toLowerCase())?.slice()])) },
    };
    for (const groupId of groupIds) {
      const members = this.groups.get(groupId.toLowerCase());
      if (!members) continue;
      // A group without members comes without members@delta (same documentation page).
      if (!withMembers || members.length === 0) session.pages.push([{ id: groupId }]);
      for (let start = 0; withMembers && start < members.length; start += this.memberPageSize) {
        // Direct members only, each with its type: a nested group is listed as a group, not expanded.
        const page = members
          .slice(start, start + this.memberPageSize)
          .map((id) => ({ '@odata.type': this.groups.has(id.toLowerCase()) ? '#microsoft.graph.group' : '#microsoft.graph.user', id }));
        session.pages.push([{ id: groupId, 'members@delta': page }]);
      }
    }
    return this.startDeltaSession(session);
  }

  /**
   * The users delta query with $select=id,accountEnabled: every user on pages of memberPageSize;
   * from a deltaLink, the users deleted since (`@removed`, reason changed: soft-deleted) and those
   * whose accountEnabled changed or who are new.
   */
  private usersDelta(query: URLSearchParams, context: RequestContext): Reply {
    const skipToken = query.get('$skiptoken');
    const deltaToken = query.get('$deltatoken');
    if (deltaToken !== null) return this.changesSince(deltaToken, 'users', context);
    if (skipToken !== null) return this.nextDeltaPage(skipToken, context);
    const users = [...this.users.values()].map((user) => ({ id: user.id, accountEnabled: user.accountEnabled }));
    const session: DeltaSession = { pages: [], context: `${this.baseUrl}/$metadata#users`, resource: 'users', snapshot: this.usersSnapshot() };
    for (let start = 0; start < users.length; start += this.memberPageSize) session.pages.push(users.slice(start, start + this.memberPageSize));
    return this.startDeltaSession(session);
  }

  private usersSnapshot(): DeltaSnapshot {
    return { resource: 'users', versions: new Map([...this.users.keys()].map((id) => [id, this.userVersions.get(id) ?? 0])) };
  }

  private changesSince(deltaToken: string, resource: 'users' | 'groups', context: RequestContext): Reply {
    if (this.expiredDeltaTokens.has(deltaToken)) return this.graphError(context, 410, 'syncStateNotFound', 'The sync state is not found or has expired.');
    const previous = this.deltaSessions.get(deltaToken);
    if (!previous?.snapshot || previous.snapshot.resource !== resource) return this.graphError(context, 400, 'BadRequest', 'Invalid delta token.');
    const changes: Array<Record<string, unknown>> = [];
    let snapshot: DeltaSnapshot;
    if (previous.snapshot.resource === 'users') {
      snapshot = this.usersSnapshot();
      // Any change since counts, even one undone before this round: Graph lists the object with its state now.
      for (const [id, version] of previous.snapshot.versions) {
        if (!this.users.has(id)) changes.push({ id, '@removed': { reason: 'changed' } });
        else if (this.userVersions.get(id) !== version) changes.push({ id, accountEnabled: this.users.get(id)?.accountEnabled });
      }
      for (const user of this.users.values()) {
        if (!previous.snapshot.versions.has(user.id.toLowerCase())) changes.push({ id: user.id, accountEnabled: user.accountEnabled });
      }
    } else {
      const members = new Map<string, string[] | undefined>();
      for (const [groupId, before] of previous.snapshot.members) {
        const now = this.groups.get(groupId)?.slice();
        members.set(groupId, now);
        if (before && !now) {
          changes.push({ id: groupId, '@removed': { reason: 'deleted' } });
          continue;
        }
        const was = new Set((before ?? []).map((id) => id.toLowerCase()));
        const is = new Set((now ?? []).map((id) => id.toLowerCase()));
        const type = (id: string) => (this.groups.has(id) ? '#microsoft.graph.group' : '#microsoft.graph.user');
        const delta = [
          ...[...was].filter((id) => !is.has(id)).map((id) => ({ '@odata.type': type(id), id, '@removed': { reason: 'deleted' } })),
          ...[...is].filter((id) => !was.has(id)).map((id) => ({ '@odata.type': type(id), id })),
        ];
        if (delta.length > 0) changes.push({ id: groupId, 'members@delta': delta });
      }
      snapshot = { resource: 'groups', select: previous.snapshot.select, members };
    }
    const session: DeltaSession = { pages: [], context: previous.context, resource, snapshot };
    for (let start = 0; start < changes.length; start += this.memberPageSize) session.pages.push(changes.slice(start, start + this.memberPageSize));
    return this.startDeltaSession(session);
  }

  private nextDeltaPage(skipToken: string, context: RequestContext): Reply {
    const [sessionId = '', index = ''] = skipToken.split('.');
    const session = this.deltaSessions.get(sessionId);
    if (!session || !session.pages[Number(index)]) return this.graphError(context, 400, 'BadRequest', 'Invalid skip token.');
    return this.deltaPage(session, sessionId, Number(index));
  }

  private startDeltaSession(session: DeltaSession): Reply {
    if (session.pages.length === 0) session.pages.push([]);
    const sessionId = randomUUID().replaceAll('-', '');
    this.deltaSessions.set(sessionId, session);
    return this.deltaPage(session, sessionId, 0);
  }

  private deltaPage(session: DeltaSession, sessionId: string, index: number): Reply {
    const last = index === session.pages.length - 1;
    const resource = session.resource ?? 'groups';
    const link = last
      ? { '@odata.deltaLink': `${this.baseUrl}/${resource}/delta?$deltatoken=${sessionId}` }
      : { '@odata.nextLink': `${this.baseUrl}/${resource}/delta?$skiptoken=${sessionId}.${index + 1}` };
    return {
      status: 200,
      headers: { 'content-type': ODATA_JSON },
      body: { '@odata.context': index === 0 ? session.context : `${this.baseUrl}/$metadata#${resource}`, ...link, value: session.pages[index] },
    };
  }

  private withSubscription(id: string, context: RequestContext, then: (found: FakeSubscription) => Promise<Reply> | Reply): Promise<Reply> | Reply {
    const found = this.subscriptions.get(id);
    // The answer Graph gives for an unknown or expired subscription id.
    return found ? then(found) : this.graphError(context, 404, 'ResourceNotFound', 'The object was not found.');
  }

  private subscriptionReply(status: number, subscription: FakeSubscription, withContext: boolean): Reply {
    const context = withContext ? { '@odata.context': `${this.baseUrl}/$metadata#subscriptions/$entity` } : {};
    return { status, headers: { 'content-type': ODATA_JSON }, body: { ...context, ...subscription } };
  }

  private async createSubscription(body: string, caller: IssuedToken, context: RequestContext): Promise<Reply> {
    const input = parseJson(body);
    if (!input) return this.graphError(context, 400, 'InvalidRequest', 'The request body is not a JSON object.');
    const text = (name: string) => (typeof input[name] === 'string' ? (input[name] as string) : undefined);
    for (const required of ['changeType', 'notificationUrl', 'resource', 'expirationDateTime']) {
      if (!text(required)) return this.graphError(context, 400, 'InvalidRequest', `${required} is a required property for subscription creation.`);
    }
    const resource = text('resource') ?? '';
    const expirationProblem = this.expirationProblem(resource, text('expirationDateTime') ?? '');
    if (expirationProblem) return this.graphError(context, 400, 'ExtensionError', expirationProblem);
    const clientState = text('clientState') ?? null;
    if (clientState && clientState.length > MAX_CLIENT_STATE_LENGTH) {
      return this.graphError(context, 400, 'InvalidRequest', `clientState can be at most ${MAX_CLIENT_STATE_LENGTH} characters.`);
    }
    const notificationUrls = [text('notificationUrl'), text('lifecycleNotificationUrl')].filter((url): url is string => url !== undefined);
    for (const notificationUrl of notificationUrls) {
      const problem = urlProblem(notificationUrl);
      if (problem) return this.graphError(context, 400, 'InvalidRequest', problem);
    }
    if (this.validateNotificationUrls) {
      for (const notificationUrl of notificationUrls) {
        const failure = await validateNotificationUrl(notificationUrl);
        if (failure) return this.graphError(context, 400, failure.code, failure.message);
      }
    }
    const subscription = this.holdSubscription({
      id: randomUUID(),
      resource,
      changeType: text('changeType') ?? '',
      clientState,
      notificationUrl: text('notificationUrl') ?? '',
      lifecycleNotificationUrl: text('lifecycleNotificationUrl') ?? null,
      expirationDateTime: text('expirationDateTime') ?? '',
      applicationId: caller.clientId,
      includeResourceData: input.includeResourceData === true,
      latestSupportedTlsVersion: text('latestSupportedTlsVersion') ?? 'v1_2',
      encryptionCertificate: text('encryptionCertificate') ?? null,
      encryptionCertificateId: text('encryptionCertificateId') ?? null,
      notificationUrlAppId: text('notificationUrlAppId') ?? null,
    });
    return this.subscriptionReply(201, subscription, true);
  }

  holdSubscription(given: Pick<FakeSubscription, 'id' | 'resource' | 'notificationUrl'> & Partial<FakeSubscription>): FakeSubscription {
    const subscription: FakeSubscription = {
      changeType: 'updated,deleted',
      clientState: null,
      lifecycleNotificationUrl: null,
      expirationDateTime: new Date(Date.now() + 86_400_000).toISOString(),
      applicationId: randomUUID(),
      creatorId: this.creatorId,
      includeResourceData: false,
      latestSupportedTlsVersion: 'v1_2',
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationQueryOptions: null,
      notificationUrlAppId: null,
      ...given,
    };
    this.subscriptions.set(subscription.id, subscription);
    return subscription;
  }

  private deleteSubscription(id: string): Reply {
    this.subscriptions.delete(id);
    return { status: 204 };
  }

  private renewSubscription(subscription: FakeSubscription, body: string, context: RequestContext): Reply {
    const expirationDateTime = parseJson(body)?.expirationDateTime;
    if (typeof expirationDateTime !== 'string') return this.graphError(context, 400, 'InvalidRequest', 'expirationDateTime is required.');
    const problem = this.expirationProblem(subscription.resource, expirationDateTime);
    if (problem) return this.graphError(context, 400, 'ExtensionError', problem);
    subscription.expirationDateTime = expirationDateTime;
    return this.subscriptionReply(200, subscription, false);
  }

  private expirationProblem(resource: string, expirationDateTime: string): string | undefined {
    const expiresAt = Date.parse(expirationDateTime);
    if (Number.isNaN(expiresAt)) return 'expirationDateTime is not a valid date and time.';
    if (expiresAt <= Date.now()) return 'Subscription expiration must be in the future.';
    const directory = /^\/?(users|groups)\b/i.test(resource);
    const maxMinutes = directory ? MAX_DIRECTORY_SUBSCRIPTION_MINUTES : MAX_OTHER_SUBSCRIPTION_MINUTES;
    if (expiresAt - Date.now() > maxMinutes * 60_000) return `Subscription expiration can only be ${maxMinutes} minutes in the future.`;
    return undefined;
  }
}

function retryAfter(fault: FakeFault): Record<string, string> | undefined {
  return fault.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(fault.retryAfterSeconds) };
}

/** Graph requires https; this fake also lets tests use plain http on loopback. */
function urlProblem(notificationUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(notificationUrl);
  } catch {
    return `'${notificationUrl}' is not a valid URL.`;
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url))) return undefined;
  return 'The Uri scheme must be https.';
}

/**
 * The handshake Graph does before creating a subscription: POST ?validationToken=… with an empty
 * text/plain body; the endpoint must answer 200 text/plain with the decoded token within 10 s.
 * https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#notificationurl-validation
 */
async function validateNotificationUrl(notificationUrl: string): Promise<{ code: string; message: string } | undefined> {
  const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
  const url = new URL(notificationUrl);
  url.searchParams.append('validationToken', token);
  let answer: Response;
  try {
    answer = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: '',
      signal: AbortSignal.timeout(VALIDATION_TIMEOUT_MS),
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') return { code: 'InvalidRequest', message: 'Subscription validation request timed out.' };
    return { code: 'ValidationError', message: 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.' };
  }
  const text = await answer.text();
  if (answer.status !== 200) {
    return { code: 'ValidationError', message: 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.' };
  }
  if (!(answer.headers.get('content-type') ?? '').toLowerCase().startsWith('text/plain')) {
    return { code: 'ValidationError', message: 'Subscription validation request failed. Response must be text/plain.' };
  }
  if (text !== token) {
    return { code: 'ValidationError', message: 'Subscription validation request failed. Response must exactly match validationToken query parameter.' };
  }
  return undefined;
}
