/**
 * Registers and removes a connection's Okta event hook through @okta/okta-sdk-nodejs
 * (`eventHookApi`): create → verify → activate, and deactivate → delete. The SDK loads in about a
 * second, so it is imported on first use: only the admin paths that call Okta pay for it, and the
 * webhook receivers never import this module (DESIGN.md, "Keep heavy SDKs out of the receivers").
 *
 * Okta's facts (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/EventHook/):
 * a hook is created ACTIVE and UNVERIFIED; verify makes Okta send the one-time GET with
 * `x-okta-verification-challenge` and the configured auth header (3 s timeout, one retry, then 400);
 * only an ACTIVE and VERIFIED hook receives events; only an INACTIVE hook can be deleted.
 */
import type { Client, EventHook } from '@okta/okta-sdk-nodejs';

export type EventHookStep = 'create' | 'verify' | 'activate' | 'deactivate' | 'delete';

/** Per Okta call, 429 waits included: well inside API Gateway's 29 s for the whole admin request. */
const REQUEST_TIMEOUT_MS = 12_000;
/** One retry after a 429 (the SDK waits until X-Rate-Limit-Reset); more would outlast the request. */
const MAX_RATE_LIMIT_RETRIES = 1;
const MAX_SUMMARY_LENGTH = 300;

/**
 * An Okta event hook call that failed. `status` is Okta's HTTP status, or 0 when Okta did not
 * answer. The message names the step, the status, Okta's error code and summary: never the API
 * token or the hook secret (both are cut out of Okta's text too, should it ever echo them).
 */
export class OktaEventHookError extends Error {
  override name = 'OktaEventHookError';
  constructor(
    readonly step: EventHookStep,
    readonly status: number,
    readonly code: string | undefined,
    /** Okta's errorSummary and errorCauses, secrets cut out. */
    readonly summary: string | undefined,
    /** A hook that was created but could not be removed again: it is still in the Okta org. */
    readonly leftBehindHookId?: string,
  ) {
    const answer = status > 0 ? `status ${status}` : 'no answer from Okta';
    const left = leftBehindHookId ? `; the hook ${leftBehindHookId} it created could not be removed, delete it in Okta` : '';
    super(`Okta event hook ${step} failed: ${answer}${code ? `, ${code}` : ''}${summary ? ` (${summary})` : ''}${left}`);
  }
}

export type EventHookRegistration = {
  orgUrl: string;
  apiToken: string;
  /** Display name; Okta requires it to be unique in the org. */
  name: string;
  hookUrl: string;
  /** The header Okta sends the secret in (its "Authentication field"). */
  authHeader: string;
  secret: string;
  eventTypes: readonly string[];
};

export type RegisteredEventHook = { id: string; status: string; verificationStatus: string };

async function oktaClient(orgUrl: string, apiToken: string): Promise<Client> {
  const { default: okta } = await import('@okta/okta-sdk-nodejs');
  return new okta.Client({
    orgUrl,
    // Explicit, so an OKTA_CLIENT_* variable or an okta.yaml (which the SDK also reads) cannot change how it authenticates.
    authorizationMode: 'SSWS',
    token: apiToken,
    // No response cache: every answer here is about a write just made.
    cacheMiddleware: null,
    requestExecutor: new okta.DefaultRequestExecutor({ maxRetries: MAX_RATE_LIMIT_RETRIES, requestTimeout: REQUEST_TIMEOUT_MS }),
  });
}

function redact(text: string, secrets: readonly string[]): string {
  let safe = text;
  for (const secret of secrets) if (secret) safe = safe.split(secret).join('[redacted]');
  return safe.length > MAX_SUMMARY_LENGTH ? `${safe.slice(0, MAX_SUMMARY_LENGTH)}…` : safe;
}

/** Okta's error body (errorCode, errorSummary, errorCauses[].errorSummary) as the SDK's OktaApiError carries it. */
function failure(step: EventHookStep, error: unknown, secrets: readonly string[], leftBehindHookId?: string): OktaEventHookError {
  const fields = (error ?? {}) as { status?: unknown; errorCode?: unknown; errorSummary?: unknown; errorCauses?: unknown; name?: unknown };
  const status = typeof fields.status === 'number' ? fields.status : 0;
  const code = typeof fields.errorCode === 'string' ? fields.errorCode : undefined;
  const causes = Array.isArray(fields.errorCauses) ? fields.errorCauses.map((cause: { errorSummary?: unknown }) => cause?.errorSummary).filter((text): text is string => typeof text === 'string') : [];
  const summaryParts = [typeof fields.errorSummary === 'string' ? fields.errorSummary : '', ...causes].filter(Boolean);
  // Without an Okta answer (network, timeout) only the error's kind is told: its message may hold the URL with anything.
  const summary = summaryParts.length > 0 ? summaryParts.join('. ') : status === 0 && typeof fields.name === 'string' ? fields.name : undefined;
  return new OktaEventHookError(step, status, code, summary === undefined ? undefined : redact(summary, secrets), leftBehindHookId);
}

async function step<T>(name: EventHookStep, call: () => Promise<T>, secrets: readonly string[]): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw failure(name, error, secrets);
  }
}

const isGone = (error: unknown) => error instanceof OktaEventHookError && error.status === 404;

async function deactivateAndDelete(client: Client, hookId: string, secrets: readonly string[]): Promise<void> {
  // Okta deletes only INACTIVE hooks; a hook that is gone already counts as removed.
  try {
    await step('deactivate', () => client.eventHookApi.deactivateEventHook({ eventHookId: hookId }), secrets);
  } catch (error) {
    if (isGone(error)) return;
    throw error;
  }
  try {
    await step('delete', () => client.eventHookApi.deleteEventHook({ eventHookId: hookId }), secrets);
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}

/**
 * Creates the hook, has Okta verify it against our endpoint, activates it; returns it. When a
 * step after the creation fails, the created hook is deactivated and deleted before the error is
 * thrown (if that fails too, the error names the hook left behind).
 */
export async function registerEventHook(registration: EventHookRegistration): Promise<RegisteredEventHook> {
  const secrets = [registration.apiToken, registration.secret];
  const client = await oktaClient(registration.orgUrl, registration.apiToken);
  const eventHook: EventHook = {
    name: registration.name,
    events: { type: 'EVENT_TYPE', items: [...registration.eventTypes] },
    channel: {
      type: 'HTTP',
      version: '1.0.0',
      config: { uri: registration.hookUrl, authScheme: { type: 'HEADER', key: registration.authHeader, value: registration.secret } },
    },
  };
  const created = await step('create', () => client.eventHookApi.createEventHook({ eventHook }), secrets);
  const hookId = created.id;
  if (!hookId) throw new OktaEventHookError('create', 200, undefined, 'the answer has no hook id');
  try {
    await step('verify', () => client.eventHookApi.verifyEventHook({ eventHookId: hookId }), secrets);
    const activated = await step('activate', () => client.eventHookApi.activateEventHook({ eventHookId: hookId }), secrets);
    return { id: hookId, status: activated.status ?? 'ACTIVE', verificationStatus: activated.verificationStatus ?? 'VERIFIED' };
  } catch (error) {
    const cause = error instanceof OktaEventHookError ? error : failure('verify', error, secrets);
    try {
      await deactivateAndDelete(client, hookId, secrets);
    } catch {
      throw new OktaEventHookError(cause.step, cause.status, cause.code, cause.summary, hookId);
    }
    throw cause;
  }
}

/** Deactivates and deletes a hook; one Okta no longer knows counts as removed. */
export async function removeEventHook(input: { orgUrl: string; apiToken: string; hookId: string }): Promise<void> {
  const client = await oktaClient(input.orgUrl, input.apiToken);
  await deactivateAndDelete(client, input.hookId, [input.apiToken]);
}
