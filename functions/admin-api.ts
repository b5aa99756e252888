/**
 * /admin/{proxy+}: the admin API. Every request needs an admin's access token of the stage's
 * user pool, verified here (API Gateway's JWT authorizer checks it too, but serverless-offline
 * skips it); then the route table (shared/app/admin-routes.ts) answers.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { config, ConfigError } from '../shared/config.js';
import { logger } from '../shared/logger.js';
import { adminRoutes } from '../shared/app/admin-routes.js';
import { ADMIN_OPENAPI_PATH, adminOpenApi, adminRouteDocs } from '../shared/app/admin-openapi.js';
import { adminTokenVerifier, jwksUrlOf } from '../shared/http/admin-auth.js';
import { adminErrorBody, httpErrors, jsonResponse } from '../shared/http/http-errors.js';
import { headerValue, parseJson, rawBody } from '../shared/http/request.js';
import { matchRoute } from '../shared/http/routes.js';

const settings = config();
const { userPoolId, clientIds, group } = settings.admin;
if (!userPoolId || clientIds.size === 0) throw new ConfigError('ADMIN_USER_POOL_ID and ADMIN_CLIENT_IDS are required by the admin API');
const verifyAdmin = adminTokenVerifier({
  userPoolId,
  region: settings.region,
  clientIds,
  adminGroup: group,
  jwksUrl: jwksUrlOf({ region: settings.region, userPoolId, cognitoEndpoint: settings.cognitoEndpoint }),
});
const routes = adminRoutes({
  disableOnDeprovision: settings.disableOnDeprovision,
  ssoProviders: { userPoolId, callbackUrls: settings.admin.callbackUrls, logoutUrls: settings.admin.logoutUrls, secretsPrefix: settings.admin.secretsPrefix },
  connections: { hooksBaseUrl: settings.hooksBaseUrl, secretsPrefix: settings.admin.secretsPrefix, oktaEventTypes: settings.oktaEventTypes },
});
// Built at cold start: a route without a description (or the reverse) stops the function, and a test catches it first.
const openApiDocument = adminOpenApi(routes, adminRouteDocs);
const MAX_ADMIN_BODY_BYTES = 256 * 1024;

async function adminApi(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext.http.method;
  // The API's description is public (its own route in serverless.yml, without the authorizer).
  if (method === 'GET' && event.requestContext.http.path === ADMIN_OPENAPI_PATH) return jsonResponse(200, openApiDocument);
  // Authenticated before anything else: an unknown route tells a stranger nothing.
  const principal = await verifyAdmin(headerValue(event, 'authorization'));
  logger.appendKeys({ admin: principal.sub });
  const { route, params } = matchRoute(routes, method, event.requestContext.http.path);
  const bytes = rawBody(event, MAX_ADMIN_BODY_BYTES);
  const body = bytes.length > 0 ? parseJson(bytes) : undefined;
  const header = (name: string) => headerValue(event, name);
  const answer = await route.handle({ params, query: event.queryStringParameters ?? {}, header, body, principal });
  logger.info('admin request', { route: `${route.method} ${route.path}`, status: answer.status });
  const response = jsonResponse(answer.status, answer.body);
  return { ...response, headers: { ...response.headers, ...answer.headers } };
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(httpErrors(adminErrorBody))
  .handler(adminApi);
