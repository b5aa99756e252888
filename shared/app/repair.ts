/**
 * The scheduled repair of what Cognito refused: a managed-group sync that failed at sign-in
 * (the identity's `groupSyncError`) and a revocation that failed after deprovisioning (the
 * event's `revocation: failed`). Each failure left a repair marker (shared/store/repair-markers.ts);
 * a run reads them by key, redoes each the way the original path does it, and each item stands
 * alone: a repaired one loses its marker, a still-failing one keeps it with one more attempt
 * and its last error, a moot one is dropped with a note.
 */
import { wantedRoleGroups } from '../domain/sign-in-plan.js';
import { logger } from '../logger.js';
import { membershipsOfUser } from '../store/directory.js';
import { identityBySubject } from '../store/identities.js';
import { inboxEventExists, recordRevocation } from '../store/inbox.js';
import { dropRepairMarker, repairMarkers, type GroupSyncMarker, type RepairMarker, type RevocationMarker } from '../store/repair-markers.js';
import { syncManagedGroups } from './managed-groups.js';
import { revokeIfNoAccessLeft } from './revoke-access.js';

/** Per run: at about three Cognito calls an item, 100 items stay well inside Cognito's admin API quotas and the function's timeout. */
export const REPAIR_LIMIT = 100;

export type RepairItem = {
  repair: RepairMarker['repair'];
  connectionId: string;
  /** The identity's subject (group sync) or `<eventId> user <userId>` (revocation). */
  of: string;
  result: 'repaired' | 'failed' | 'dropped';
  detail: string;
  attempts: number;
};

export type RepairReport = { repaired: number; failed: number; dropped: number; more: boolean; items: RepairItem[] };

export class RepairFailedError extends Error {
  override name = 'RepairFailedError';
}

export const NOT_REDONE_ACCESS_BACK = 'not redone by the repair: the user has an active membership again';
export const COGNITO_USER_GONE = 'dropped by the repair: the Cognito user no longer exists, so it has no session or group left';

/**
 * A Cognito user deleted since (by an admin, say) fails every call with UserNotFoundException:
 * nothing is left to sync or revoke, and keeping the marker would only fail every run.
 */
const cognitoUserGone = (error: Error) => error.name === 'UserNotFoundException';

type Outcome = Pick<RepairItem, 'result' | 'detail'>;

/** Recomputes the managed groups from the memberships as they stand, as sign-in and the token do, and applies them. */
async function repairGroupSync(marker: GroupSyncMarker): Promise<Outcome> {
  const identity = await identityBySubject(marker.connectionId, marker.subject);
  if (!identity?.cognitoUsername || !identity.userPoolId) {
    await dropRepairMarker(marker);
    return { result: 'dropped', detail: 'no identity signed in through Cognito any more: nothing to sync' };
  }
  const wanted = wantedRoleGroups(await membershipsOfUser(identity.userId));
  const cognitoUser = { userPoolId: identity.userPoolId, username: identity.cognitoUsername };
  // A failure is recorded on the marker (one more attempt, the error) by the same write sign-in uses.
  const failures = await syncManagedGroups(cognitoUser, marker, wanted, { markerMayExist: true });
  if (failures.length > 0 && failures.every(cognitoUserGone)) {
    await dropRepairMarker(marker);
    return { result: 'dropped', detail: COGNITO_USER_GONE };
  }
  if (failures.length > 0) return { result: 'failed', detail: failures.map((failure) => failure.message).join('; ') };
  return { result: 'repaired', detail: wanted.length > 0 ? `managed groups now ${wanted.join(', ')}` : 'no managed group left' };
}

/** Redoes the revocation only while the user still has no access: one who got it back since keeps it. */
async function repairRevocation(marker: RevocationMarker): Promise<Outcome> {
  const eventExists = await inboxEventExists(marker.connectionId, marker.eventId);
  if (!eventExists || !marker.cognitoUsername || !marker.userPoolId) {
    await dropRepairMarker(marker);
    return { result: 'dropped', detail: eventExists ? 'the user never signed in through Cognito' : 'the event has expired' };
  }
  const user = { userId: marker.userId, cognitoUsername: marker.cognitoUsername, userPoolId: marker.userPoolId };
  // Records the new result on the event, and deletes the marker or counts the failure on it, in one write.
  const result = await revokeIfNoAccessLeft(marker, user, marker.disable, { notNeeded: NOT_REDONE_ACCESS_BACK });
  if (result.status !== 'failed') {
    return result.status === 'done' ? { result: 'repaired', detail: result.detail ?? 'revoked' } : { result: 'dropped', detail: NOT_REDONE_ACCESS_BACK };
  }
  if (cognitoUserGone(result.error)) {
    // Recorded on the event like any other result; this write deletes the marker.
    await recordRevocation(marker, { status: 'skipped', detail: COGNITO_USER_GONE }, { ...user, disable: marker.disable });
    return { result: 'dropped', detail: COGNITO_USER_GONE };
  }
  return { result: 'failed', detail: result.detail };
}

function describe(marker: RepairMarker): Pick<RepairItem, 'repair' | 'connectionId' | 'of'> {
  const of = marker.repair === 'group-sync' ? marker.subject : `${marker.eventId} user ${marker.userId}`;
  return { repair: marker.repair, connectionId: marker.connectionId, of };
}

/** One item on its own: whatever it throws (a DynamoDB error, say) fails it alone, and its marker stays. */
async function repairOne(marker: RepairMarker): Promise<RepairItem> {
  let outcome: Outcome;
  // A Cognito failure is counted on the marker by the write that records it; an error thrown
  // past that (DynamoDB, say) records nothing, so the marker stays as it was.
  let attempts = marker.attempts;
  try {
    outcome = marker.repair === 'group-sync' ? await repairGroupSync(marker) : await repairRevocation(marker);
    if (outcome.result === 'failed') attempts += 1;
  } catch (error) {
    outcome = { result: 'failed', detail: (error as Error).message };
  }
  const item = { ...describe(marker), ...outcome, attempts };
  if (outcome.result === 'failed') logger.warn('repair failed; the marker stays for the next run', item);
  else logger.info(`repair ${outcome.result}`, item);
  return item;
}

/**
 * Repairs up to `limit` recorded failures, revocations first (a session left to a deprovisioned
 * person matters more than a stale role group: tokens carry the groups of our memberships anyway).
 * `more` says markers were left for the next run.
 */
export async function repairRecordedFailures(options: { limit?: number } = {}): Promise<RepairReport> {
  const limit = options.limit ?? REPAIR_LIMIT;
  const revocations = await repairMarkers('REVOCATION', limit);
  const remaining = limit - revocations.markers.length;
  const groupSyncs = await repairMarkers('GROUP_SYNC', remaining);
  const items: RepairItem[] = [];
  // One at a time: the Cognito admin calls share per-account quotas with sign-in.
  for (const marker of [...revocations.markers, ...groupSyncs.markers]) items.push(await repairOne(marker));
  const count = (result: RepairItem['result']) => items.filter((item) => item.result === result).length;
  return { repaired: count('repaired'), failed: count('failed'), dropped: count('dropped'), more: revocations.more || groupSyncs.more || remaining === 0, items };
}

/** The scheduled run: throws when an item still fails, so the function's Errors alarm fires. */
export async function runScheduledRepair(options: { limit?: number } = {}): Promise<Omit<RepairReport, 'items'>> {
  const { items, ...counts } = await repairRecordedFailures(options);
  logger.info('repair run', counts);
  if (counts.failed > 0) {
    const failed = items.filter((item) => item.result === 'failed').map((item) => `${item.repair} ${item.connectionId} ${item.of}`);
    throw new RepairFailedError(`${counts.failed} repair(s) still failing, kept for the next run: ${failed.join(', ')}`);
  }
  return counts;
}
