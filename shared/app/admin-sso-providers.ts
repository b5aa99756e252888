/**
 * POST /admin/sso-providers: one call creates an account's Cognito identity providers and its
 * app client (shared/app/sso-provider-setup.ts), then records the SSO config and the provider →
 * connection links (shared/store/sso-setup-writer.ts) as the setup's last step, so a failure
 * anywhere leaves nothing half made. Answers in the shapes of the setup endpoint it replaces.
 */
import { parseSsoProviderRequest, SsoProviderRequestError, type ImpliedConnection, type SsoProviderRequest } from '../domain/sso-provider-request.js';
import type { AdminPrincipal } from '../http/admin-auth.js';
import { HttpError, ValidationError } from '../http/errors.js';
import { connectionIdOf, recordSsoSetup } from '../store/sso-setup-writer.js';
import { setUpSsoProviders, SsoSetupError, SsoSetupFailedError, type SsoProviderSetup, type SsoSetupSettings } from './sso-provider-setup.js';

export type SsoProviderSettings = Omit<SsoSetupSettings, 'record'>;

function parse(body: unknown): SsoProviderRequest {
  try {
    return parseSsoProviderRequest(body);
  } catch (error) {
    if (error instanceof SsoProviderRequestError) throw new ValidationError('Invalid SSO provider request.', { detail: error.message });
    throw error;
  }
}

/** The connection the providers go to: the one named, or the one their issuers imply (all the same one). */
function connectionFor(request: SsoProviderRequest, setup: SsoProviderSetup): { connectionId: string; implied?: ImpliedConnection } {
  const implied = setup.providers.flatMap((provider) => (provider.connection ? [provider.connection] : []));
  const ids = [...new Set(implied.map(connectionIdOf))];
  if (request.connectionId) return { connectionId: request.connectionId, ...(implied[0] && ids[0] === request.connectionId ? { implied: implied[0] } : {}) };
  if (ids.length === 0) throw new ValidationError('Failed to create Cognito client or SSO provider.', { detail: 'connection_id: the issuer names no Okta org or Entra tenant; give the connection_id of an existing connection' });
  if (ids.length > 1) throw new ValidationError('Failed to create Cognito client or SSO provider.', { detail: 'providers: their issuers belong to different connections; send one request per connection' });
  return { connectionId: ids[0] as string, implied: implied[0] };
}

export async function createSsoProviders(body: unknown, admin: AdminPrincipal, settings: SsoProviderSettings) {
  const request = parse(body);
  let connection: { connectionId: string; created: boolean } | undefined;
  let setup: SsoProviderSetup;
  try {
    setup = await setUpSsoProviders(request, {
      ...settings,
      record: async (made) => {
        const { connectionId, implied } = connectionFor(request, made);
        const { connectionCreated } = await recordSsoSetup({
          accountId: made.accountId,
          connectionId,
          ...(implied ? { impliedConnection: implied } : {}),
          providers: made.providers.map(({ providerName, groups }) => ({ providerName, groups })),
          allowedDomains: made.allowedDomains,
          clientId: made.clientId,
          clientSecretRef: made.clientSecretRef,
          admin,
        });
        connection = { connectionId, created: connectionCreated };
      },
    });
  } catch (error) {
    if (error instanceof SsoSetupFailedError) throw new HttpError(500, error.summary, { cause: error });
    if (error instanceof SsoSetupError) throw new ValidationError(error.summary, { detail: error.message, cause: error });
    throw error;
  }
  const kinds = new Set(setup.providers.map((provider) => provider.providerType));
  return {
    status: 'success',
    message: kinds.size === 1 && kinds.has('SAML') ? 'SAML provider created successfully.' : 'OIDC provider created successfully.',
    account_id: setup.accountId,
    client_id: setup.clientId,
    provider_names: setup.providerNames,
    connection_id: connection?.connectionId,
    connection_created: connection?.created ?? false,
  };
}
