/**
 * One error hierarchy for HTTP answers; one middleware (http-errors.ts) turns them into a
 * status. Messages of 4xx errors reach the caller, so they say what was wrong and nothing
 * internal; anything else becomes a bare 500.
 */
export class HttpError extends Error {
  /** What exactly went wrong, when the message is a summary (the admin API's `error` field). */
  detail?: string;

  constructor(
    readonly statusCode: number,
    message: string,
    options?: ErrorOptions & { detail?: string },
  ) {
    super(message, options);
    if (options?.detail) this.detail = options.detail;
  }
}

export class ValidationError extends HttpError {
  override name = 'ValidationError';
  constructor(message: string, options?: ErrorOptions & { detail?: string }) {
    super(400, message, options);
  }
}

export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor(message = 'missing or invalid webhook credentials') {
    super(401, message);
  }
}

export class ForbiddenError extends HttpError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(403, message);
  }
}

export class ConflictError extends HttpError {
  override name = 'ConflictError';
  constructor(message: string) {
    super(409, message);
  }
}

export class NotFoundError extends HttpError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(404, message);
  }
}

export class MethodNotAllowedError extends HttpError {
  override name = 'MethodNotAllowedError';
  constructor(method: string) {
    super(405, `method ${method} is not allowed here`);
  }
}

export class PayloadTooLargeError extends HttpError {
  override name = 'PayloadTooLargeError';
  constructor(limitBytes: number) {
    super(413, `body is larger than ${limitBytes} bytes`);
  }
}

/** If-Match named a version that is no longer the current one (a lost update), or there is nothing to match. */
export class PreconditionFailedError extends HttpError {
  override name = 'PreconditionFailedError';
  constructor(message: string, options?: ErrorOptions & { detail?: string }) {
    super(412, message, options);
  }
}

/** A write to something that exists came without If-Match (RFC 6585): it could overwrite a change it never saw. */
export class PreconditionRequiredError extends HttpError {
  override name = 'PreconditionRequiredError';
  constructor(message: string, options?: ErrorOptions & { detail?: string }) {
    super(428, message, options);
  }
}
