/** User pools of the tests' own in moto_server, shaped like the one serverless.yml deploys. */
import {
  AdminCreateUserCommand,
  CreateGroupCommand,
  CreateIdentityProviderCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { cognitoClient } from '../../shared/idp/cognito.js';
import { documentClient, tableName } from '../../shared/store/client.js';
import { keys } from '../../shared/store/keys.js';

export async function createUserPool(): Promise<string> {
  const { UserPool } = await cognitoClient.send(
    new CreateUserPoolCommand({
      PoolName: `test-${crypto.randomUUID()}`,
      Schema: [
        { Name: 'groups', AttributeDataType: 'String', Mutable: true, StringAttributeConstraints: { MaxLength: '2048' } },
        { Name: 'oid', AttributeDataType: 'String', Mutable: true, StringAttributeConstraints: { MaxLength: '64' } },
      ],
    }),
  );
  if (!UserPool?.Id) throw new Error('moto created no user pool');
  return UserPool.Id;
}

export async function createGroups(userPoolId: string, names: string[]): Promise<void> {
  for (const name of names) await cognitoClient.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: name }));
}

/**
 * A user named the way Cognito names federated users: `<ProviderName>_<IdP user id>`. moto (5.2.1)
 * has no federated sign-in and runs no triggers: it sets no `identities` attribute, creates no
 * automatic `<userPoolId>_<ProviderName>` group, and its users start FORCE_CHANGE_PASSWORD, never
 * EXTERNAL_PROVIDER; the trigger tests therefore call the handlers with Cognito's documented events.
 * Nor does it enforce the pool's schema: it stores undeclared custom attributes and values longer
 * than their MaxLength, which real Cognito refuses.
 */
export async function createFederatedUser(userPoolId: string, username: string, email: string): Promise<void> {
  await cognitoClient.send(
    new AdminCreateUserCommand({
      UserPoolId: userPoolId,
      Username: username,
      MessageAction: 'SUPPRESS',
      UserAttributes: [
        { Name: 'email', Value: email },
        { Name: 'email_verified', Value: 'true' },
      ],
    }),
  );
}

/**
 * An OIDC identity provider mapped as README's Cognito setup says for Okta: the groups claim lands
 * in custom:groups. moto accepts a second provider of the same name and overwrites the first, where
 * Cognito throws DuplicateProviderException.
 */
export async function createOidcProvider(userPoolId: string, providerName: string): Promise<void> {
  await cognitoClient.send(
    new CreateIdentityProviderCommand({
      UserPoolId: userPoolId,
      ProviderName: providerName,
      ProviderType: 'OIDC',
      ProviderDetails: {
        client_id: `${providerName}-client`,
        client_secret: 'test-only-secret',
        authorize_scopes: 'openid email profile groups',
        oidc_issuer: `https://${providerName.toLowerCase()}.okta.example`,
        attributes_request_method: 'GET',
      },
      AttributeMapping: { email: 'email', 'custom:groups': 'groups', username: 'sub' },
    }),
  );
}

/**
 * serverless.yml's FederatedAppClient, bound to one provider. Like it, the client may write
 * custom:groups and custom:oid: Cognito writes mapped attributes at each federated sign-in and fails
 * the sign-in if the client may not. What keeps users from writing their own groups is that no token
 * of the client carries aws.cognito.signin.user.admin and there is no password or SRP flow. moto
 * enforces none of this (nor checks SupportedIdentityProviders or WriteAttributes against the pool),
 * so it is tested on the configuration only (test/unit/serverless-config.test.ts).
 */
export async function createAppClient(userPoolId: string, providerName: string): Promise<string> {
  const { UserPoolClient } = await cognitoClient.send(
    new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: `test-${providerName}`,
      GenerateSecret: false,
      SupportedIdentityProviders: [providerName],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthScopes: ['openid', 'email', 'profile'],
      CallbackURLs: ['http://localhost:3000/callback'],
      ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
      ReadAttributes: ['email', 'email_verified', 'given_name', 'family_name', 'custom:groups', 'custom:oid'],
      WriteAttributes: ['email', 'given_name', 'family_name', 'custom:groups', 'custom:oid'],
    }),
  );
  if (!UserPoolClient?.ClientId) throw new Error('moto created no app client');
  return UserPoolClient.ClientId;
}

export type SsoUserPool = { userPoolId: string; providerName: string; clientId: string };

/**
 * A user pool of the test's own with one OIDC provider and its app client. It has no groups:
 * sso-sync creates the `<accountId>:<Role>` groups the first time a sign-in needs them.
 */
export async function createSsoUserPool(providerName = 'OktaA'): Promise<SsoUserPool> {
  const userPoolId = await createUserPool();
  await createOidcProvider(userPoolId, providerName);
  const clientId = await createAppClient(userPoolId, providerName);
  return { userPoolId, providerName, clientId };
}

/** Names the user's Cognito user on their identity of the connection, as a sign-in through Cognito leaves it. */
export async function nameCognitoUserOnIdentity(connectionId: string, subject: string, username: string, userPoolId: string): Promise<void> {
  await documentClient.send(
    new UpdateCommand({
      TableName: tableName,
      Key: keys.identityBySubject(connectionId, subject),
      UpdateExpression: 'SET cognitoUsername = :username, userPoolId = :pool',
      ExpressionAttributeValues: { ':username': username, ':pool': userPoolId },
    }),
  );
}
