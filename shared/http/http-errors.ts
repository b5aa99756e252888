import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { logger } from '../logger.js';
import { HttpError } from './errors.js';

export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/**
 * The single place where errors become HTTP answers. Known 4xx errors expose their message;
 * everything else is logged and answered with a bare 500, which makes the IdP retry.
 */
export function httpErrors(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: async (request) => {
      const { error } = request;
      if (error instanceof HttpError && error.statusCode < 500) {
        logger.warn('request refused', { status: error.statusCode, reason: error.message });
        request.response = jsonResponse(error.statusCode, { error: error.message });
        return;
      }
      logger.error('request failed', { error: error as Error });
      request.response = jsonResponse(500, { error: 'internal error, please retry' });
    },
  };
}
