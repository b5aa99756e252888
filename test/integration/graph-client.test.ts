/**
 * The Graph client (shared/idp/graph.ts) against the fake Graph and login server over HTTPS:
 * real tokens from ClientSecretCredential, Graph's payloads and error bodies, retries on
 * injected 429/503, and the subscription validation handshake against a local endpoint.
 *
 * Needs NODE_EXTRA_CA_CERTS=$PWD/scripts/lib/fake-graph/cert.pem when vitest starts.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertProcessTrustsFakeGraph, startFakeGraph, type FakeGraph, type FakeUser } from '../../scripts/lib/fake-graph.js';
import { graphDirectory, GraphRequestError, type GraphDirectory, type NewSubscription } from '../../shared/idp/graph.js';
import { fixture } from '../helpers/fixtures.js';

const TENANT_ID = '00000000-0000-4000-8000-00000000e001';
const CLIENT_ID = '00000000-0000-4000-8000-00000000c001';
const CLIENT_SECRET = 'fake-graph-client-secret-value';
const GROUP_ID = '00000000-0000-4000-8000-0000000a0001';

type GraphAnswerFixture = { status: number; headers: Record<string, string>; body: Record<string, unknown> };
const recordedUser = fixture<GraphAnswerFixture>('graph-user.json');
const recordedNotFound = fixture<GraphAnswerFixture>('graph-user-404.json');
const { '@odata.context': _context, ...recordedUserProperties } = recordedUser.body;
const fixtureUser = recordedUserProperties as FakeUser;

let fake: FakeGraph;

function directory(options: { clientSecret?: string; maxRetries?: number; callTimeoutMs?: number } = {}): GraphDirectory {
  return graphDirectory(
    { tenantId: TENANT_ID, clientId: CLIENT_ID, clientSecret: options.clientSecret ?? CLIENT_SECRET },
    { baseUrl: fake.baseUrl, authorityHost: fake.authorityHost },
    { maxRetries: options.maxRetries, callTimeoutMs: options.callTimeoutMs },
  );
}

async function caught(promise: Promise<unknown>): Promise<GraphRequestError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(GraphRequestError);
  return error as GraphRequestError;
}

const graphCalls = (pathPrefix: string) => fake.requests.filter((request) => request.path.startsWith(pathPrefix));
const userIds = (count: number) => Array.from({ length: count }, (_, index) => `00000000-0000-4000-8000-0000000d${String(2000 + index)}`);

beforeAll(async () => {
  assertProcessTrustsFakeGraph();
  fake = await startFakeGraph();
});

afterAll(async () => {
  await fake?.stop();
});

beforeEach(() => {
  fake.reset();
  fake.memberPageSize = 100;
  fake.validateNotificationUrls = true;
  fake.registerApp(TENANT_ID, CLIENT_ID, CLIENT_SECRET);
});

describe('tokens', () => {
  it('asks the tenant for an app-only Graph token with the registered client id and secret, and sends it to Graph', async () => {
    fake.setUser(fixtureUser);
    expect(await directory().getUser(fixtureUser.id)).toBeDefined();
    expect(fake.tokenRequests).toEqual([
      { tenantId: TENANT_ID, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, scope: 'https://graph.microsoft.com/.default', granted: true },
    ]);
  });

  it('a wrong secret fails with invalid_client, names the call, never reaches Graph and never shows the secret', async () => {
    const wrongSecret = 'not-the-registered-secret';
    const error = await caught(directory({ clientSecret: wrongSecret }).getUser(fixtureUser.id));
    expect(error.status).toBe(0);
    expect(error.code).toBe('invalid_client');
    expect(error.message).toBe('Graph GET /users/{id} failed: no access token, invalid_client');
    expect(error.message).not.toContain(wrongSecret);
    expect(graphCalls('/v1.0/')).toEqual([]);
  });
});

describe('getUser', () => {
  it('returns the selected properties of an existing user', async () => {
    fake.setUser(fixtureUser);
    expect(await directory().getUser(fixtureUser.id)).toEqual({
      id: fixtureUser.id,
      accountEnabled: true,
      mail: 'sam.lee@example.com',
      userPrincipalName: 'sam.lee@example.com',
    });
    expect(graphCalls('/v1.0/users/')[0]?.query).toEqual({ $select: 'id,mail,userPrincipalName,accountEnabled' });
  });

  it('keeps a null mail and a disabled account as Graph reports them', async () => {
    fake.setUser({ ...fixtureUser, mail: null, accountEnabled: false });
    expect(await directory().getUser(fixtureUser.id)).toMatchObject({ mail: null, accountEnabled: false });
  });

  it('returns undefined for a deleted user (Graph answers 404)', async () => {
    fake.setUser(fixtureUser);
    fake.deleteUser(fixtureUser.id);
    expect(await directory().getUser(fixtureUser.id)).toBeUndefined();
    expect(await directory().getUser('00000000-0000-4000-8000-0000000dffff')).toBeUndefined();
  });
});

describe('groupMemberIds', () => {
  it('follows every nextLink to the deltaLink and merges the members spread over the pages', async () => {
    const members = userIds(7);
    fake.setGroupMembers(GROUP_ID, members);
    fake.memberPageSize = 2;
    expect(await directory().groupMemberIds(GROUP_ID)).toEqual(new Set(members));
    const pages = graphCalls('/v1.0/groups/delta');
    expect(pages).toHaveLength(4);
    expect(pages[0]?.query).toEqual({ $filter: `id eq '${GROUP_ID}'`, $select: 'members' });
    expect(pages.slice(1).every((page) => page.query.$skiptoken !== undefined)).toBe(true);
  });

  it('returns an empty set for a group without members', async () => {
    fake.setGroupMembers(GROUP_ID, []);
    expect(await directory().groupMemberIds(GROUP_ID)).toEqual(new Set());
  });

  it('throws for a group that is in no page, rather than reporting it empty', async () => {
    const error = await caught(directory().groupMemberIds(GROUP_ID));
    expect(error.status).toBe(404);
  });

  it('throws when a later page fails (500 is not retried)', async () => {
    fake.setGroupMembers(GROUP_ID, userIds(6));
    fake.memberPageSize = 2;
    fake.failNext({ pathPrefix: '/v1.0/groups/delta?$skiptoken', status: 500, times: 1 });
    const error = await caught(directory().groupMemberIds(GROUP_ID));
    expect(error.status).toBe(500);
    expect(error.code).toBe('generalException');
    expect(error.message).toMatch(/^Graph GET \/groups\/delta failed: status 500, generalException \(request-id [0-9a-f-]+\)$/);
    expect(graphCalls('/v1.0/groups/delta')).toHaveLength(2);
  });
});

describe('retries', () => {
  beforeEach(() => {
    fake.setUser(fixtureUser);
  });

  it('waits for Retry-After on 429, then succeeds', async () => {
    fake.failNext({ pathPrefix: '/v1.0/users/', status: 429, retryAfterSeconds: 1, times: 1 });
    const graph = directory();
    const started = performance.now();
    expect(await graph.getUser(fixtureUser.id)).toBeDefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    expect(graphCalls('/v1.0/users/')).toHaveLength(2);
  });

  it('retries 503 without Retry-After after a back-off', async () => {
    fake.failNext({ pathPrefix: '/v1.0/users/', status: 503, times: 1 });
    expect(await directory().getUser(fixtureUser.id)).toBeDefined();
    expect(graphCalls('/v1.0/users/')).toHaveLength(2);
  });

  it('gives up after maxRetries with a GraphRequestError carrying the last status', async () => {
    fake.failNext({ pathPrefix: '/v1.0/users/', status: 503, retryAfterSeconds: 0, times: 10 });
    const error = await caught(directory({ maxRetries: 2 }).getUser(fixtureUser.id));
    expect(error.status).toBe(503);
    expect(error.code).toBe('serviceNotAvailable');
    expect(graphCalls('/v1.0/users/')).toHaveLength(3);
  });

  it('gives up on a call Graph does not answer within its time budget', async () => {
    fake.failNext({ pathPrefix: '/v1.0/users/', status: 200, delayMs: 3_000, times: 1 });
    const graph = directory({ callTimeoutMs: 500 });
    const started = performance.now();
    const error = await caught(graph.getUser(fixtureUser.id));
    expect(error.status).toBe(0);
    expect(performance.now() - started).toBeLessThan(2_500);
  });

  it('fails at once when Retry-After asks for a longer wait than one invocation should spend', async () => {
    fake.failNext({ pathPrefix: '/v1.0/users/', status: 429, retryAfterSeconds: 120, times: 1 });
    const started = performance.now();
    const error = await caught(directory().getUser(fixtureUser.id));
    expect(error.status).toBe(429);
    expect(error.code).toBe('TooManyRequests');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(graphCalls('/v1.0/users/')).toHaveLength(1);
  });
});

/** A notification endpoint on loopback that answers Graph's validation like graph-hook does (or not). */
type NotificationEndpoint = { url: string; validations: { path: string; token: string | null; headers: IncomingHttpHeaders }[]; echo: boolean };

describe('subscriptions', () => {
  let endpoint: NotificationEndpoint;
  let server: Server;

  beforeAll(async () => {
    endpoint = { url: '', validations: [], echo: true };
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const token = url.searchParams.get('validationToken');
      endpoint.validations.push({ path: url.pathname, token, headers: request.headers });
      request.resume();
      if (endpoint.echo && token !== null) response.writeHead(200, { 'content-type': 'text/plain' }).end(token);
      else response.writeHead(202).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    endpoint.validations = [];
    endpoint.echo = true;
  });

  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const newSubscription = (): NewSubscription => ({
    resource: `groups/${GROUP_ID}`,
    changeType: 'updated,deleted',
    notificationUrl: `${endpoint.url}/hooks/graph/entra-a`,
    lifecycleNotificationUrl: `${endpoint.url}/hooks/graph/entra-a/lifecycle`,
    clientState: 'client-state-of-entra-a',
    expirationDateTime: inDays(2),
  });

  it('creates a subscription after Graph validated both URLs with a text/plain POST', async () => {
    const input = newSubscription();
    const created = await directory().createSubscription(input);
    expect(created).toEqual({ id: expect.any(String), ...input });
    expect(fake.subscriptions.get(created.id)).toMatchObject({ applicationId: CLIENT_ID, clientState: input.clientState });
    expect(endpoint.validations.map((validation) => validation.path)).toEqual(['/hooks/graph/entra-a', '/hooks/graph/entra-a/lifecycle']);
    for (const validation of endpoint.validations) {
      expect(validation.token).toMatch(/^Validation: Testing client application reachability for subscription Request-Id: /);
      expect(validation.headers['content-type']).toBe('text/plain; charset=utf-8');
    }
  });

  it('fails with 400 ValidationError and creates nothing when the endpoint does not echo the token', async () => {
    endpoint.echo = false;
    const error = await caught(directory().createSubscription(newSubscription()));
    expect(error.status).toBe(400);
    expect(error.code).toBe('ValidationError');
    expect(fake.subscriptions.size).toBe(0);
  });

  it('renews, reauthorizes and deletes a subscription', async () => {
    const graph = directory();
    const created = await graph.createSubscription(newSubscription());
    const later = inDays(20);
    expect(await graph.renewSubscription(created.id, later)).toEqual({ ...created, expirationDateTime: later });
    expect(fake.subscriptions.get(created.id)?.expirationDateTime).toBe(later);
    expect(await graph.reauthorizeSubscription(created.id)).toBe(true);
    await graph.deleteSubscription(created.id);
    expect(fake.subscriptions.has(created.id)).toBe(false);
  });

  it('reports a subscription Graph no longer has: renew undefined, reauthorize false, delete fine', async () => {
    const graph = directory();
    const gone = '00000000-0000-4000-8000-00000000dead';
    expect(await graph.renewSubscription(gone, inDays(1))).toBeUndefined();
    expect(await graph.reauthorizeSubscription(gone)).toBe(false);
    await expect(graph.deleteSubscription(gone)).resolves.toBeUndefined();
  });

  it('passes on Graph refusing a renewal beyond the 41,760-minute limit', async () => {
    fake.validateNotificationUrls = false;
    const graph = directory();
    const created = await graph.createSubscription(newSubscription());
    const error = await caught(graph.renewSubscription(created.id, inDays(30)));
    expect(error.status).toBe(400);
    expect(endpoint.validations).toEqual([]);
  });
});

describe('the fake answers like the recorded Graph answers', () => {
  async function fakeToken(): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      scope: 'https://graph.microsoft.com/.default',
    });
    const answer = await fetch(`${fake.authorityHost}/${TENANT_ID}/oauth2/v2.0/token`, { method: 'POST', body: form });
    return ((await answer.json()) as { access_token: string }).access_token;
  }

  it('GET /users/{id}?$select=… as in graph-user.json, then 404 as in graph-user-404.json', async () => {
    fake.setUser(fixtureUser);
    const url = `${fake.baseUrl}/users/${fixtureUser.id}?$select=id,mail,userPrincipalName,accountEnabled`;
    const headers = { authorization: `Bearer ${await fakeToken()}` };

    const found = await fetch(url, { headers });
    expect(found.status).toBe(recordedUser.status);
    expect(found.headers.get('content-type')).toBe(recordedUser.headers['content-type']);
    expect(await found.json()).toEqual({ ...recordedUser.body, '@odata.context': expect.stringMatching(/\/v1\.0\/\$metadata#users\(id,mail,userPrincipalName,accountEnabled\)\/\$entity$/) });

    fake.deleteUser(fixtureUser.id);
    const missing = await fetch(url, { headers });
    expect(missing.status).toBe(recordedNotFound.status);
    const body = (await missing.json()) as { error: Record<string, unknown> };
    const recordedError = recordedNotFound.body.error as Record<string, unknown>;
    expect(Object.keys(body.error)).toEqual(Object.keys(recordedError));
    expect(body.error.code).toBe(recordedError.code);
    expect(body.error.message).toBe(recordedError.message);
  });

  it('refuses a Graph call without a token it issued', async () => {
    const answer = await fetch(`${fake.baseUrl}/users/${fixtureUser.id}`);
    expect(answer.status).toBe(401);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('InvalidAuthenticationToken');
  });
});
