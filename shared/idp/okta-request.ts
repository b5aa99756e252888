/**
 * One GET to an Okta org's management API with the connection's API token
 * (`Authorization: SSWS <token>`), for the readers that use plain fetch (System Log, a user's
 * groups, reconciliation's groups and users). Callers check the URL is the org's own first.
 */
const REQUEST_TIMEOUT_MS = 10_000;

/** Okta did not answer at all (timeout, network); the message names no URL and no token. */
export class OktaUnreachableError extends Error {
  override name = 'OktaUnreachableError';
}

export async function getFromOkta(url: string, apiToken: string): Promise<Response> {
  try {
    return await fetch(url, {
      headers: { accept: 'application/json', authorization: `SSWS ${apiToken}` },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      // Okta answers API calls without redirects; one would be someone else's answer.
      redirect: 'error',
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    throw new OktaUnreachableError(timedOut ? `no answer from Okta within ${REQUEST_TIMEOUT_MS / 1000} s` : 'Okta could not be reached');
  }
}
