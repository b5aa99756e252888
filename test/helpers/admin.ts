/** Requests to the admin API as API Gateway (HTTP API, payload 2.0) hands them to admin-api, and its answers read back. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handler } from '../../functions/admin-api.js';
import { lambdaContext } from '../../scripts/lib/local-stream.js';
import { registerSecret, registerSecretHeaders, registerSecretsIn } from './log-scan.js';

export type AdminRequest = { token?: string | null; query?: string; body?: unknown; headers?: Record<string, string> };

export function adminApiEvent(method: string, path: string, options: AdminRequest = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'ANY /admin/{proxy+}',
    rawPath: path,
    rawQueryString: options.query ?? '',
    ...(options.query ? { queryStringParameters: Object.fromEntries(new URLSearchParams(options.query)) } : {}),
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    pathParameters: { proxy: path.replace(/^\/admin\//, '') },
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.10', userAgent: 'sso-sync tests' },
      requestId: crypto.randomUUID(),
      routeKey: 'ANY /admin/{proxy+}',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  };
}

export type AdminAnswer = { status: number; body: Record<string, unknown>; headers: Record<string, string | number | boolean> };

/** Calls the real handler (import this after the admin pool's environment is set). */
export async function callAdminApi(method: string, path: string, options: AdminRequest = {}): Promise<AdminAnswer> {
  registerSecret(options.token);
  registerSecretHeaders(options.headers);
  registerSecretsIn(options.body);
  const result = (await handler(adminApiEvent(method, path, options), lambdaContext('admin-api'))) as APIGatewayProxyStructuredResultV2;
  const body = JSON.parse(result.body || '{}') as Record<string, unknown>;
  registerSecretsIn(body);
  return { status: result.statusCode ?? 0, body, headers: result.headers ?? {} };
}
