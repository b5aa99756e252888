/**
 * The tests' user pools (test/helpers/cognito.ts) against serverless.yml, as moto_server describes
 * them: a test of the sign-in triggers is only worth as much as its pool is like the deployed one.
 * Where moto itself differs from Cognito is written beside the helpers.
 */
import { readFileSync } from 'node:fs';
import { DescribeUserPoolClientCommand, DescribeUserPoolCommand } from '@aws-sdk/client-cognito-identity-provider';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cognitoClient } from '../../shared/idp/cognito.js';
import { createSsoUserPool, type SsoUserPool } from '../helpers/cognito.js';

type Resource = { Properties: Record<string, unknown> };
const { resources } = parse(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8')) as {
  resources: { Resources: Record<string, Resource> };
};
const deployedPool = resources.Resources.CognitoUserPoolSsoSync?.Properties ?? {};
const deployedClient = resources.Resources.FederatedAppClient?.Properties ?? {};

let pool: SsoUserPool;

beforeAll(async () => {
  pool = await createSsoUserPool();
});

describe('a test user pool', () => {
  it('has the custom attributes of the deployed pool', async () => {
    const { UserPool } = await cognitoClient.send(new DescribeUserPoolCommand({ UserPoolId: pool.userPoolId }));
    const custom = (UserPool?.SchemaAttributes ?? []).filter((attribute) => attribute.Name?.startsWith('custom:'));
    const deployed = deployedPool.Schema as { Name: string }[];
    expect(custom).toHaveLength(deployed.length);
    for (const { Name, ...declared } of deployed) {
      expect(custom.find((attribute) => attribute.Name === `custom:${Name}`)).toMatchObject(declared);
    }
  });

  it('has an app client with the deployed federated client’s attributes, scopes and flows', async () => {
    const { UserPoolClient } = await cognitoClient.send(
      new DescribeUserPoolClientCommand({ UserPoolId: pool.userPoolId, ClientId: pool.clientId }),
    );
    for (const setting of ['ReadAttributes', 'WriteAttributes', 'AllowedOAuthFlows', 'AllowedOAuthScopes', 'ExplicitAuthFlows'] as const) {
      expect(UserPoolClient?.[setting], setting).toEqual(deployedClient[setting]);
    }
    expect(UserPoolClient?.AllowedOAuthFlowsUserPoolClient).toBe(true);
    expect(UserPoolClient?.ClientSecret).toBeUndefined();
    // serverless.yml lists only COGNITO until identity providers are added; a test client names its own.
    expect(UserPoolClient?.SupportedIdentityProviders).toEqual([pool.providerName]);
  });
});
