/**
 * The sign-in triggers end to end: Cognito's trigger events (from test/fixtures) through
 * the real handler, against DynamoDB Local (memberships) and moto_server (the user pool).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cognitoClient, groupsOfUser } from '../../shared/idp/cognito.js';
import { AdminInitiateAuthCommand, AdminSetUserPasswordCommand, CreateUserPoolClientCommand } from '@aws-sdk/client-cognito-identity-provider';
import { fixture } from '../helpers/fixtures.js';
import { createSeededTable, itemsOf, processUntilSettled, SECRET_A1 } from '../helpers/stack.js';
import type { LocalStream } from '../../scripts/lib/local-stream.js';
import { oktaDelivery, oktaLogEvent, withUser } from '../helpers/fixtures.js';
import { postToOktaHook } from '../helpers/okta.js';
import { about, graphNotification, postToGraphHook } from '../helpers/graph.js';
import { getInboxEvent } from '../../shared/store/inbox.js';
import { createUserPool } from '../helpers/cognito.js';
import { AUTHENTICATE, CONFIRM, entraTriggerUser, invokeTrigger, oktaTriggerUser, rolesOf, TOKEN, type TriggerEvent } from '../helpers/trigger.js';
import { REFUSAL_MESSAGES } from '../../shared/domain/admission.js';
import { findUserIdByEmail } from '../../shared/store/directory.js';

let userPoolId: string;
let stream: LocalStream;

beforeAll(async () => {
  stream = await createSeededTable();
  userPoolId = await createUserPool();
});

const oktaUser = (name: string, email?: string, provider?: string) => oktaTriggerUser(userPoolId, name, email, provider);
const entraSignIn = (email: string, attributes: Record<string, string | undefined> = {}) => entraTriggerUser(userPoolId, email, attributes);
const invoke = invokeTrigger;
const confirm = CONFIRM;
const authenticate = AUTHENTICATE;
const token = TOKEN;

describe('first and later sign-ins', () => {
  it('admits a first sign-in with its role, links the identity and adds the Cognito group', async () => {
    const user = await oktaUser('first-sign-in');
    const result = await invoke(user.event(confirm, '["Finance-Approvers"]'));
    expect(result.triggerSource).toBe('PostConfirmation_ConfirmSignUp');
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
    const identity = (await itemsOf('Identity')).find((item) => item.cognitoUsername === user.userName && item.subject);
    expect(identity).toMatchObject({ subject: user.userName.slice('OktaA_'.length), appliedGroups: ['acme:Admin'] });
  });

  it('updates roles and groups when a later sign-in brings other groups, one user in two accounts with two roles', async () => {
    const user = await oktaUser('changed-groups');
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    await invoke(user.event(authenticate, '[Payroll-Admins]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Author', globex: 'active:Viewer' });
    expect((await groupsOfUser(user.cognito)).sort()).toEqual(['acme:Author', 'globex:Viewer']);
  });

  it('denies a sign-in whose claim no longer names a granting group, and removes the managed groups', async () => {
    const user = await oktaUser('left-all-groups');
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    await expect(invoke(user.event(authenticate, '["Everyone"]'))).rejects.toThrow(REFUSAL_MESSAGES.no_granting_group);
    expect(await groupsOfUser(user.cognito)).toEqual([]);
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });
  });
});

describe('refusals', () => {
  it('refuses an email domain the accounts do not allow, before sign-up', async () => {
    const user = await oktaUser('wrong-domain', 'someone@elsewhere.example');
    await expect(invoke(user.event('cognito-pre-signup-external.json', '["Finance-Approvers"]'))).rejects.toThrow(
      REFUSAL_MESSAGES.domain_not_allowed,
    );
  });

  it('refuses a user in no granting group, with a plain message and no trace', async () => {
    const user = await oktaUser('no-group');
    const error = await invoke(user.event(confirm, '["Everyone"]')).catch((caught: Error) => caught);
    expect((error as Error).message).toBe(REFUSAL_MESSAGES.no_granting_group);
    expect((error as Error).message).not.toMatch(/acme|globex|\n\s+at /);
    expect(await rolesOf(user.email)).toEqual({});
  });

  it('refuses a provider that no connection has', async () => {
    const user = await oktaUser('unknown-provider');
    const event = user.event(confirm, '["Finance-Approvers"]');
    event.request.userAttributes.identities = event.request.userAttributes.identities!.replace('OktaA', 'Mystery');
    await expect(invoke(event)).rejects.toThrow(/SSO is not set up/);
  });
});

describe('tokens', () => {
  it.each([
    ['1', 'claimsOverrideDetails'],
    ['2', 'claimsAndScopeOverrideDetails'],
  ])('puts the role groups into a version %s token under %s, keeping the automatic group', async (version, key) => {
    const user = await oktaUser(`token-v${version}`);
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    const autoGroup = `${userPoolId}_OktaA`;
    const event = user.event(token, '["Finance-Approvers"]', { version });
    event.request.groupConfiguration = { groupsToOverride: [autoGroup], iamRolesToOverride: [], preferredRole: null };
    const result = await invoke(event);
    expect(result.response?.[key]).toEqual({ groupOverrideDetails: { groupsToOverride: [autoGroup, 'acme:Admin'], iamRolesToOverride: [] } });
  });

  it('refuses new tokens on refresh to a user with no active membership left', async () => {
    const user = await oktaUser('refresh-after-leaving');
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    await invoke(user.event(authenticate, '["Everyone"]')).catch(() => undefined);
    const refresh = user.event(token, '["Finance-Approvers"]', { triggerSource: 'TokenGeneration_RefreshTokens' });
    await expect(invoke(refresh)).rejects.toThrow(/access has been removed/);
  });
});

describe('native users', () => {
  it('pass through untouched, and a custom:groups value gives them nothing', async () => {
    const native = fixture<TriggerEvent>(token);
    delete native.request.userAttributes.identities;
    native.userName = 'native-person';
    native.userPoolId = userPoolId;
    native.request.userAttributes['custom:groups'] = '["Finance-Approvers"]';
    native.request.userAttributes.email = 'native.person@example.com';
    const before = structuredClone(native);
    expect(await invoke(native)).toEqual(before);
    const confirmNative = { ...structuredClone(native), triggerSource: 'PostConfirmation_ConfirmSignUp' };
    expect(await invoke(confirmNative)).toEqual(confirmNative);
    expect(await rolesOf(native.request.userAttributes.email!)).toEqual({});
  });
});

describe('cost and restoration', () => {
  it('makes 2 DynamoDB reads, no write and no Cognito call for a sign-in that changes nothing', async () => {
    const { dynamoClient } = await import('../../shared/store/client.js');
    const { cognitoClient } = await import('../../shared/idp/cognito.js');
    const user = await oktaUser('unchanged');
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    await invoke(user.event(authenticate, '["Finance-Approvers"]')); // warms the configuration cache

    const calls: string[] = [];
    const counter = (prefix: string) => (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      calls.push(`${prefix}:${context.commandName}`);
      return next(args);
    };
    dynamoClient.middlewareStack.add(counter('dynamo') as never, { step: 'initialize', name: 'countSignInCalls' });
    cognitoClient.middlewareStack.add(counter('cognito') as never, { step: 'initialize', name: 'countSignInCalls' });
    try {
      await invoke(user.event(authenticate, '["Finance-Approvers"]'));
    } finally {
      dynamoClient.middlewareStack.remove('countSignInCalls');
      cognitoClient.middlewareStack.remove('countSignInCalls');
    }
    expect(calls.sort()).toEqual(['dynamo:GetItemCommand', 'dynamo:QueryCommand']);
  });

  it('restores a soft-deleted membership when a later sign-in grants it again', async () => {
    const user = await oktaUser('comes-back');
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    await invoke(user.event(authenticate, '["Everyone"]')).catch(() => undefined);
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });
    await invoke(user.event(authenticate, '["Finance-Approvers"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
    const userId = await findUserIdByEmail('okta-a', user.email);
    const audits = (await itemsOf('Audit')).filter((entry) => entry.userId === userId).map((entry) => entry.action);
    expect(audits.sort()).toEqual(['membership.created', 'membership.restored', 'membership.soft_deleted']);
  });
});

/**
 * A session for the user, as sign-in would leave one. (moto cannot run a federated sign-in, so a
 * password sign-in through a test-only client stands in for it: what matters is the refresh token.)
 */
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
  return {
    refresh: () =>
      cognitoClient.send(
        new AdminInitiateAuthCommand({ UserPoolId: userPoolId, ClientId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: refreshToken } }),
      ),
  };
}

describe('revocation on deprovision', () => {
  async function deactivate(email: string) {
    const event = withUser(oktaLogEvent('okta-user-deactivate.json'), email);
    expect((await postToOktaHook('okta-a', oktaDelivery([event]), { authorization: SECRET_A1 })).statusCode).toBe(200);
    await processUntilSettled(stream, 'okta-a', [event.uuid]);
    return getInboxEvent('okta-a', event.uuid);
  }

  it('signs out a user left with no active membership and removes their managed groups', async () => {
    const user = await oktaUser('leaver-signed-in');
    await invoke(user.event(confirm, '["Finance-Approvers", "Payroll-Admins"]'));
    expect((await groupsOfUser(user.cognito)).sort()).toEqual(['acme:Admin', 'globex:Viewer']);
    const session = await sessionOf(user.userName);
    await expect(session.refresh()).resolves.toBeDefined();

    const outcome = await deactivate(user.email);
    // The refresh token Cognito issued before is dead: the global sign-out happened.
    await expect(session.refresh()).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    expect(outcome).toMatchObject({ status: 'applied', revocation: { status: 'done', detail: expect.stringContaining('signed out everywhere') } });
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin', globex: 'deleted:Viewer' });
    expect(await groupsOfUser(user.cognito)).toEqual([]);

    const refresh = user.event(token, '["Finance-Approvers"]', { triggerSource: 'TokenGeneration_RefreshTokens' });
    await expect(invoke(refresh)).rejects.toThrow(/access has been removed/);
  });

  it('signs out an Entra user when Graph reports them deleted', async () => {
    const objectId = '00000000-0000-4000-8000-0000000d1888';
    const { userName, event: signIn } = await entraSignIn('entra.leaver@example.com', { 'custom:oid': objectId });
    await invoke(signIn);
    const session = await sessionOf(userName);
    await expect(session.refresh()).resolves.toBeDefined();

    const deletion = about(graphNotification('graph-user-deleted.json'), objectId);
    // Deleted after the sign-in (an older event time would be stale against the sign-in's change).
    deletion.resourceData.eventTime = new Date().toISOString();
    const response = await postToGraphHook('entra-a', { value: [deletion] });
    expect(response.statusCode).toBe(202);
    let stored: Record<string, unknown> | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      await stream.drain();
      stored = (await itemsOf('InboxEvent')).find((item) => (item.record as { resourceId?: string } | undefined)?.resourceId === objectId);
      if (stored?.revocation) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(stored).toMatchObject({ status: 'applied', revocation: { status: 'done', detail: expect.stringContaining('signed out everywhere') } });
    await expect(session.refresh()).rejects.toMatchObject({ name: 'NotAuthorizedException' });
    expect(await rolesOf('entra.leaver@example.com', 'entra-a')).toEqual({ contoso: 'deleted:Author', northwind: 'deleted:Viewer' });
  });

  it('leaves the session of a user who still has an active membership elsewhere', async () => {
    const user = await oktaUser('still-member-elsewhere');
    await invoke(user.event(confirm, '["Finance-Approvers", "Payroll-Admins"]'));
    const removal = withUser(oktaLogEvent('okta-group-membership-remove.json'), user.email); // Finance-Approvers: acme only
    await postToOktaHook('okta-a', oktaDelivery([removal]), { authorization: SECRET_A1 });
    await processUntilSettled(stream, 'okta-a', [removal.uuid]);
    const outcome = await getInboxEvent('okta-a', removal.uuid);
    expect(outcome?.status).toBe('applied');
    expect(outcome).not.toHaveProperty('revocation');
    expect((await groupsOfUser(user.cognito)).sort()).toEqual(['acme:Admin', 'globex:Viewer']);
  });
});

describe('an Okta removal published in the future', () => {
  it('does not keep a later sign-in from restoring the membership, nor a later removal from applying', async () => {
    const user = await oktaUser('removed-in-2099');
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    const future = withUser(oktaLogEvent('okta-group-membership-remove.json', { published: '2099-01-01T00:00:00.000Z' }), user.email);
    expect((await postToOktaHook('okta-a', oktaDelivery([future]), { authorization: SECRET_A1 })).statusCode).toBe(200);
    await processUntilSettled(stream, 'okta-a', [future.uuid]);
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin' });

    // A groups value that changed since the last sign-in: fresh from the IdP, so evidence newer than the removal.
    await invoke(user.event(authenticate, '["Finance-Approvers", "Payroll-Admins"]'));
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin', globex: 'active:Viewer' });

    const later = withUser(oktaLogEvent('okta-group-membership-remove.json'), user.email);
    await postToOktaHook('okta-a', oktaDelivery([later]), { authorization: SECRET_A1 });
    await processUntilSettled(stream, 'okta-a', [later.uuid]);
    expect(await getInboxEvent('okta-a', later.uuid)).toMatchObject({ status: 'applied' });
    expect(await rolesOf(user.email)).toEqual({ acme: 'deleted:Admin', globex: 'active:Viewer' });
  });
});

describe('per-account options and other providers', () => {
  it('refuses a sign-in when SSO is not active for the account', async () => {
    const user = await oktaUser('dormant-account', undefined, 'OktaC');
    await expect(invoke(user.event(confirm, '["Finance-Approvers"]'))).rejects.toThrow(REFUSAL_MESSAGES.sso_inactive);
  });

  it('keeps a soft-deleted membership deleted when the account does not restore on sign-in', async () => {
    const user = await oktaUser('strict-account', undefined, 'OktaD');
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    await invoke(user.event(authenticate, '["Everyone"]')).catch(() => undefined);
    await expect(invoke(user.event(authenticate, '["Finance-Approvers"]'))).rejects.toThrow(/access has been removed/);
    expect(await rolesOf(user.email, 'okta-d')).toEqual({ strict: 'deleted:Reviewer' });
  });

  it('accepts a PreSignUp whose user name Cognito lower-cased', async () => {
    const user = await oktaUser('lower-cased');
    const event = user.event('cognito-pre-signup-external.json', '["Finance-Approvers"]');
    event.userName = event.userName.toLowerCase();
    await expect(invoke(event)).resolves.toMatchObject({ triggerSource: 'PreSignUp_ExternalProvider' });
  });

  it('links an Entra user by the mapped object id, and refuses one without it, naming the missing mapping', async () => {
    const { userName, event: base } = await entraSignIn('sam.lee@example.com', { 'custom:oid': undefined });
    await expect(invoke(base)).rejects.toThrow(/map the "oid" claim to the attribute custom:oid/);

    const withOid = structuredClone(base);
    withOid.request.userAttributes['custom:oid'] = '00000000-0000-4000-8000-0000000d1001';
    await invoke(withOid);
    // The fixture's groups are d2001 (contoso grants it Author) and d2002 (northwind: Viewer).
    expect(await rolesOf('sam.lee@example.com', 'entra-a')).toEqual({ contoso: 'active:Author', northwind: 'active:Viewer' });
    const identity = (await itemsOf('Identity')).find((item) => item.subject === '00000000-0000-4000-8000-0000000d1001');
    expect(identity).toMatchObject({ connectionId: 'entra-a', cognitoUsername: userName });
  });

  it('matches Entra group ids without regard to case', async () => {
    const { event } = await entraSignIn('casey.upper@example.com', {
      'custom:oid': '00000000-0000-4000-8000-0000000D1777',
      'custom:groups': '[00000000-0000-4000-8000-0000000D2001]',
    });
    await invoke(event);
    expect(await rolesOf('casey.upper@example.com', 'entra-a')).toEqual({ contoso: 'active:Author' });
    expect((await itemsOf('Identity')).some((item) => item.subject === '00000000-0000-4000-8000-0000000d1777')).toBe(true);
  });
});

describe('a failing Cognito group call', () => {
  it('does not fail the sign-in: the failure is recorded for repair and the token still carries the role', async () => {
    const user = await oktaUser('cognito-outage');
    const name = 'failCognitoGroups';
    cognitoClient.middlewareStack.add(
      (() => async () => {
        throw Object.assign(new Error('injected Cognito outage'), { name: 'InternalErrorException' });
      }) as never,
      { step: 'initialize', name },
    );
    try {
      await expect(invoke(user.event(confirm, '["Finance-Approvers"]'))).resolves.toBeDefined();
    } finally {
      cognitoClient.middlewareStack.remove(name);
    }
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Admin' });
    const identity = (await itemsOf('Identity')).find((item) => item.cognitoUsername === user.userName && item.subject);
    expect(identity).toMatchObject({ groupSyncError: { message: 'injected Cognito outage' } });
    expect(identity).not.toHaveProperty('appliedGroups');

    const event = user.event(token, '["Finance-Approvers"]');
    event.request.groupConfiguration = { groupsToOverride: [], iamRolesToOverride: [], preferredRole: null };
    const result = await invoke(event);
    expect(result.response?.claimsOverrideDetails).toMatchObject({ groupOverrideDetails: { groupsToOverride: ['acme:Admin'] } });

    // The next sign-in repairs it: nothing was applied, so it syncs again.
    await invoke(user.event(authenticate, '["Finance-Approvers"]'));
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
  });
});

describe('hardening', () => {
  it('refuses a groups claim that cannot be read, saying so, instead of "temporarily unavailable"', async () => {
    const user = await oktaUser('unreadable-claim');
    await expect(invoke(user.event(confirm, '["CORP\\Admins,CORP\\Users"]'))).rejects.toThrow(/groups claim that could not be read/);
    expect(await rolesOf(user.email)).toEqual({});
  });

  it('judges an unknown TokenGeneration source as a refresh: no tokens without an active membership', async () => {
    const user = await oktaUser('unknown-token-source');
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    await invoke(user.event(authenticate, '["Everyone"]')).catch(() => undefined);
    const unknown = user.event(token, '["Finance-Approvers"]', { triggerSource: 'TokenGeneration_SomethingNew' });
    await expect(invoke(unknown)).rejects.toThrow(/access has been removed/);
    const hostedAuth = user.event(token, '["Finance-Approvers"]', { triggerSource: 'TokenGeneration_HostedAuth' });
    await expect(invoke(hostedAuth)).resolves.toBeDefined();
  });

  it('lets a native user through before validating fields it does not need', async () => {
    const native = { ...structuredClone(fixture<TriggerEvent>(token)), userPoolId, userName: 'native-odd-shape' };
    delete native.request.userAttributes.identities;
    // A shape our federated schema would refuse: a non-string attribute and an odd group configuration.
    (native.request.userAttributes as Record<string, unknown>)['custom:score'] = 7;
    native.request.groupConfiguration = { groupsToOverride: 'not-a-list' } as never;
    const before = structuredClone(native);
    expect(await invoke(native)).toEqual(before);
  });

  it('removes a higher role\'s group even when adding the new one fails, and records the failure', async () => {
    const user = await oktaUser('demoted-add-fails');
    await invoke(user.event(confirm, '["Finance-Approvers"]'));
    expect(await groupsOfUser(user.cognito)).toEqual(['acme:Admin']);
    const name = 'failGroupAdds';
    cognitoClient.middlewareStack.add(
      ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
        if (context.commandName === 'AdminAddUserToGroupCommand' || context.commandName === 'CreateGroupCommand') {
          throw Object.assign(new Error('injected add failure'), { name: 'InternalErrorException' });
        }
        return next(args);
      }) as never,
      { step: 'initialize', name },
    );
    try {
      await invoke(user.event(authenticate, '["Payroll-Admins"]'));
    } finally {
      cognitoClient.middlewareStack.remove(name);
    }
    expect(await rolesOf(user.email)).toEqual({ acme: 'active:Author', globex: 'active:Viewer' });
    expect(await groupsOfUser(user.cognito)).not.toContain('acme:Admin');
    const identity = (await itemsOf('Identity')).find((item) => item.cognitoUsername === user.userName && item.subject);
    expect(identity).toMatchObject({ groupSyncError: { message: expect.stringContaining('injected add failure') } });
  });
});
