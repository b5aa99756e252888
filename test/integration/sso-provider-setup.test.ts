/**
 * setUpSsoProviders against moto_server's Cognito and Secrets Manager: the seed's request shapes
 * (Okta, Entra) become providers and one app client like serverless.yml's FederatedAppClient; a
 * name in use, a missing reused provider and a failure half-way leave the pool as it was.
 * moto differs from Cognito (test/helpers/cognito.ts): it replaces a duplicate provider silently
 * and accepts clients naming unknown providers, which is why the setup checks names itself.
 */
import { readFileSync } from 'node:fs';
import {
  DescribeIdentityProviderCommand,
  DuplicateProviderException,
  InvalidParameterException,
  DescribeUserPoolClientCommand,
  ListIdentityProvidersCommand,
  ListUserPoolClientsCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { GetSecretValueCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  setUpSsoProviders,
  SsoProviderConflictError,
  SsoProviderMissingError,
  SsoProviderRejectedError,
  SsoSetupFailedError,
  type SsoSetupSettings,
} from '../../shared/app/sso-provider-setup.js';
import { parseSsoProviderRequest } from '../../shared/domain/sso-provider-request.js';
import { cognitoClient } from '../../shared/idp/cognito.js';
import { secretsClient } from '../../shared/idp/secrets.js';
import { createOidcProvider, createUserPool } from '../helpers/cognito.js';

type Resource = { Properties: Record<string, unknown> };
const { resources } = parse(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8')) as {
  resources: { Resources: Record<string, Resource> };
};
const deployedClient = resources.Resources.FederatedAppClient?.Properties ?? {};

const TENANT = '6f0c2b1e-4d3a-4c5b-9e8f-0a1b2c3d4e5f';
const OKTA_SECRET = 'okta-client-secret-test-only';
const ENTRA_SECRET = 'entra-client-secret-test-only';

/** The seed's Okta request, as the issue gives it. */
const oktaRequest = {
  account_id: 'acme',
  provider: { client_id: '0oa1okta', client_secret: OKTA_SECRET, oidc_issuer: 'https://dev-123.okta.com' },
  group: 'Finance-Approvers',
  allowed_domain: 'acme.example',
};

/** The seed's Entra request: several providers' form, a group object id with its role. */
const entraRequest = {
  account_id: 'contoso',
  providers: [
    {
      client_id: '11111111-2222-4333-8444-555555555555',
      client_secret: ENTRA_SECRET,
      oidc_issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      groups: [{ group: '00000000-0000-4000-8000-0000000d2001', role: 'Author' }],
    },
  ],
  allowed_domain: 'contoso.example',
};

let userPoolId: string;
let settings: SsoSetupSettings;

beforeEach(async () => {
  userPoolId = await createUserPool();
  settings = {
    userPoolId,
    callbackUrls: ['https://app.example/callback'],
    logoutUrls: ['https://app.example/signed-out'],
    secretsPrefix: `sso-sync/test-${userPoolId}/`,
  };
});

async function providerNamesInPool(): Promise<string[]> {
  const { Providers } = await cognitoClient.send(new ListIdentityProvidersCommand({ UserPoolId: userPoolId, MaxResults: 60 }));
  return (Providers ?? []).map((provider) => provider.ProviderName ?? '').sort();
}

async function clientIdsInPool(): Promise<string[]> {
  const { UserPoolClients } = await cognitoClient.send(new ListUserPoolClientsCommand({ UserPoolId: userPoolId, MaxResults: 60 }));
  return (UserPoolClients ?? []).map((client) => client.ClientId ?? '');
}

async function secretNamesUnderPrefix(): Promise<string[]> {
  const { SecretList } = await secretsClient.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [settings.secretsPrefix] }] }));
  return (SecretList ?? []).map((secret) => secret.Name ?? '').filter((name) => name.startsWith(settings.secretsPrefix));
}

async function describedProvider(providerName: string) {
  const { IdentityProvider } = await cognitoClient.send(new DescribeIdentityProviderCommand({ UserPoolId: userPoolId, ProviderName: providerName }));
  return IdentityProvider;
}

async function describedClient(clientId: string) {
  const { UserPoolClient } = await cognitoClient.send(new DescribeUserPoolClientCommand({ UserPoolId: userPoolId, ClientId: clientId }));
  return UserPoolClient;
}

/** Fails the matching Cognito commands (the n-th call on) before they leave the process, as the cognito-trigger tests do. */
async function withFailingCognito<T>(
  commandName: string,
  fromCall: number,
  run: () => Promise<T>,
  failure: () => Error = () => Object.assign(new Error(`injected ${commandName} failure`), { name: 'InternalErrorException' }),
): Promise<T> {
  const name = `fail-${commandName}`;
  let calls = 0;
  cognitoClient.middlewareStack.add(
    ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      if (context.commandName === commandName && ++calls >= fromCall) throw failure();
      return next(args);
    }) as never,
    { step: 'initialize', name },
  );
  try {
    return await run();
  } finally {
    cognitoClient.middlewareStack.remove(name);
  }
}

describe('the Okta request of the seed', () => {
  it('creates the provider with the Okta mapping and details, and an app client that signs in only through it', async () => {
    const result = await setUpSsoProviders(parseSsoProviderRequest(oktaRequest), settings);

    expect(result).toMatchObject({
      accountId: 'acme',
      providerNames: ['Okta-dev-123'],
      providers: [
        {
          providerName: 'Okta-dev-123',
          providerType: 'OIDC',
          created: true,
          connection: { type: 'okta', orgUrl: 'https://dev-123.okta.com' },
          groups: [{ group: 'Finance-Approvers', role: 'Admin' }],
        },
      ],
      allowedDomains: ['acme.example'],
      callbackUrls: settings.callbackUrls,
      logoutUrls: settings.logoutUrls,
    });
    const provider = await describedProvider('Okta-dev-123');
    expect(provider?.ProviderType).toBe('OIDC');
    expect(provider?.AttributeMapping).toEqual({ email: 'email', 'custom:groups': 'groups' });
    expect(provider?.ProviderDetails).toMatchObject({
      client_id: '0oa1okta',
      client_secret: OKTA_SECRET,
      oidc_issuer: 'https://dev-123.okta.com',
      authorize_scopes: 'openid email profile',
      attributes_request_method: 'GET',
    });

    expect(await clientIdsInPool()).toEqual([result.clientId]);
    const client = await describedClient(result.clientId);
    expect(client?.SupportedIdentityProviders).toEqual(['Okta-dev-123']);
    expect(client?.AllowedOAuthFlows).toEqual(['code']);
    expect(client?.AllowedOAuthScopes).toEqual(['openid', 'email', 'profile']);
    expect(client?.AllowedOAuthScopes).not.toContain('aws.cognito.signin.user.admin');
    expect(client?.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(client?.CallbackURLs).toEqual(settings.callbackUrls);
    expect(client?.LogoutURLs).toEqual(settings.logoutUrls);
    expect(client?.ClientSecret).toBeTruthy();
  });

  it('keeps the client secret in Secrets Manager under the prefix and never returns it', async () => {
    const result = await setUpSsoProviders(parseSsoProviderRequest(oktaRequest), settings);
    const { ClientSecret } = (await describedClient(result.clientId)) ?? {};

    const { SecretString, Name } = await secretsClient.send(new GetSecretValueCommand({ SecretId: result.clientSecretRef }));
    expect(SecretString).toBe(ClientSecret);
    expect(Name).toBe(`${settings.secretsPrefix}accounts/acme/app-client-${result.clientId}`);
    expect(await secretNamesUnderPrefix()).toEqual([Name]);
    const returned = JSON.stringify(result);
    expect(returned).not.toContain(ClientSecret);
    expect(returned).not.toContain(OKTA_SECRET);
  });

  it('gives the app client the federated client’s attributes and flows from serverless.yml', async () => {
    const { clientId } = await setUpSsoProviders(parseSsoProviderRequest(oktaRequest), settings);
    const client = await describedClient(clientId);
    for (const setting of ['ReadAttributes', 'WriteAttributes', 'AllowedOAuthFlows', 'AllowedOAuthScopes', 'ExplicitAuthFlows'] as const) {
      expect(client?.[setting], setting).toEqual(deployedClient[setting]);
    }
  });

  it('uses the callback and logout URLs of the request over the settings', async () => {
    const request = { ...oktaRequest, callback_urls: ['https://acme.app.example/cb'], logout_urls: ['http://localhost:5173/out'] };
    const { clientId } = await setUpSsoProviders(parseSsoProviderRequest(request), settings);
    const client = await describedClient(clientId);
    expect(client?.CallbackURLs).toEqual(['https://acme.app.example/cb']);
    expect(client?.LogoutURLs).toEqual(['http://localhost:5173/out']);
  });
});

describe('the Entra request of the seed', () => {
  it('creates the provider with the object id mapped, and an app client listing it', async () => {
    const result = await setUpSsoProviders(parseSsoProviderRequest(entraRequest), settings);

    expect(result.providerNames).toEqual(['Entra-6f0c2b1e']);
    expect(result.providers).toEqual([
      {
        providerName: 'Entra-6f0c2b1e',
        providerType: 'OIDC',
        created: true,
        connection: { type: 'entra', tenantId: TENANT },
        groups: [{ group: '00000000-0000-4000-8000-0000000d2001', role: 'Author' }],
      },
    ]);
    const provider = await describedProvider('Entra-6f0c2b1e');
    expect(provider?.AttributeMapping).toEqual({ email: 'email', 'custom:groups': 'groups', 'custom:oid': 'oid' });
    expect(provider?.ProviderDetails).toMatchObject({ oidc_issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`, client_secret: ENTRA_SECRET });
    const client = await describedClient(result.clientId);
    expect(client?.SupportedIdentityProviders).toEqual(['Entra-6f0c2b1e']);
    expect(client?.ClientSecret).toBeTruthy();
    expect(JSON.stringify(result)).not.toContain(ENTRA_SECRET);
  });

  it('sets up Okta, Entra and a SAML provider in one request, with one app client for all three', async () => {
    const request = {
      account_id: 'both',
      providers: [
        { ...oktaRequest.provider, group: 'Finance-Approvers', role: 'Viewer' },
        entraRequest.providers[0],
        {
          provider_name: 'EntraSaml',
          metadata_url: `https://login.microsoftonline.com/${TENANT}/federationmetadata/2007-06/federationmetadata.xml?appid=x`,
          groups: ['00000000-0000-4000-8000-0000000d2002'],
        },
      ],
      allowed_domains: ['acme.example', 'contoso.example'],
    };
    const result = await setUpSsoProviders(parseSsoProviderRequest(request), settings);

    expect(result.providerNames).toEqual(['Okta-dev-123', 'Entra-6f0c2b1e', 'EntraSaml']);
    expect(await providerNamesInPool()).toEqual(['Entra-6f0c2b1e', 'EntraSaml', 'Okta-dev-123']);
    expect((await describedClient(result.clientId))?.SupportedIdentityProviders).toEqual(result.providerNames);
    const saml = await describedProvider('EntraSaml');
    expect(saml?.ProviderType).toBe('SAML');
    expect(saml?.AttributeMapping).toEqual({
      email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
      'custom:groups': 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
      'custom:oid': 'http://schemas.microsoft.com/identity/claims/objectidentifier',
    });
    expect(result.providers[2]).toMatchObject({ providerType: 'SAML', connection: { type: 'entra', tenantId: TENANT } });
    expect(result.providers[0]?.groups).toEqual([{ group: 'Finance-Approvers', role: 'Viewer' }]);
  });
});

describe('a provider name already in the pool', () => {
  it('is refused as "<name> already exists" and nothing is created or replaced', async () => {
    // The helper's provider maps username ← sub as well; moto would overwrite it with our mapping.
    await createOidcProvider(userPoolId, 'Okta-dev-123');
    const before = await describedProvider('Okta-dev-123');
    const request = { ...entraRequest, providers: [entraRequest.providers[0], { ...oktaRequest.provider, group: 'Finance-Approvers' }] };

    const failure = await setUpSsoProviders(parseSsoProviderRequest(request), settings).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(SsoProviderConflictError);
    expect(failure).toMatchObject({ summary: 'Failed to create OIDC provider.', message: 'Okta-dev-123 already exists', step: 'check-providers' });
    expect(await providerNamesInPool()).toEqual(['Okta-dev-123']);
    expect(await describedProvider('Okta-dev-123')).toEqual(before);
    expect(await clientIdsInPool()).toEqual([]);
    expect(await secretNamesUnderPrefix()).toEqual([]);
  });
});

describe('what Cognito refuses and moto does not', () => {
  const twoProviders = () => parseSsoProviderRequest({ ...entraRequest, providers: [entraRequest.providers[0], { ...oktaRequest.provider, group: 'Finance-Approvers' }] });

  it('a DuplicateProviderException (a concurrent request took the name) is the same conflict, after undoing the first provider', async () => {
    const duplicate = () => new DuplicateProviderException({ message: 'A provider with the name Okta-dev-123 already exists in this pool', $metadata: {} });
    const failure = await withFailingCognito('CreateIdentityProviderCommand', 2, () => setUpSsoProviders(twoProviders(), settings), duplicate).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(SsoProviderConflictError);
    expect(failure).toMatchObject({ message: 'Okta-dev-123 already exists', step: 'create-provider', rollback: { undone: ['identity provider Entra-6f0c2b1e'] } });
    expect(await providerNamesInPool()).toEqual([]);
  });

  it('an InvalidParameterException on a provider (an issuer Cognito cannot read) is a rejection with Cognito’s words', async () => {
    const invalid = () => new InvalidParameterException({ message: 'Unable to contact well-known endpoint', $metadata: {} });
    const failure = await withFailingCognito('CreateIdentityProviderCommand', 1, () => setUpSsoProviders(parseSsoProviderRequest(oktaRequest), settings), invalid).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(SsoProviderRejectedError);
    expect(failure).toMatchObject({ summary: 'Failed to create OIDC provider.', message: 'Okta-dev-123: Unable to contact well-known endpoint' });
    expect(await providerNamesInPool()).toEqual([]);
  });

  it('an app client naming a provider Cognito does not have is "does not exist", with everything undone', async () => {
    const missing = () => new InvalidParameterException({ message: `The provider Okta-dev-123 does not exist for User Pool ${userPoolId}`, $metadata: {} });
    const failure = await withFailingCognito('CreateUserPoolClientCommand', 1, () => setUpSsoProviders(twoProviders(), settings), missing).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(SsoProviderMissingError);
    expect(failure).toMatchObject({
      summary: 'Failed to create Cognito client or SSO provider.',
      message: `The provider Okta-dev-123 does not exist for User Pool ${userPoolId}`,
      step: 'create-app-client',
    });
    expect(await providerNamesInPool()).toEqual([]);
  });
});

describe('reusing a provider of the pool', () => {
  it('links an existing provider to the new app client without touching it', async () => {
    await createOidcProvider(userPoolId, 'AcmeOkta');
    const before = await describedProvider('AcmeOkta');
    const request = { account_id: 'acme', providers: [{ provider_name: 'AcmeOkta' }, entraRequest.providers[0]], group: 'Everyone', allowed_domain: 'acme.example' };

    const result = await setUpSsoProviders(parseSsoProviderRequest(request), settings);

    expect(result.providers[0]).toEqual({
      providerName: 'AcmeOkta',
      providerType: 'OIDC',
      created: false,
      // The helper's issuer is https://acmeokta.okta.example: not an Okta org host, so no connection is implied.
      connection: undefined,
      groups: [{ group: 'Everyone', role: 'Admin' }],
    });
    expect((await describedClient(result.clientId))?.SupportedIdentityProviders).toEqual(['AcmeOkta', 'Entra-6f0c2b1e']);
    expect(await describedProvider('AcmeOkta')).toEqual(before);
  });

  it('refuses a provider that is not in the pool, with Cognito’s words, and creates nothing', async () => {
    const request = { account_id: 'acme', providers: [entraRequest.providers[0], { provider_name: 'NoSuchIdp' }], group: 'Everyone', allowed_domain: 'acme.example' };

    const failure = await setUpSsoProviders(parseSsoProviderRequest(request), settings).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(SsoProviderMissingError);
    expect(failure).toMatchObject({
      summary: 'Failed to create Cognito client or SSO provider.',
      message: `The provider NoSuchIdp does not exist for User Pool ${userPoolId}`,
    });
    expect(await providerNamesInPool()).toEqual([]);
    expect(await clientIdsInPool()).toEqual([]);
  });
});

describe('a failure half-way', () => {
  const twoProviders = () => parseSsoProviderRequest({ ...entraRequest, providers: [entraRequest.providers[0], { ...oktaRequest.provider, group: 'Finance-Approvers' }] });

  it('after the first provider: the first is deleted again, no client is made, and the error names the step', async () => {
    const failure = await withFailingCognito('CreateIdentityProviderCommand', 2, () => setUpSsoProviders(twoProviders(), settings)).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(SsoSetupFailedError);
    expect(failure).toMatchObject({
      summary: 'Failed to create Cognito client or SSO provider.',
      step: 'create-provider',
      rollback: { undone: ['identity provider Entra-6f0c2b1e'], leftBehind: [] },
    });
    expect((failure as Error).message).toMatch(/^creating the provider Okta-dev-123 failed \(InternalErrorException: injected/);
    expect(await providerNamesInPool()).toEqual([]);
    expect(await clientIdsInPool()).toEqual([]);
  });

  it('at the app client: both providers are deleted again', async () => {
    const failure = await withFailingCognito('CreateUserPoolClientCommand', 1, () => setUpSsoProviders(twoProviders(), settings)).catch(
      (error: unknown) => error,
    );

    expect(failure).toMatchObject({ step: 'create-app-client', rollback: { undone: ['identity provider Okta-dev-123', 'identity provider Entra-6f0c2b1e'] } });
    expect(await providerNamesInPool()).toEqual([]);
    expect(await clientIdsInPool()).toEqual([]);
  });

  it('at storing the secret: the app client and the providers are deleted again', async () => {
    const name = 'failCreateSecret';
    secretsClient.middlewareStack.add(
      (() => async () => {
        throw Object.assign(new Error('injected Secrets Manager outage'), { name: 'InternalServiceError' });
      }) as never,
      { step: 'initialize', name },
    );
    const failure = await setUpSsoProviders(twoProviders(), settings)
      .catch((error: unknown) => error)
      .finally(() => secretsClient.middlewareStack.remove(name));

    expect(failure).toBeInstanceOf(SsoSetupFailedError);
    expect(failure).toMatchObject({ step: 'store-client-secret' });
    expect((failure as SsoSetupFailedError).rollback.undone).toHaveLength(3);
    expect(await providerNamesInPool()).toEqual([]);
    expect(await clientIdsInPool()).toEqual([]);
    expect(await secretNamesUnderPrefix()).toEqual([]);
  });

  it('says what it could not delete again', async () => {
    const failure = await withFailingCognito('DeleteIdentityProviderCommand', 1, () =>
      withFailingCognito('CreateUserPoolClientCommand', 1, () => setUpSsoProviders(twoProviders(), settings)),
    ).catch((error: unknown) => error);

    expect(failure).toMatchObject({
      step: 'create-app-client',
      rollback: { undone: [], leftBehind: ['identity provider Okta-dev-123', 'identity provider Entra-6f0c2b1e'] },
    });
    expect((failure as Error).message).toMatch(/could not be deleted \(remove by hand\): identity provider Okta-dev-123, identity provider Entra-6f0c2b1e/);
  });
});
