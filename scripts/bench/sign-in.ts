/**
 * The sign-in trigger (PostAuthentication) through the real handler, against the bench's
 * table and moto_server: latency of warm sign-ins that change nothing, and the DynamoDB and
 * Cognito calls one of them makes. Import after the environment is set.
 */
import { AdminCreateUserCommand, CreateUserPoolCommand } from '@aws-sdk/client-cognito-identity-provider';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { handler } from '../../functions/cognito-trigger.js';
import { cognitoClient } from '../../shared/idp/cognito.js';
import { dynamoClient } from '../../shared/store/client.js';
import { lambdaContext } from '../lib/local-stream.js';
import { benchUserEmail, REMOVAL_GROUP } from './seed-data.js';
import { summarize } from './stats.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/cognito-post-authentication-okta.json');
const PROVIDER_NAME = 'BenchOkta';

type TriggerEvent = { userPoolId: string; userName: string; request: { userAttributes: Record<string, string> } };

function signInEvent(userPoolId: string, index: number): TriggerEvent {
  const event = JSON.parse(readFileSync(FIXTURE, 'utf8')) as TriggerEvent;
  const idpUserId = `00ubench${String(index).padStart(12, '0')}`;
  event.userPoolId = userPoolId;
  event.userName = `${PROVIDER_NAME}_${idpUserId}`;
  event.request.userAttributes = {
    ...event.request.userAttributes,
    email: benchUserEmail(index),
    identities: JSON.stringify([{ userId: idpUserId, providerName: PROVIDER_NAME, providerType: 'OIDC', issuer: null, primary: true, dateCreated: 1 }]),
    'custom:groups': JSON.stringify([REMOVAL_GROUP, 'Bench-Sales']),
  };
  return event;
}

/** Counts commands per client while `work` runs. */
async function countCalls(work: () => Promise<unknown>) {
  const calls: string[] = [];
  const name = `benchSignInCounter-${Math.random()}`;
  const counter = (client: string) => (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
    calls.push(`${client}:${context.commandName}`);
    return next(args);
  };
  dynamoClient.middlewareStack.add(counter('dynamo') as never, { step: 'initialize', name });
  cognitoClient.middlewareStack.add(counter('cognito') as never, { step: 'initialize', name });
  try {
    await work();
  } finally {
    dynamoClient.middlewareStack.remove(name);
    cognitoClient.middlewareStack.remove(name);
  }
  const writes = /Put|Update|Delete|TransactWrite|BatchWrite/;
  return {
    unchangedDynamoReads: calls.filter((call) => call.startsWith('dynamo:') && !writes.test(call)).length,
    unchangedDynamoWrites: calls.filter((call) => call.startsWith('dynamo:') && writes.test(call)).length,
    unchangedCognitoCalls: calls.filter((call) => call.startsWith('cognito:')).length,
  };
}

export async function runSignInBenchmark(options: { firstUser: number; users: number; samples: number }, log: (message: string) => void) {
  const { UserPool } = await cognitoClient.send(new CreateUserPoolCommand({ PoolName: 'bench' }));
  const userPoolId = UserPool?.Id ?? '';
  const users = Array.from({ length: options.users }, (_, offset) => options.firstUser + offset);
  log(`signIn: first sign-ins of ${users.length} users, then ${options.samples} unchanged sign-ins`);
  for (const index of users) {
    const event = signInEvent(userPoolId, index);
    await cognitoClient.send(new AdminCreateUserCommand({ UserPoolId: userPoolId, Username: event.userName, MessageAction: 'SUPPRESS' }));
    await handler(event, lambdaContext('cognito-trigger'));
  }
  const durations: number[] = [];
  for (let sample = 0; sample < options.samples; sample++) {
    const event = signInEvent(userPoolId, users[sample % users.length] as number);
    const started = performance.now();
    await handler(event, lambdaContext('cognito-trigger'));
    durations.push(performance.now() - started);
  }
  const counts = await countCalls(() => handler(signInEvent(userPoolId, users[0] as number), lambdaContext('cognito-trigger')));
  return { ...summarize(durations), ...counts };
}
