/** GET/POST /hooks/okta/{connectionId}: Okta's one-time verification and event hook deliveries. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { cachedConnectionLookup, getConnection } from '../shared/store/connections.js';
import { answerVerification, authenticateOktaRequest, receiveOktaDelivery } from '../shared/app/receive-okta-hook.js';
import { MethodNotAllowedError } from '../shared/http/errors.js';
import { httpErrors, jsonResponse } from '../shared/http/http-errors.js';
import { headerValue, parseJson, rawBody } from '../shared/http/request.js';
import { publishCount } from '../shared/metrics.js';

const settings = config();
const lookupConnection = cachedConnectionLookup(settings.configCacheMs);
// Okta's one-time verification GET comes right after a connection is created (the admin API
// registers the hook at once): read it fresh, never from a cached miss. It is rare, so it costs nothing.
const freshConnection = (connectionId: string) => getConnection(connectionId, { consistent: true });

async function oktaHook(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext.http.method;
  if (method !== 'GET' && method !== 'POST') throw new MethodNotAllowedError(method);
  const bytes = rawBody(event, settings.maxWebhookBodyBytes);
  const header = (name: string) => headerValue(event, name);
  const connection = await authenticateOktaRequest(event.pathParameters?.connectionId, header, method === 'GET' ? freshConnection : lookupConnection);
  logger.appendKeys({ connectionId: connection.connectionId });

  if (method === 'GET') {
    logger.info('okta hook verified');
    return jsonResponse(200, answerVerification(header));
  }

  const receipt = await receiveOktaDelivery({
    connection,
    payload: parseJson(bytes),
    actedOnTypes: settings.oktaEventTypes,
    receivedAt: new Date(),
    retentionDays: settings.inboxRetentionDays,
  });
  logger.setCorrelationId(receipt.deliveryId);
  logger.info('okta delivery stored', { ...receipt });
  publishCount(connection.connectionId, 'EventsReceived', receipt.stored);
  // Okta wants an empty 200 or 204, and only after the events are durably stored (rule 1).
  return { statusCode: 200, body: '' };
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors())
  .handler(oktaHook);
