import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { FakeGraph } from '../../scripts/lib/fake-graph.js';
import { ENTRA_A_CLIENT_ID, ENTRA_A_TENANT } from './stack.js';
import { graphAppSecret } from './secrets.js';
import { handler as graphHook, lifecycleHandler } from '../../functions/graph-hook.js';
import { lambdaContext } from '../../scripts/lib/local-stream.js';
import { fixture, httpApiEvent } from './fixtures.js';
import { registerSecretsIn } from './log-scan.js';

export type GraphNotification = {
  changeType: string;
  clientState?: string;
  resource: string;
  resourceData: { id: string; organizationId?: string; 'members@delta'?: { id: string; '@removed'?: unknown }[]; [field: string]: unknown };
  subscriptionId: string;
  tenantId: string;
  [field: string]: unknown;
};

export type LifecycleNotification = { subscriptionId: string; clientState?: string; tenantId: string; lifecycleEvent: string; [field: string]: unknown };

type GraphFixture<T> = { body: { value: T[] }; query: Record<string, string>; rawQueryString?: string };

/** The first notification of a fixture, to vary per test. */
export function graphNotification(name: string, changes: Partial<GraphNotification> = {}): GraphNotification {
  const first = fixture<GraphFixture<GraphNotification>>(name).body.value[0];
  if (!first) throw new Error(`${name} has no notification`);
  return { ...structuredClone(first), ...changes };
}

export function lifecycleNotification(name: string, changes: Partial<LifecycleNotification> = {}): LifecycleNotification {
  const first = fixture<GraphFixture<LifecycleNotification>>(name).body.value[0];
  if (!first) throw new Error(`${name} has no notification`);
  return { ...structuredClone(first), ...changes };
}

/** The same notification about another user or group object id. */
export function about(notification: GraphNotification, objectId: string): GraphNotification {
  const [collection] = notification.resource.split('/');
  return {
    ...notification,
    resource: `${collection}/${objectId}`,
    resourceData: { ...notification.resourceData, id: objectId, '@odata.id': `${collection}/${objectId}` },
  };
}

/** POSTs to the change (or lifecycle) route through the real handler, as API Gateway passes it on. */
export async function postToGraphHook(
  connectionId: string,
  body: unknown,
  options: { lifecycle?: boolean; rawQueryString?: string; headers?: Record<string, string> } = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  registerSecretsIn(typeof body === 'string' ? parsedOrNothing(body) : body);
  const event = httpApiEvent({
    method: 'POST',
    connectionId,
    route: options.lifecycle ? '/hooks/graph/{connectionId}/lifecycle' : '/hooks/graph/{connectionId}',
    headers: options.headers ?? { 'content-type': 'application/json; charset=utf-8' },
    rawQueryString: options.rawQueryString,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const handler = options.lifecycle ? lifecycleHandler : graphHook;
  return (await handler(event, lambdaContext(options.lifecycle ? 'graph-lifecycle' : 'graph-hook'))) as APIGatewayProxyStructuredResultV2;
}

function parsedOrNothing(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export { graphAppSecret } from './secrets.js';

/** What entra-a's Graph app secret is created as in moto (another test file may have made it first). */
const ENTRA_A_CLIENT_SECRET = 'test-entra-a-graph-client-secret';

/**
 * The fake Graph as entra-a's Graph: its app registered with the secret moto holds, again after
 * each test's reset; the fake stops after the file. `eachTest` sets Graph's side for each test.
 */
export function useFakeGraphForEntraA(fake: FakeGraph, eachTest: () => void = () => undefined): void {
  let clientSecret = ENTRA_A_CLIENT_SECRET;
  const fresh = () => {
    fake.reset();
    fake.registerApp(ENTRA_A_TENANT, ENTRA_A_CLIENT_ID, clientSecret);
    eachTest();
  };
  beforeAll(async () => {
    clientSecret = await graphAppSecret('sso-sync/test/entra-a', ENTRA_A_CLIENT_SECRET);
  });
  beforeEach(fresh);
  afterAll(() => fake.stop());
}

/** The real graph-hook served over loopback HTTP, as API Gateway passes requests on: Graph's validation handshake reaches it. */
export type GraphHookServer = { baseUrl: string; calls: { path: string; validation: boolean; status: number }[]; close(): Promise<void> };

export async function startGraphHookServer(): Promise<GraphHookServer> {
  const { createServer } = await import('node:http');
  const calls: GraphHookServer['calls'] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const match = /^\/hooks\/graph\/([^/]+)(\/lifecycle)?$/.exec(url.pathname);
      if (!match?.[1]) return response.writeHead(404).end();
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const headers = Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => (typeof value === 'string' ? [[name, value]] : [])));
      const result = await postToGraphHook(decodeURIComponent(match[1]), Buffer.concat(chunks).toString('utf8'), { lifecycle: match[2] !== undefined, rawQueryString: url.search.slice(1), headers });
      const status = result.statusCode ?? 200;
      calls.push({ path: url.pathname, validation: url.searchParams.has('validationToken'), status });
      response.writeHead(status, (result.headers ?? {}) as Record<string, string>).end(result.body ?? '');
    })().catch((error: unknown) => response.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}`, calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
