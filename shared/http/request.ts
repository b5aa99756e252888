import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { PayloadTooLargeError, ValidationError } from './errors.js';

/** Header lookup that ignores case: API Gateway lowercases names, other callers may not. */
export function headerValue(event: Pick<APIGatewayProxyEventV2, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The raw body bytes, refused when over the limit before anything looks inside them. */
export function rawBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>, limitBytes: number): Buffer {
  const body = event.body ?? '';
  // Cheap bounds before decoding: a character is at least one UTF-8 byte; 4 base64 characters are 3 bytes.
  const leastBytes = event.isBase64Encoded ? Math.floor((body.length * 3) / 4) - 2 : body.length;
  if (leastBytes > limitBytes) throw new PayloadTooLargeError(limitBytes);
  const bytes = Buffer.from(body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > limitBytes) throw new PayloadTooLargeError(limitBytes);
  return bytes;
}

/** JSON.parse with a 400 instead of a SyntaxError. */
export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ValidationError('body is not valid JSON');
  }
}

/**
 * A query parameter, decoded the way a browser form is ("+" is a space): Graph sends its
 * validation token so. The raw query string is preferred over API Gateway's decoded map.
 */
export function queryValue(event: Pick<APIGatewayProxyEventV2, 'rawQueryString' | 'queryStringParameters'>, name: string): string | undefined {
  if (event.rawQueryString) {
    const value = new URLSearchParams(event.rawQueryString).get(name);
    if (value !== null) return value;
  }
  return event.queryStringParameters?.[name];
}
