/**
 * The admin side of `npm start` in moto_server: the stage's user pool, the admin app client, the
 * admin group and one admin user, so the admin API accepts real signed access tokens locally
 * (moto serves the pool's JWKS and signs tokens with an AWS-shaped issuer). `npm run token`
 * signs that user in and prints the access token.
 */
import { randomBytes } from 'node:crypto';
import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminInitiateAuthCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
} from '@aws-sdk/client-cognito-identity-provider';

export type LocalAdmin = { cognitoEndpoint: string; userPoolId: string; clientId: string; username: string; password: string };

const ADMIN_GROUP = 'sso-sync-admins';

function cognitoAt(endpoint: string): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({ endpoint, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

export async function createLocalAdmin(cognitoEndpoint: string, poolName: string): Promise<LocalAdmin> {
  const cognito = cognitoAt(cognitoEndpoint);
  const { UserPool } = await cognito.send(new CreateUserPoolCommand({ PoolName: poolName }));
  const userPoolId = UserPool?.Id;
  if (!userPoolId) throw new Error('moto_server created no user pool');
  const { UserPoolClient } = await cognito.send(
    new CreateUserPoolClientCommand({ UserPoolId: userPoolId, ClientName: `${poolName}-admin`, ExplicitAuthFlows: ['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] }),
  );
  const clientId = UserPoolClient?.ClientId;
  if (!clientId) throw new Error('moto_server created no app client');
  const username = 'admin';
  const password = `Local-${randomBytes(12).toString('base64url')}1!`;
  await cognito.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: ADMIN_GROUP }));
  await cognito.send(new AdminCreateUserCommand({ UserPoolId: userPoolId, Username: username, MessageAction: 'SUPPRESS' }));
  await cognito.send(new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: username, Password: password, Permanent: true }));
  await cognito.send(new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: username, GroupName: ADMIN_GROUP }));
  return { cognitoEndpoint, userPoolId, clientId, username, password };
}

/** A fresh access token of the local admin user. */
export async function localAdminToken(admin: LocalAdmin): Promise<string> {
  const answer = await cognitoAt(admin.cognitoEndpoint).send(
    new AdminInitiateAuthCommand({
      UserPoolId: admin.userPoolId,
      ClientId: admin.clientId,
      AuthFlow: 'ADMIN_USER_PASSWORD_AUTH',
      AuthParameters: { USERNAME: admin.username, PASSWORD: admin.password },
    }),
  );
  const token = answer.AuthenticationResult?.AccessToken;
  if (!token) throw new Error('moto_server issued no access token');
  return token;
}

/** An SQS queue of moto_server (the stream's dead-letter queue, locally): its URL. */
export async function createLocalQueue(endpoint: string, queueName: string): Promise<string> {
  const { CreateQueueCommand, SQSClient } = await import('@aws-sdk/client-sqs');
  const sqs = new SQSClient({ endpoint, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  if (!QueueUrl) throw new Error('moto_server created no queue');
  return QueueUrl;
}
