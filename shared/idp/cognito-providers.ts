/**
 * The Cognito admin calls behind POST /admin/sso-providers: identity providers and the app client
 * that signs in through them, on the module's one cognitoClient. Cognito's errors for a duplicate
 * and for a missing provider become named errors; everything else is thrown as the SDK threw it.
 */
import {
  CreateIdentityProviderCommand,
  CreateUserPoolClientCommand,
  DeleteIdentityProviderCommand,
  DeleteUserPoolClientCommand,
  DescribeIdentityProviderCommand,
  DuplicateProviderException,
  InvalidParameterException,
  ResourceNotFoundException,
  type IdentityProviderTypeType,
} from '@aws-sdk/client-cognito-identity-provider';
import { cognitoClient } from './cognito.js';

/** A provider of this name is in the pool already (Cognito's DuplicateProviderException, or found before creating). */
export class ProviderExistsError extends Error {
  override name = 'ProviderExistsError';
  constructor(
    readonly providerName: string,
    readonly userPoolId: string,
    options?: ErrorOptions,
  ) {
    super(`${providerName} already exists`, options);
  }
}

/** A provider an app client was to name is not in the pool. The message is Cognito's own. */
export class ProviderNotFoundError extends Error {
  override name = 'ProviderNotFoundError';
  constructor(
    readonly providerName: string,
    readonly userPoolId: string,
    options?: ErrorOptions,
  ) {
    super(`The provider ${providerName} does not exist for User Pool ${userPoolId}`, options);
  }
}

/**
 * Cognito refused the provider's details (InvalidParameterException: for OIDC, e.g. an issuer whose
 * discovery document it cannot read). The message is Cognito's own.
 */
export class ProviderRejectedError extends Error {
  override name = 'ProviderRejectedError';
  constructor(
    readonly providerName: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export type IdentityProvider = {
  providerName: string;
  providerType: string;
  providerDetails: Record<string, string>;
  attributeMapping: Record<string, string>;
};

export type NewProvider = {
  userPoolId: string;
  providerName: string;
  providerDetails: Record<string, string>;
  attributeMapping: Record<string, string>;
};

/** The provider as Cognito holds it, or undefined when the pool has none of this name. */
export async function describeProvider(userPoolId: string, providerName: string): Promise<IdentityProvider | undefined> {
  try {
    const { IdentityProvider: provider } = await cognitoClient.send(
      new DescribeIdentityProviderCommand({ UserPoolId: userPoolId, ProviderName: providerName }),
    );
    if (!provider) return undefined;
    return {
      providerName: provider.ProviderName ?? providerName,
      providerType: provider.ProviderType ?? '',
      providerDetails: provider.ProviderDetails ?? {},
      attributeMapping: provider.AttributeMapping ?? {},
    };
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function createProvider(providerType: IdentityProviderTypeType, provider: NewProvider): Promise<void> {
  try {
    await cognitoClient.send(
      new CreateIdentityProviderCommand({
        UserPoolId: provider.userPoolId,
        ProviderName: provider.providerName,
        ProviderType: providerType,
        ProviderDetails: provider.providerDetails,
        AttributeMapping: provider.attributeMapping,
      }),
    );
  } catch (error) {
    if (error instanceof DuplicateProviderException) throw new ProviderExistsError(provider.providerName, provider.userPoolId, { cause: error });
    if (error instanceof InvalidParameterException) throw new ProviderRejectedError(provider.providerName, error.message, { cause: error });
    throw error;
  }
}

/**
 * Creates an OIDC provider. Cognito refuses a name in use (ProviderExistsError); moto 5.2.1
 * silently replaces the first provider instead, so callers check with describeProvider first.
 */
export function createOidcProvider(provider: NewProvider): Promise<void> {
  return createProvider('OIDC', provider);
}

export function createSamlProvider(provider: NewProvider): Promise<void> {
  return createProvider('SAML', provider);
}

/** Deletes the provider; true if it was there. */
export async function deleteProvider(userPoolId: string, providerName: string): Promise<boolean> {
  try {
    await cognitoClient.send(new DeleteIdentityProviderCommand({ UserPoolId: userPoolId, ProviderName: providerName }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

export type NewAppClient = {
  userPoolId: string;
  clientName: string;
  providerNames: string[];
  callbackUrls: string[];
  logoutUrls: string[];
  readAttributes: string[];
  writeAttributes: string[];
};

/**
 * The federated app client's fixed settings, as serverless.yml's FederatedAppClient has them: the
 * authorization-code flow only, no `aws.cognito.signin.user.admin` scope and no password or SRP
 * flow, so no token of the client can call UpdateUserAttributes on the attributes Cognito maps
 * (which must stay in WriteAttributes for Cognito to write them at sign-in).
 */
export const FEDERATED_CLIENT_SETTINGS = {
  AllowedOAuthFlowsUserPoolClient: true,
  AllowedOAuthFlows: ['code'],
  AllowedOAuthScopes: ['openid', 'email', 'profile'],
  ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
  GenerateSecret: true,
} as const;

const DOES_NOT_EXIST = /^The provider (.+) does not exist for User Pool /;

/** Creates the app client; its secret is returned once, here. */
export async function createAppClient(client: NewAppClient): Promise<{ clientId: string; clientSecret: string }> {
  try {
    const { UserPoolClient } = await cognitoClient.send(
      new CreateUserPoolClientCommand({
        UserPoolId: client.userPoolId,
        ClientName: client.clientName,
        ...FEDERATED_CLIENT_SETTINGS,
        AllowedOAuthFlows: [...FEDERATED_CLIENT_SETTINGS.AllowedOAuthFlows],
        AllowedOAuthScopes: [...FEDERATED_CLIENT_SETTINGS.AllowedOAuthScopes],
        ExplicitAuthFlows: [...FEDERATED_CLIENT_SETTINGS.ExplicitAuthFlows],
        SupportedIdentityProviders: client.providerNames,
        CallbackURLs: client.callbackUrls,
        LogoutURLs: client.logoutUrls,
        ReadAttributes: client.readAttributes,
        WriteAttributes: client.writeAttributes,
      }),
    );
    if (!UserPoolClient?.ClientId || !UserPoolClient.ClientSecret) throw new Error('Cognito returned no client id or secret for the new app client');
    return { clientId: UserPoolClient.ClientId, clientSecret: UserPoolClient.ClientSecret };
  } catch (error) {
    // Cognito checks SupportedIdentityProviders on every client create (moto 5.2.1 does not).
    const missing = error instanceof InvalidParameterException ? DOES_NOT_EXIST.exec(error.message)?.[1] : undefined;
    if (missing !== undefined) throw new ProviderNotFoundError(missing, client.userPoolId, { cause: error });
    throw error;
  }
}

/** Deletes the app client; true if it was there. */
export async function deleteAppClient(userPoolId: string, clientId: string): Promise<boolean> {
  try {
    await cognitoClient.send(new DeleteUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: clientId }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}
