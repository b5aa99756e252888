/**
 * POST /admin/sso-providers (issue 10), without the HTTP part: creates an account's Cognito
 * identity providers and one app client linked to all of them, keeps the client secret in Secrets
 * Manager, and returns what the SSO config needs. All or nothing: when a step fails, what this
 * request created is deleted again, newest first, and the error says which step failed.
 *
 * Writing the SSO config and the provider → connection links is the caller's (the store's) part.
 */
import { config } from '../config.js';
import {
  connectionOfIssuer,
  connectionOfProvider,
  oidcAttributeMapping,
  oidcProviderDetails,
  samlAttributeMapping,
  samlProviderDetails,
  type GroupGrant,
  type ImpliedConnection,
  type SsoProviderRequest,
  type SsoProviderSpec,
} from '../domain/sso-provider-request.js';
import {
  createAppClient,
  createOidcProvider,
  createSamlProvider,
  deleteAppClient,
  deleteProvider,
  describeProvider,
  ProviderExistsError,
  ProviderNotFoundError,
  ProviderRejectedError,
  type IdentityProvider,
} from '../idp/cognito-providers.js';
import { deleteSecretNow, storeNewSecret } from '../idp/secrets.js';
import { logger } from '../logger.js';
import { HttpError } from '../http/errors.js';

export type SsoSetupSettings = {
  userPoolId: string;
  /** Used when the request gives none. Cognito needs at least one for the code flow. */
  callbackUrls: string[];
  logoutUrls: string[];
  /** The stage's folder in Secrets Manager, e.g. `sso-sync/prod/` (what the functions are granted). */
  secretsPrefix: string;
  /** The last step, inside the all-or-nothing: record the setup (SSO config, connection links); a failure undoes the rest. */
  record?: (setup: SsoProviderSetup) => Promise<void>;
};

export type SetUpProvider = {
  providerName: string;
  /** Cognito's ProviderType: OIDC or SAML (a reused provider may be another type). */
  providerType: string;
  /** false for a provider the request reused from the pool. */
  created: boolean;
  /** The Okta org or Entra tenant its issuer or metadata implies; undefined for other IdPs. */
  connection: ImpliedConnection | undefined;
  groups: GroupGrant[];
};

export type SsoProviderSetup = {
  accountId: string;
  clientId: string;
  /** ARN of the Secrets Manager secret that holds the app client's secret. The secret itself is never returned. */
  clientSecretRef: string;
  providerNames: string[];
  providers: SetUpProvider[];
  allowedDomains: string[];
  callbackUrls: string[];
  logoutUrls: string[];
};

export type SetupStep = 'check-providers' | 'create-provider' | 'create-app-client' | 'store-client-secret' | 'record-sso-config';

/** What undoing a failed setup did: the resources it deleted, and those it could not (to clean up by hand). */
export type Rollback = { undone: string[]; leftBehind: string[] };

/**
 * A setup that failed, after undoing what it had created. `summary` is safe to show a caller;
 * `message` says what failed (for 4xx errors, also safe to show).
 */
export class SsoSetupError extends Error {
  override name = 'SsoSetupError';
  constructor(
    readonly summary: string,
    message: string,
    readonly step: SetupStep,
    readonly rollback: Rollback,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A provider name of the request is in the pool already (moto would silently replace it). The caller answers 400. */
export class SsoProviderConflictError extends SsoSetupError {
  override name = 'SsoProviderConflictError';
}

/** A provider the request reuses is not in the pool. The caller answers 400. */
export class SsoProviderMissingError extends SsoSetupError {
  override name = 'SsoProviderMissingError';
}

/** Cognito refused a provider's details (its message says why, e.g. an unreadable issuer). The caller answers 400. */
export class SsoProviderRejectedError extends SsoSetupError {
  override name = 'SsoProviderRejectedError';
}

/** Cognito or Secrets Manager failed; the message names the step and what was undone. The caller answers 500. */
export class SsoSetupFailedError extends SsoSetupError {
  override name = 'SsoSetupFailedError';
}

const CLIENT_OR_PROVIDER_FAILED = 'Failed to create Cognito client or SSO provider.';

type Created = { describe: string; undo: () => Promise<boolean> };

/** Deletes what was created, newest first; a failing delete does not stop the others. */
async function undo(created: Created[]): Promise<Rollback> {
  const rollback: Rollback = { undone: [], leftBehind: [] };
  for (const resource of [...created].reverse()) {
    try {
      await resource.undo();
      rollback.undone.push(resource.describe);
    } catch (error) {
      logger.error('could not undo part of a failed SSO setup; delete it by hand', { resource: resource.describe, error: error as Error });
      rollback.leftBehind.push(resource.describe);
    }
  }
  return rollback;
}

function rollbackText({ undone, leftBehind }: Rollback): string {
  const parts = [
    undone.length > 0 ? `deleted again: ${undone.join(', ')}` : 'nothing had been created',
    ...(leftBehind.length > 0 ? [`could not be deleted (remove by hand): ${leftBehind.join(', ')}`] : []),
  ];
  return parts.join('; ');
}

function setupErrorOf(error: unknown, step: SetupStep, provider: SsoProviderSpec | undefined, rollback: Rollback): SsoSetupError {
  const providerFailed = `Failed to create ${provider?.kind === 'saml' ? 'SAML' : 'OIDC'} provider.`;
  if (error instanceof ProviderExistsError) return new SsoProviderConflictError(providerFailed, error.message, step, rollback, { cause: error });
  if (error instanceof ProviderRejectedError) {
    return new SsoProviderRejectedError(providerFailed, `${error.providerName}: ${error.message}`, step, rollback, { cause: error });
  }
  if (error instanceof ProviderNotFoundError) {
    return new SsoProviderMissingError(CLIENT_OR_PROVIDER_FAILED, error.message, step, rollback, { cause: error });
  }
  const what = {
    'check-providers': 'checking the provider names',
    'create-provider': `creating the provider ${provider?.providerName ?? ''}`.trim(),
    'create-app-client': 'creating the app client',
    'store-client-secret': "storing the app client's secret",
    'record-sso-config': "recording the account's SSO config",
  }[step];
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new SsoSetupFailedError(CLIENT_OR_PROVIDER_FAILED, `${what} failed (${reason}); ${rollbackText(rollback)}`, step, rollback, { cause: error });
}

/** The connection a reused provider implies, from what Cognito holds for it. */
function connectionOfDetails(details: Record<string, string>): ImpliedConnection | undefined {
  const source = details.oidc_issuer ?? details.MetadataURL;
  return source ? connectionOfIssuer(source) : undefined;
}

/**
 * Creates the request's providers and their app client in the pool, all or nothing.
 * `request` comes from parseSsoProviderRequest (which throws SsoProviderRequestError, a 400).
 * Throws SsoProviderConflictError, SsoProviderMissingError, SsoProviderRejectedError or
 * SsoSetupFailedError (all SsoSetupError), each after undoing what it had created.
 */
export async function setUpSsoProviders(request: SsoProviderRequest, settings: SsoSetupSettings): Promise<SsoProviderSetup> {
  const { userPoolId } = settings;
  const attributes = { groupsAttribute: config().groupsAttribute, objectIdAttribute: config().objectIdAttribute };
  const created: Created[] = [];
  let step: SetupStep = 'check-providers';
  let current: SsoProviderSpec | undefined;

  try {
    // Every name first, before anything is created: moto replaces a duplicate without a word, and
    // even Cognito would only refuse it after the providers before it were made.
    const existing = new Map<string, IdentityProvider | undefined>();
    for (const provider of request.providers) {
      current = provider;
      const found = await describeProvider(userPoolId, provider.providerName);
      if (provider.kind === 'existing' && !found) throw new ProviderNotFoundError(provider.providerName, userPoolId);
      if (provider.kind !== 'existing' && found) throw new ProviderExistsError(provider.providerName, userPoolId);
      existing.set(provider.providerName, found);
    }

    step = 'create-provider';
    const providers: SetUpProvider[] = [];
    for (const provider of request.providers) {
      current = provider;
      const { providerName, groups } = provider;
      if (provider.kind === 'existing') {
        const found = existing.get(providerName);
        providers.push({
          providerName,
          providerType: found?.providerType ?? '',
          created: false,
          connection: connectionOfDetails(found?.providerDetails ?? {}),
          groups,
        });
        continue;
      }
      const newProvider =
        provider.kind === 'oidc'
          ? { userPoolId, providerName, providerDetails: oidcProviderDetails(provider), attributeMapping: oidcAttributeMapping(provider.issuer, attributes) }
          : { userPoolId, providerName, providerDetails: samlProviderDetails(provider), attributeMapping: samlAttributeMapping(provider, attributes) };
      await (provider.kind === 'oidc' ? createOidcProvider(newProvider) : createSamlProvider(newProvider));
      created.push({ describe: `identity provider ${providerName}`, undo: () => deleteProvider(userPoolId, providerName) });
      providers.push({
        providerName,
        providerType: provider.kind === 'oidc' ? 'OIDC' : 'SAML',
        created: true,
        connection: connectionOfProvider(provider),
        groups,
      });
    }
    current = undefined;

    step = 'create-app-client';
    const providerNames = providers.map((provider) => provider.providerName);
    const callbackUrls = request.callbackUrls ?? settings.callbackUrls;
    const logoutUrls = request.logoutUrls ?? settings.logoutUrls;
    const { groupsAttribute, objectIdAttribute } = attributes;
    const { clientId, clientSecret } = await createAppClient({
      userPoolId,
      clientName: `sso-sync-${request.accountId}`,
      providerNames,
      callbackUrls,
      logoutUrls,
      // As serverless.yml's FederatedAppClient: Cognito must be able to write every mapped attribute.
      readAttributes: ['email', 'email_verified', 'given_name', 'family_name', groupsAttribute, objectIdAttribute],
      writeAttributes: ['email', 'given_name', 'family_name', groupsAttribute, objectIdAttribute],
    });
    created.push({ describe: `app client ${clientId}`, undo: () => deleteAppClient(userPoolId, clientId) });

    step = 'store-client-secret';
    const secretName = `${settings.secretsPrefix}accounts/${request.accountId}/app-client-${clientId}`;
    const clientSecretRef = await storeNewSecret(
      secretName,
      clientSecret,
      `Cognito app client ${clientId} of account ${request.accountId} (user pool ${userPoolId})`,
    );
    created.push({ describe: `secret ${secretName}`, undo: () => deleteSecretNow(secretName) });

    const setup: SsoProviderSetup = {
      accountId: request.accountId,
      clientId,
      clientSecretRef,
      providerNames,
      providers,
      allowedDomains: request.allowedDomains,
      callbackUrls,
      logoutUrls,
    };
    step = 'record-sso-config';
    await settings.record?.(setup);
    logger.info('SSO providers set up', { accountId: request.accountId, userPoolId, providerNames, clientId });
    return setup;
  } catch (error) {
    const rollback = await undo(created);
    // A refusal of the caller's own (e.g. a provider name another connection holds) keeps its status.
    if (error instanceof HttpError && error.statusCode < 500) throw error;
    throw setupErrorOf(error, step, current, rollback);
  }
}
