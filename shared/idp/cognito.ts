/**
 * The Cognito calls sign-in mapping and revocation make, on one client created at module
 * scope. COGNITO_ENDPOINT points it at moto_server in tests; unset on AWS.
 */
import {
  AdminAddUserToGroupCommand,
  AdminDisableUserCommand,
  AdminListGroupsForUserCommand,
  AdminRemoveUserFromGroupCommand,
  AdminUserGlobalSignOutCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  GroupExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cognito-identity-provider';
import { clientOptions, config } from '../config.js';
import { withInjectedFaults } from '../injected-faults.js';

const endpoint = config().cognitoEndpoint;

export const cognitoClient = withInjectedFaults(new CognitoIdentityProviderClient(clientOptions(endpoint)));

export type CognitoUser = { userPoolId: string; username: string };

/** Every group of the user, following NextToken: a missed page would hide a stale role group. */
export async function groupsOfUser({ userPoolId, username }: CognitoUser): Promise<string[]> {
  const groups: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await cognitoClient.send(
      new AdminListGroupsForUserCommand({ UserPoolId: userPoolId, Username: username, Limit: 60, NextToken: nextToken }),
    );
    groups.push(...(page.Groups ?? []).flatMap((group) => (group.GroupName ? [group.GroupName] : [])));
    nextToken = page.NextToken;
  } while (nextToken);
  return groups;
}

/** Adds the user to a managed role group, creating the group the first time an account needs it. */
export async function addToGroup(user: CognitoUser, groupName: string): Promise<void> {
  const add = () =>
    cognitoClient.send(new AdminAddUserToGroupCommand({ UserPoolId: user.userPoolId, Username: user.username, GroupName: groupName }));
  try {
    await add();
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await cognitoClient
      .send(new CreateGroupCommand({ UserPoolId: user.userPoolId, GroupName: groupName, Description: 'Managed by sso-sync' }))
      .catch((createError) => {
        if (!(createError instanceof GroupExistsException)) throw createError;
      });
    await add();
  }
}

export async function removeFromGroup(user: CognitoUser, groupName: string): Promise<void> {
  await cognitoClient.send(
    new AdminRemoveUserFromGroupCommand({ UserPoolId: user.userPoolId, Username: user.username, GroupName: groupName }),
  );
}

/** Revokes the user's refresh tokens, so a deprovisioned user gets no new tokens. */
export async function signOutEverywhere(user: CognitoUser): Promise<void> {
  await cognitoClient.send(new AdminUserGlobalSignOutCommand({ UserPoolId: user.userPoolId, Username: user.username }));
}

export async function disableUser(user: CognitoUser): Promise<void> {
  await cognitoClient.send(new AdminDisableUserCommand({ UserPoolId: user.userPoolId, Username: user.username }));
}
