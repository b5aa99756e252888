import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handler as oktaHook } from '../../functions/okta-hook.js';
import { lambdaContext } from '../../scripts/lib/local-stream.js';
import { httpApiEvent } from './fixtures.js';
import { registerSecretHeaders } from './log-scan.js';

/** POSTs a delivery through the real handler, authenticated the way Okta does it. */
export async function postToOktaHook(
  connectionId: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<APIGatewayProxyStructuredResultV2> {
  registerSecretHeaders(headers);
  const event = httpApiEvent({
    method: 'POST',
    connectionId,
    headers: { accept: 'application/json', 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return (await oktaHook(event, lambdaContext('okta-hook'))) as APIGatewayProxyStructuredResultV2;
}

export async function getOktaHook(
  connectionId: string,
  headers: Record<string, string>,
): Promise<APIGatewayProxyStructuredResultV2> {
  registerSecretHeaders(headers);
  const event = httpApiEvent({ method: 'GET', connectionId, headers });
  return (await oktaHook(event, lambdaContext('okta-hook'))) as APIGatewayProxyStructuredResultV2;
}

export type OktaHookServer = {
  /** http://127.0.0.1:<port>: the hooks base URL; Okta's calls go to <url>/hooks/okta/<connectionId>. */
  readonly url: string;
  /** What reached the handler: method, path and headers (lower-case names). */
  readonly received: Array<{ method: string; path: string; headers: Record<string, string> }>;
  stop(): Promise<void>;
};

/**
 * A loopback HTTP server in front of the real okta-hook handler: each request becomes the API
 * Gateway (HTTP API, payload v2) event that Lambda would get, and the handler's answer goes back
 * as it is. The fake Okta's verification GET then reaches the same code as in AWS.
 */
export async function startOktaHookServer(): Promise<OktaHookServer> {
  const received: OktaHookServer['received'] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const url = new URL(request.url ?? '/', 'http://127.0.0.1');
        const match = /^\/hooks\/okta\/([^/]+)$/.exec(url.pathname);
        const method = request.method ?? 'GET';
        const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]));
        received.push({ method, path: url.pathname, headers });
        registerSecretHeaders(headers);
        if (!match || (method !== 'GET' && method !== 'POST')) {
          response.writeHead(404).end();
          return;
        }
        const body = Buffer.concat(chunks).toString('utf8');
        const event = httpApiEvent({ method, connectionId: decodeURIComponent(match[1] ?? ''), headers, ...(body ? { body } : {}) });
        const answer = (await oktaHook(event, lambdaContext('okta-hook'))) as APIGatewayProxyStructuredResultV2;
        response.writeHead(answer.statusCode ?? 200, answer.headers as Record<string, string> | undefined).end(answer.body ?? '');
      })().catch(() => response.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
