/** The Cognito calls of sign-in mapping and revocation, against moto_server. */
import { AdminGetUserCommand } from '@aws-sdk/client-cognito-identity-provider';
import { beforeAll, describe, expect, it } from 'vitest';
import { managedGroupChanges } from '../../shared/domain/admission.js';
import {
  addToGroup,
  cognitoClient,
  disableUser,
  groupsOfUser,
  removeFromGroup,
  signOutEverywhere,
} from '../../shared/idp/cognito.js';
import { createFederatedUser, createGroups, createUserPool } from '../helpers/cognito.js';

let userPoolId: string;

beforeAll(async () => {
  userPoolId = await createUserPool();
});

async function newUser(name: string) {
  const user = { userPoolId, username: `Okta_${name}` };
  await createFederatedUser(userPoolId, user.username, `${name}@example.com`);
  return user;
}

describe('Cognito groups', () => {
  it('reads every page of a user’s groups', async () => {
    const user = await newUser('many-groups');
    const names = Array.from({ length: 70 }, (_, index) => `acct-${index}:Viewer`);
    await createGroups(userPoolId, names);
    for (const name of names) await addToGroup(user, name);
    expect((await groupsOfUser(user)).sort()).toEqual([...names].sort());
  });

  it('creates a managed role group the first time it is needed', async () => {
    const user = await newUser('first-group');
    await addToGroup(user, 'brand-new-account:Admin');
    expect(await groupsOfUser(user)).toEqual(['brand-new-account:Admin']);
  });

  it('applies a managed group change and leaves the automatic and unmanaged groups alone', async () => {
    const user = await newUser('change');
    const autoGroup = `${userPoolId}_Okta`;
    await createGroups(userPoolId, [autoGroup, 'beta-testers', 'acme:Viewer']);
    for (const group of [autoGroup, 'beta-testers', 'acme:Viewer']) await addToGroup(user, group);

    const { add, remove } = managedGroupChanges(await groupsOfUser(user), ['acme:Admin']);
    for (const group of add) await addToGroup(user, group);
    for (const group of remove) await removeFromGroup(user, group);

    expect((await groupsOfUser(user)).sort()).toEqual([autoGroup, 'acme:Admin', 'beta-testers'].sort());
    expect(managedGroupChanges(await groupsOfUser(user), ['acme:Admin'])).toEqual({ add: [], remove: [] });
  });
});

describe('revocation', () => {
  it('signs the user out everywhere and disables them', async () => {
    const user = await newUser('leaver');
    await expect(signOutEverywhere(user)).resolves.toBeUndefined();
    await disableUser(user);
    const { Enabled } = await cognitoClient.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: user.username }));
    expect(Enabled).toBe(false);
  });
});
