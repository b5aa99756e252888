/**
 * Brings a user's managed Cognito role groups in line with what their memberships want, and
 * records the result on their identity: the one way both sign-in and the scheduled repair do it.
 */
import { managedGroupChanges } from '../domain/admission.js';
import { addToGroup, groupsOfUser, removeFromGroup, type CognitoUser } from '../idp/cognito.js';
import { recordGroupSync } from '../store/identities.js';

export type IdentityRef = { connectionId: string; subject: string };

/**
 * Removals first, so a failed add never leaves a higher role's group in place, and each change
 * on its own, so one failure stops nothing else. Returns the failures: none means Cognito holds
 * exactly `wanted` (recorded as applied), any means they are recorded with a repair marker.
 * Throws only when recording fails.
 */
export async function syncManagedGroups(
  cognitoUser: CognitoUser,
  identity: IdentityRef,
  wanted: string[],
  options: { markerMayExist?: boolean } = {},
): Promise<Error[]> {
  const failures: Error[] = [];
  try {
    const { add, remove } = managedGroupChanges(await groupsOfUser(cognitoUser), wanted);
    const changes = [...remove.map((group) => () => removeFromGroup(cognitoUser, group)), ...add.map((group) => () => addToGroup(cognitoUser, group))];
    for (const change of changes) await change().catch((error: unknown) => failures.push(error as Error));
  } catch (error) {
    failures.push(error as Error);
  }
  if (failures.length === 0) await recordGroupSync(identity.connectionId, identity.subject, { appliedGroups: wanted }, options);
  else await recordGroupSync(identity.connectionId, identity.subject, { error: failures.map((failure) => failure.message).join('; ') });
  return failures;
}
