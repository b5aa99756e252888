/**
 * The scheduled repair end to end: sign-ins through the real cognito-trigger handler and Okta
 * deactivations through the real hook and stream, with Cognito (moto_server) made to fail by an
 * injected fault; then the repair, against DynamoDB Local and the same user pool.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdminDeleteUserCommand, AdminInitiateAuthCommand, AdminSetUserPasswordCommand, CreateUserPoolClientCommand } from '@aws-sdk/client-cognito-identity-provider';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { cognitoClient, groupsOfUser } from '../../shared/idp/cognito.js';
import { documentClient, dynamoClient, tableName } from '../../shared/store/client.js';
import { keys } from '../../shared/store/keys.js';
import { getInboxEvent } from '../../shared/store/inbox.js';
import { findUserIdByEmail } from '../../shared/store/directory.js';
import { COGNITO_USER_GONE, NOT_REDONE_ACCESS_BACK, RepairFailedError, repairRecordedFailures, type RepairReport } from '../../shared/app/repair.js';
import { handler as repairHandler } from '../../functions/repair.js';
import { createSeededTable, itemsOf, processUntilSettled, SECRET_A1 } from '../helpers/stack.js';
import { createUserPool } from '../helpers/cognito.js';
import { oktaDelivery, oktaLogEvent, withUser } from '../helpers/fixtures.js';
import { postToOktaHook } from '../helpers/okta.js';
import { AUTHENTICATE, CONFIRM, entraTriggerUser, invokeTrigger, oktaTriggerUser, rolesOf } from '../helpers/trigger.js';
import { about, graphNotification, postToGraphHook } from '../helpers/graph.js';
import { lambdaContext, type LocalStream } from '../../scripts/lib/local-stream.js';

let userPoolId: string;
let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
  userPoolId = await createUserPool();
});

const FAULT = 'repairTestCognitoFault';

/** These Cognito commands fail (before they leave the process) until the fault is cleared. */
function failCognito(commandNames: string[], message: string): void {
  cognitoClient.middlewareStack.add(
    ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      if (commandNames.includes(context.commandName ?? '')) throw Object.assign(new Error(message), { name: 'InternalErrorException' });
      return next(args);
    }) as never,
    { step: 'initialize', name: FAULT },
  );
}

const clearCognitoFault = () => cognitoClient.middlewareStack.remove(FAULT);

afterEach(() => {
  clearCognitoFault();
});

const GROUP_COMMANDS = ['AdminListGroupsForUserCommand', 'AdminAddUserToGroupCommand', 'AdminRemoveUserFromGroupCommand', 'CreateGroupCommand'];

async function itemAt(key: { pk: string; sk: string }) {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  return Item;
}

const subjectOf = (userName: string) => userName.slice('OktaA_'.length);
const groupSyncMarker = (userName: string) => itemAt(keys.groupSyncRepair('okta-a', subjectOf(userName)));
const identityOf = (userName: string) => itemAt(keys.identityBySubject('okta-a', subjectOf(userName)));

async function revocationMarker(eventId: string, email: string) {
  const userId = await findUserIdByEmail('okta-a', email);
  return itemAt(keys.revocationRepair('okta-a', eventId, userId ?? 'none'));
}

/** The report's items of one user (other tests' markers share the table). */
const itemsAbout = (report: RepairReport, text: string) => report.items.filter((item) => item.of.includes(text));

/** A session for the user, as sign-in would leave one (moto cannot run a federated sign-in: a password sign-in stands in). */
async function sessionOf(username: string) {
  const { UserPoolClient } = await cognitoClient.send(
    new CreateUserPoolClientCommand({ UserPoolId: userPoolId, ClientName: 'session', ExplicitAuthFlows: ['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'] }),
  );
  const ClientId = UserPoolClient?.ClientId;
  const password = `Pw-${crypto.randomUUID()}`;
  await cognitoClient.send(new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: username, Password: password, Permanent: true }));
  const signedIn = await cognitoClient.send(
    new AdminInitiateAuthCommand({ UserPoolId: userPoolId, ClientId, AuthFlow: 'ADMIN_USER_PASSWORD_AUTH', AuthParameters: { USERNAME: username, PASSWORD: password } }),
  );
  const refreshToken = signedIn.AuthenticationResult?.RefreshToken ?? '';
  return () =>
    cognitoClient.send(
      new AdminInitiateAuthCommand({ UserPoolId: userPoolId, ClientId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: refreshToken } }),
    );
}

/** An Okta event for the user through the real hook and stream; returns its id. */
async function deliver(fixtureName: string, email: string): Promise<string> {
  const event = withUser(oktaLogEvent(fixtureName), email);
  expect((await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: SECRET_A1 })).statusCode).toBe(200);
  await processUntilSettled(stream, 'okta-a', [event.uuid]);
  return event.uuid;
}

/** Counts the DynamoDB commands sent while `run` runs. */
async function dynamoCommandsDuring<T>(run: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
  const commands: string[] = [];
  const name = 'countRepairCommands';
  dynamoClient.middlewareStack.add(
    ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      commands.push(context.commandName ?? '');
      return next(args);
    }) as never,
    { step: 'initialize', name },
  );
  try {
    return { result: await run(), commands };
  } finally {
    dynamoClient.middlewareStack.remove(name);
  }
}

describe('a Cognito group sync that failed at sign-in', () => {
  it('is recorded with a marker, and the next repair run gives the user their groups and drops the marker', async () => {
    const user = await oktaTriggerUser(userPoolId, 'repair-groups');
    failCognito(GROUP_COMMANDS, 'injected Cognito outage');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    clearCognitoFault();
    expect(await groupsOfUser(user.cognito)).toEqual([]);
    expect(await groupSyncMarker(user.userName)).toMatchObject({ entity: 'RepairMarker', repair: 'group-sync', attempts: 1, lastError: 'injected Cognito outage' });

    const report = await repairRecordedFailures();
    expect(itemsAbout(report, subjectOf(user.userName))).toEqual([
      expect.objectContaining({ repair: 'group-sync', result: 'repaired', detail: 'managed groups now acme:Admin' }),
    ]);
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
    expect(await groupSyncMarker(user.userName)).toBeUndefined();
    const identity = await identityOf(user.userName);
    expect(identity).toMatchObject({ appliedGroups: ['acme:Admin'] });
    expect(identity).not.toHaveProperty('groupSyncError');
  });

  it('loses its marker when a later sign-in syncs the groups first', async () => {
    const user = await oktaTriggerUser(userPoolId, 'repair-by-sign-in');
    failCognito(GROUP_COMMANDS, 'injected Cognito outage');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    clearCognitoFault();
    expect(await groupSyncMarker(user.userName)).toBeDefined();

    await invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers"]'));
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
    expect(await groupSyncMarker(user.userName)).toBeUndefined();
  });

  it('keeps its marker, one attempt more, while Cognito still fails, and the scheduled function fails so it is alarmed', async () => {
    const user = await oktaTriggerUser(userPoolId, 'repair-still-failing');
    failCognito(GROUP_COMMANDS, 'injected Cognito outage');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));

    // Still failing: the run goes through every item, then throws.
    const run = repairHandler({} as never, lambdaContext('repair'));
    await expect(run).rejects.toBeInstanceOf(RepairFailedError);
    await expect(run).rejects.toThrow(subjectOf(user.userName));
    expect(await groupSyncMarker(user.userName)).toMatchObject({ attempts: 2, lastError: 'injected Cognito outage' });
    expect(await identityOf(user.userName)).toMatchObject({ groupSyncError: { message: 'injected Cognito outage' } });

    clearCognitoFault();
    await expect(repairHandler({} as never, lambdaContext('repair'))).resolves.toMatchObject({ failed: 0 });
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
    expect(await groupSyncMarker(user.userName)).toBeUndefined();
  });

  it('repairs at most the run\'s limit, and says more are left', async () => {
    const users = [await oktaTriggerUser(userPoolId, 'repair-limit-one'), await oktaTriggerUser(userPoolId, 'repair-limit-two')];
    failCognito(GROUP_COMMANDS, 'injected Cognito outage');
    for (const user of users) await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    clearCognitoFault();

    const first = await repairRecordedFailures({ limit: 1 });
    expect(first.items).toHaveLength(1);
    expect(first.more).toBe(true);
    const rest = await repairRecordedFailures();
    expect(rest.more).toBe(false);
    for (const user of users) {
      expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
      expect(await groupSyncMarker(user.userName)).toBeUndefined();
    }
  });

  it('goes on from where the last run stopped, so items that keep failing do not hold back the others', async () => {
    const users = [await oktaTriggerUser(userPoolId, 'repair-turn-one'), await oktaTriggerUser(userPoolId, 'repair-turn-two')];
    failCognito(GROUP_COMMANDS, 'injected Cognito outage');
    for (const user of users) await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));

    const first = await repairRecordedFailures({ limit: 1 });
    const second = await repairRecordedFailures({ limit: 1 });
    const third = await repairRecordedFailures({ limit: 1 });
    expect([first, second, third].map((report) => report.items.map((item) => item.result))).toEqual([['failed'], ['failed'], ['failed']]);
    const tried = [first, second, third].map((report) => report.items[0]?.of);
    expect(new Set(tried.slice(0, 2))).toEqual(new Set(users.map((user) => subjectOf(user.userName))));
    expect(tried[2]).toBe(tried[0]); // round again

    clearCognitoFault();
    await repairRecordedFailures();
    for (const user of users) expect(await groupSyncMarker(user.userName)).toBeUndefined();
  });
});

describe('a revocation that failed after deprovisioning', () => {
  it('is redone by the repair: the user is signed out and loses the managed groups, and the event records it done', async () => {
    const user = await oktaTriggerUser(userPoolId, 'repair-revocation');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers", "Payroll-Admins"]'));
    const refresh = await sessionOf(user.userName);
    await expect(refresh()).resolves.toBeDefined();

    failCognito(['AdminUserGlobalSignOutCommand'], 'injected sign-out failure');
    const eventId = await deliver('okta-user-deactivate.json', user.email);
    clearCognitoFault();
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin', globex: 'deleted:Viewer' });
    expect(await getInboxEvent('okta-a', eventId)).toMatchObject({ status: 'applied', revocation: { status: 'failed', detail: 'injected sign-out failure' } });
    expect(await revocationMarker(eventId, user.email)).toMatchObject({ repair: 'revocation', attempts: 1, cognitoUsername: user.userName, userPoolId });
    await expect(refresh()).resolves.toBeDefined(); // the session outlived the failed revocation

    const { result: report, commands } = await dynamoCommandsDuring(() => repairRecordedFailures());
    expect(itemsAbout(report, eventId)).toEqual([expect.objectContaining({ repair: 'revocation', result: 'repaired', detail: expect.stringContaining('signed out everywhere') })]);
    await expect(refresh()).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    expect(await groupsOfUser(user.cognito)).toEqual([]);
    expect(await getInboxEvent('okta-a', eventId)).toMatchObject({ revocation: { status: 'done', detail: expect.stringContaining('removed 2 role group(s)') } });
    expect(await revocationMarker(eventId, user.email)).toBeUndefined();
    // No scans: markers are a Query of their partition, the rest key reads and writes.
    expect(commands).not.toContain('ScanCommand');
    expect([...new Set(commands)].sort()).toEqual(expect.arrayContaining(['GetItemCommand', 'QueryCommand', 'TransactWriteItemsCommand']));
    expect(commands.every((command) => ['GetItemCommand', 'QueryCommand', 'TransactWriteItemsCommand', 'UpdateItemCommand', 'DeleteItemCommand'].includes(command))).toBe(true);
  });

  it('is not redone for a user who got access back meanwhile: the marker is dropped and the event says why', async () => {
    const user = await oktaTriggerUser(userPoolId, 'repair-access-back');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    failCognito(['AdminUserGlobalSignOutCommand'], 'injected sign-out failure');
    const eventId = await deliver('okta-group-membership-remove.json', user.email); // Finance-Approvers: acme, the only one
    clearCognitoFault();
    expect(await getInboxEvent('okta-a', eventId)).toMatchObject({ revocation: { status: 'failed' } });
    expect(await revocationMarker(eventId, user.email)).toBeDefined();

    // Back in the group: a groups value that changed since the last sign-in is evidence newer than the removal.
    await invokeTrigger(user.event(AUTHENTICATE, '["Finance-Approvers", "Payroll-Admins"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin', globex: 'active:Viewer' });

    const report = await repairRecordedFailures();
    expect(itemsAbout(report, eventId)).toEqual([expect.objectContaining({ result: 'dropped', detail: NOT_REDONE_ACCESS_BACK })]);
    expect((await groupsOfUser(user.cognito)).sort()).toEqual(['acme:Admin', 'globex:Viewer']);
    expect(await getInboxEvent('okta-a', eventId)).toMatchObject({ revocation: { status: 'skipped', detail: NOT_REDONE_ACCESS_BACK } });
    expect(await revocationMarker(eventId, user.email)).toBeUndefined();
  });

  it('keeps its marker while Cognito still fails, with the attempt counted on it and the event', async () => {
    const user = await oktaTriggerUser(userPoolId, 'repair-signout-fails');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    failCognito(['AdminUserGlobalSignOutCommand'], 'injected sign-out failure');
    const eventId = await deliver('okta-user-deactivate.json', user.email);

    const report = await repairRecordedFailures();
    expect(itemsAbout(report, eventId)).toEqual([expect.objectContaining({ result: 'failed', detail: 'injected sign-out failure', attempts: 2 })]);
    expect(await revocationMarker(eventId, user.email)).toMatchObject({ attempts: 2, lastError: 'injected sign-out failure' });
    expect(await getInboxEvent('okta-a', eventId)).toMatchObject({ revocation: { status: 'failed' } });

    clearCognitoFault();
    const repaired = await repairRecordedFailures();
    expect(itemsAbout(repaired, eventId)).toEqual([expect.objectContaining({ result: 'repaired' })]);
    expect(await groupsOfUser(user.cognito)).toEqual([]);
    expect(await revocationMarker(eventId, user.email)).toBeUndefined();
  });
});

describe('a revocation that failed after a Graph notification', () => {
  it('is recorded and redone the same way', async () => {
    const objectId = '00000000-0000-4000-8000-0000000d1999';
    const email = 'entra.repair@example.com';
    const { userName, event: signIn } = await entraTriggerUser(userPoolId, email, { 'custom:oid': objectId });
    await invokeTrigger(signIn);
    const refresh = await sessionOf(userName);

    failCognito(['AdminUserGlobalSignOutCommand'], 'injected sign-out failure');
    const deletion = about(graphNotification('graph-user-deleted.json'), objectId);
    deletion.resourceData.eventTime = new Date().toISOString(); // after the sign-in's change, so not stale
    expect((await postToGraphHook('entra-a', { value: [deletion] })).statusCode).toBe(202);
    let stored: Record<string, unknown> | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && !stored?.revocation; ) {
      await stream.drain();
      stored = (await itemsOf('InboxEvent')).find((item) => (item.record as { resourceId?: string } | undefined)?.resourceId === objectId);
    }
    clearCognitoFault();
    expect(stored).toMatchObject({ status: 'applied', revocation: { status: 'failed', detail: 'injected sign-out failure' } });
    const eventId = String(stored?.eventId);
    const userId = (await findUserIdByEmail('entra-a', email)) ?? '';
    expect(await itemAt(keys.revocationRepair('entra-a', eventId, userId))).toMatchObject({ attempts: 1 });

    const report = await repairRecordedFailures();
    expect(itemsAbout(report, eventId)).toEqual([expect.objectContaining({ connectionId: 'entra-a', result: 'repaired' })]);
    await expect(refresh()).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    expect(await itemAt(keys.inboxEvent('entra-a', eventId))).toMatchObject({ revocation: { status: 'done' } });
    expect(await itemAt(keys.revocationRepair('entra-a', eventId, userId))).toBeUndefined();
  });
});

describe('a repair that can never succeed', () => {
  it('drops a revocation whose Cognito user was deleted since, saying so on the event, instead of failing every run', async () => {
    const user = await oktaTriggerUser(userPoolId, 'repair-user-deleted');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    failCognito(['AdminUserGlobalSignOutCommand'], 'injected sign-out failure');
    const eventId = await deliver('okta-user-deactivate.json', user.email);
    clearCognitoFault();
    await cognitoClient.send(new AdminDeleteUserCommand({ UserPoolId: userPoolId, Username: user.userName }));

    const report = await repairRecordedFailures();
    expect(itemsAbout(report, eventId)).toEqual([expect.objectContaining({ result: 'dropped', detail: COGNITO_USER_GONE })]);
    expect(await getInboxEvent('okta-a', eventId)).toMatchObject({ revocation: { status: 'skipped', detail: COGNITO_USER_GONE } });
    expect(await revocationMarker(eventId, user.email)).toBeUndefined();
  });

  it('drops a group sync whose Cognito user was deleted since', async () => {
    const user = await oktaTriggerUser(userPoolId, 'repair-sync-user-deleted');
    failCognito(GROUP_COMMANDS, 'injected Cognito outage');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    clearCognitoFault();
    await cognitoClient.send(new AdminDeleteUserCommand({ UserPoolId: userPoolId, Username: user.userName }));

    const report = await repairRecordedFailures();
    expect(itemsAbout(report, subjectOf(user.userName))).toEqual([expect.objectContaining({ result: 'dropped', detail: COGNITO_USER_GONE })]);
    expect(await groupSyncMarker(user.userName)).toBeUndefined();
  });
});

describe('npm run repair', () => {
  const run = promisify(execFile);
  const repairCli = () =>
    run('node_modules/.bin/tsx', ['scripts/repair.ts', '--endpoint', process.env.DYNAMODB_ENDPOINT ?? '', '--table', tableName, '--cognito-endpoint', process.env.COGNITO_ENDPOINT ?? '']);

  it('repairs what was recorded and prints each item, then finds nothing left', async () => {
    const user = await oktaTriggerUser(userPoolId, 'repair-cli');
    failCognito(GROUP_COMMANDS, 'injected Cognito outage');
    await invokeTrigger(user.event(CONFIRM, '["Finance-Approvers"]'));
    clearCognitoFault();

    const { stdout } = await repairCli();
    expect(stdout).toContain(`repaired group-sync okta-a ${subjectOf(user.userName)}: managed groups now acme:Admin`);
    expect(stdout).toMatch(/\d+ repaired, 0 dropped, 0 still failing\./);
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
    expect((await repairCli()).stdout).toContain(`Nothing to repair in ${tableName}.`);
  });
});
