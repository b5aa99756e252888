import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handler as oktaHook } from '../../functions/okta-hook.js';
import { lambdaContext } from '../../scripts/lib/local-stream.js';
import { httpApiEvent } from './fixtures.js';

/** POSTs a delivery through the real handler, authenticated the way Okta does it. */
export async function postToOktaHook(
  connectionId: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<APIGatewayProxyStructuredResultV2> {
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
  const event = httpApiEvent({ method: 'GET', connectionId, headers });
  return (await oktaHook(event, lambdaContext('okta-hook'))) as APIGatewayProxyStructuredResultV2;
}
