/** Reading an API Gateway request: headers by any case, a size-limited body, JSON with a 400. */
import { describe, expect, it } from 'vitest';
import { HttpError, PayloadTooLargeError, ValidationError } from '../../shared/http/errors.js';
import { headerValue, parseJson, rawBody } from '../../shared/http/request.js';

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

describe('headerValue', () => {
  const event = { headers: { authorization: 'secret-1', 'X-Okta-Verification-Challenge': 'challenge-1' } };

  it('finds a lowercased header by its documented spelling', () => {
    expect(headerValue(event, 'Authorization')).toBe('secret-1');
  });

  it('finds a mixed-case header by its lowercase name', () => {
    expect(headerValue(event, 'x-okta-verification-challenge')).toBe('challenge-1');
  });

  it('gives undefined for a header that is not there', () => {
    expect(headerValue(event, 'content-type')).toBeUndefined();
  });

  it('gives undefined when the request has no headers at all', () => {
    expect(headerValue({ headers: undefined as never }, 'authorization')).toBeUndefined();
  });
});

describe('rawBody', () => {
  it('gives the bytes of a plain body within the limit', () => {
    expect(rawBody({ body: '{"a":1}', isBase64Encoded: false }, 7).toString('utf8')).toBe('{"a":1}');
  });

  it('counts bytes, not characters: multi-byte UTF-8 can push a body over the limit', () => {
    const body = 'é'.repeat(4); // 4 characters, 8 bytes
    expect(rawBody({ body, isBase64Encoded: false }, 8)).toHaveLength(8);
    expect(() => rawBody({ body, isBase64Encoded: false }, 7)).toThrow(PayloadTooLargeError);
  });

  it('refuses a plain body over the limit with a 413', () => {
    const error = thrownBy(() => rawBody({ body: 'x'.repeat(11), isBase64Encoded: false }, 10));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).statusCode).toBe(413);
    expect((error as HttpError).message).toBe('body is larger than 10 bytes');
  });

  it('decodes a base64 body', () => {
    const json = '{"eventType":"com.okta.event_hook"}';
    const bytes = rawBody({ body: Buffer.from(json).toString('base64'), isBase64Encoded: true }, 1024);
    expect(bytes.toString('utf8')).toBe(json);
  });

  it('measures a base64 body by its decoded size: 12 base64 characters carry 9 bytes', () => {
    const body = Buffer.from('123456789').toString('base64');
    expect(body).toHaveLength(12);
    expect(rawBody({ body, isBase64Encoded: true }, 9)).toHaveLength(9);
  });

  it('refuses a base64 body whose decoded bytes exceed the limit with a 413', () => {
    const body = Buffer.from('x'.repeat(11)).toString('base64');
    const error = thrownBy(() => rawBody({ body, isBase64Encoded: true }, 10));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as HttpError).statusCode).toBe(413);
  });

  it('treats a missing body as empty', () => {
    expect(rawBody({ body: undefined, isBase64Encoded: false }, 10)).toHaveLength(0);
  });
});

describe('parseJson', () => {
  it('parses a JSON body', () => {
    expect(parseJson(Buffer.from('{"data":{"events":[]}}'))).toEqual({ data: { events: [] } });
  });

  it.each(['', '{', 'not json', '{"a":1}}'])('answers %j with a 400 ValidationError', (text) => {
    const error = thrownBy(() => parseJson(Buffer.from(text)));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).statusCode).toBe(400);
    expect((error as ValidationError).message).toBe('body is not valid JSON');
  });
});
