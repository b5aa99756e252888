import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { logger } from '../logger.js';
import { HttpError } from './errors.js';

export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

type ErrorBody = (error: { message: string; name: string; detail?: string }) => unknown;

/** The webhooks' error body: `{"error": ...}`. */
const webhookErrorBody: ErrorBody = ({ message }) => ({ error: message });

/**
 * The admin API's error body, in the shape its callers know from the setup endpoint it
 * replaces: `{"status": "failed", "message": ..., "error": ...}`.
 */
export const adminErrorBody: ErrorBody = ({ message, name, detail }) => ({ status: 'failed', message, error: detail ?? name });

/**
 * The single place where errors become HTTP answers. Known 4xx errors expose their message;
 * everything else is logged and answered with a bare 500, which makes an IdP retry.
 */
export function httpErrors(errorBody: ErrorBody = webhookErrorBody): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: async (request) => {
      const { error } = request;
      if (error instanceof HttpError && error.statusCode < 500) {
        logger.warn('request refused', { status: error.statusCode, reason: error.message });
        request.response = jsonResponse(error.statusCode, errorBody(error));
        return;
      }
      logger.error('request failed', { error: error as Error });
      request.response = jsonResponse(500, errorBody({ message: 'internal error, please retry', name: 'InternalError' }));
    },
  };
}
