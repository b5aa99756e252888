/**
 * POST /hooks/graph/{connectionId} (change notifications) and
 * POST /hooks/graph/{connectionId}/lifecycle (lifecycle notifications): Graph's validation
 * handshake and deliveries. Two functions in serverless.yml, one handler shape.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { config } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { cached } from '../shared/store/cache.js';
import { getConnectionWithSubscriptions } from '../shared/store/connections.js';
import { findEntraConnection, receiveGraphDelivery, validationAnswer, type GraphConnectionLookup } from '../shared/app/receive-graph-hook.js';
import type { NotificationKind } from '../shared/domain/graph-notifications.js';
import { MethodNotAllowedError } from '../shared/http/errors.js';
import { httpErrors } from '../shared/http/http-errors.js';
import { parseJson, queryValue, rawBody } from '../shared/http/request.js';
import { publishCount } from '../shared/metrics.js';

const settings = config();
const FRESH_READ_INTERVAL_MS = 5_000;
const lookup: GraphConnectionLookup = {
  cached: cached(settings.configCacheMs, getConnectionWithSubscriptions),
  fresh: cached(FRESH_READ_INTERVAL_MS, getConnectionWithSubscriptions),
};

function graphHook(kind: NotificationKind) {
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = event.requestContext.http.method;
    if (method !== 'POST') throw new MethodNotAllowedError(method);
    const bytes = rawBody(event, settings.maxWebhookBodyBytes);
    const connection = await findEntraConnection(event.pathParameters?.connectionId, lookup);
    logger.appendKeys({ connectionId: connection.connection.connectionId, notificationKind: kind });

    const token = queryValue(event, 'validationToken');
    if (token !== undefined) {
      const answer = validationAnswer(token);
      logger.info('graph validation answered');
      return { statusCode: 200, headers: { 'content-type': 'text/plain', 'x-content-type-options': 'nosniff' }, body: answer };
    }

    const receipt = await receiveGraphDelivery({
      connection,
      kind,
      payload: parseJson(bytes),
      lookup,
      receivedAt: new Date(),
      retentionDays: settings.inboxRetentionDays,
    });
    logger.info('graph delivery stored', { ...receipt });
    publishCount(connection.connection.connectionId, 'EventsReceived', receipt.stored);
    // 202: stored, processed later (Graph's documented answer for this).
    return { statusCode: 202, body: '' };
  };
}

const wrap = (kind: NotificationKind) =>
  middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpErrors())
    .handler(graphHook(kind));

export const handler = wrap('change');
export const lifecycleHandler = wrap('lifecycle');
