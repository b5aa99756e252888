/** A user pool of the test's own in moto_server, shaped like the one sso-sync expects. */
import {
  AdminCreateUserCommand,
  CreateGroupCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { cognitoClient } from '../../shared/idp/cognito.js';

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

/** A user named the way Cognito names federated users: `<ProviderName>_<IdP user id>`. */
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
