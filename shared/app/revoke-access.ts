/**
 * After deprovisioning: a user left with no active membership loses their Cognito session
 * (AdminUserGlobalSignOut), their managed role groups and, if configured, the Cognito user
 * itself (AdminDisableUser). This runs after the soft-delete is committed and never undoes or
 * blocks it; each call is retried by the SDK, and the result is recorded on the event. Even
 * if it fails, the next token refresh is refused (PreTokenGeneration reads our memberships).
 */
import { decideOktaEvent } from '../domain/okta-events.js';
import { isManagedRoleGroup } from '../domain/admission.js';
import { disableUser, groupsOfUser, removeFromGroup, signOutEverywhere, type CognitoUser } from '../idp/cognito.js';
import { logger } from '../logger.js';
import { emailIdentities, identityLookupKey, membershipsOfUser, type EmailIdentity } from '../store/directory.js';
import { recordRevocation, type OktaInboxEvent } from '../store/inbox.js';

async function revoke(user: CognitoUser, disable: boolean): Promise<string> {
  await signOutEverywhere(user);
  const managed = (await groupsOfUser(user)).filter(isManagedRoleGroup);
  for (const group of managed) await removeFromGroup(user, group);
  if (disable) await disableUser(user);
  return `signed out everywhere, removed ${managed.length} role group(s)${disable ? ', disabled' : ''}`;
}

/** For the applied events of a batch: who ever signed in through Cognito comes from the batch's identities (or one BatchGetItem). */
export async function revokeLeavers(
  applied: OktaInboxEvent[],
  settings: { actedOnTypes: ReadonlySet<string>; disableOnDeprovision: boolean },
  known?: EmailIdentity[],
): Promise<void> {
  const targets = applied.flatMap((event) => {
    const decision = decideOktaEvent(event, settings.actedOnTypes);
    return decision.action === 'deprovision' ? [{ event, email: decision.intent.email }] : [];
  });
  if (targets.length === 0) return;
  const identities = new Map(
    (known ?? (await emailIdentities(targets.map(({ event, email }) => ({ connectionId: event.connectionId, email }))))).map((identity) => [
      identityLookupKey(identity.connectionId, identity.email),
      identity,
    ]),
  );
  for (const { event, email } of targets) {
    const identity = identities.get(identityLookupKey(event.connectionId, email));
    if (identity) await revokeIfNoAccessLeft(event, identity, settings.disableOnDeprovision);
  }
}

/** The user as sign-in linked them: the Cognito user name and pool are known once they signed in through Cognito. */
export type LinkedCognitoUser = { userId: string; cognitoUsername?: string; userPoolId?: string };

/**
 * Revokes the Cognito session of a user who signed in through Cognito and has no active
 * membership left; returns what it did, or undefined when there was nothing to do. Throws when
 * Cognito fails.
 */
export async function revokeCognitoAccessIfNoneLeft(user: LinkedCognitoUser, disable: boolean): Promise<string | undefined> {
  if (!user.cognitoUsername || !user.userPoolId) return undefined; // never signed in through Cognito
  const stillActive = (await membershipsOfUser(user.userId)).some((membership) => membership.status === 'active');
  if (stillActive) return undefined;
  return revoke({ userPoolId: user.userPoolId, username: user.cognitoUsername }, disable);
}

export type RevocationResult = { status: 'done' | 'not needed'; detail?: string } | { status: 'failed'; detail: string; error: Error };

/**
 * Revokes the Cognito session of a user who signed in through Cognito and has no active
 * membership left; records what it did on the event, and a failure with a repair marker (the
 * scheduled repair calls this again). Never throws: the soft-delete stands. `notNeeded`, given
 * by the repair, is recorded when there is nothing to revoke (the user has access again), so
 * the failure it follows does not read as the last word; otherwise that case records nothing.
 */
export async function revokeIfNoAccessLeft(
  event: Pick<OktaInboxEvent, 'connectionId' | 'eventId'>,
  user: LinkedCognitoUser,
  disable: boolean,
  options: { notNeeded?: string } = {},
): Promise<RevocationResult> {
  const target = { userId: user.userId, cognitoUsername: user.cognitoUsername, userPoolId: user.userPoolId, disable };
  try {
    const detail = await revokeCognitoAccessIfNoneLeft(user, disable);
    if (detail) await recordRevocation(event, { status: 'done', detail }, target);
    else if (options.notNeeded) await recordRevocation(event, { status: 'skipped', detail: options.notNeeded }, target);
    return detail ? { status: 'done', detail } : { status: 'not needed' };
  } catch (error) {
    logger.error('could not revoke the Cognito session; the next token refresh is refused anyway', {
      connectionId: event.connectionId,
      error: error as Error,
    });
    const detail = (error as Error).message;
    await recordRevocation(event, { status: 'failed', detail }, target).catch((recordError: unknown) =>
      logger.error('could not record the failed revocation for repair', { connectionId: event.connectionId, error: recordError as Error }),
    );
    return { status: 'failed', detail, error: error as Error };
  }
}
