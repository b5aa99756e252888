/**
 * The admin API's users: find them, see their identities, memberships and audit trail, and an
 * admin's own restore or removal of a membership (rule 8: an admin's restore is evidence newer
 * than an IdP removal). A removal signs a user left with no access out of Cognito, as the IdPs' do.
 */
import type { Membership } from '../domain/memberships.js';
import { maskEmail } from '../domain/privacy.js';
import { ConflictError, NotFoundError } from '../http/errors.js';
import type { AdminPrincipal } from '../http/admin-auth.js';
import { logger } from '../logger.js';
import { applyAdminChange, auditOfUser, getUser, identitiesOfUser, membershipOf, MembershipChangedError, usersByEmail } from '../store/admin-directory.js';
import { membershipsOfUser } from '../store/directory.js';
import { revokeCognitoAccessIfNoneLeft } from './revoke-access.js';

export async function findUsers(email: string) {
  const found = await usersByEmail(email.trim().toLowerCase());
  const byUser = new Map<string, string[]>();
  for (const { userId, connectionId } of found) byUser.set(userId, [...(byUser.get(userId) ?? []), connectionId]);
  return { users: [...byUser].map(([userId, connections]) => ({ userId, connections: connections.sort() })) };
}

const identityView = (item: Record<string, unknown>) => ({
  connectionId: item.connectionId,
  subject: item.subject,
  email: item.email,
  cognitoUsername: item.cognitoUsername,
  userPoolId: item.userPoolId,
  appliedGroups: item.appliedGroups,
  groupSyncError: item.groupSyncError,
});

const auditView = ({ pk: _pk, sk: _sk, entity: _entity, ...entry }: Record<string, unknown>) => entry;

export async function userProfile(userId: string) {
  const user = await getUser(userId);
  if (!user) throw new NotFoundError(`no user ${userId}`);
  const [identities, memberships] = await Promise.all([identitiesOfUser(userId), membershipsOfUser(userId)]);
  const audit = (await Promise.all(memberships.map(({ accountId }) => auditOfUser(accountId, userId)))).flat();
  audit.sort((a, b) => String(b.occurredAt).localeCompare(String(a.occurredAt)));
  return { userId, email: user.email, createdAt: user.createdAt, identities: identities.map(identityView), memberships, audit: audit.map(auditView) };
}

export type MembershipAction = 'restore' | 'remove';

/** An admin restores or removes one membership; the answer carries the membership and, for a removal, what revocation did. */
export async function changeMembership(userId: string, accountId: string, action: MembershipAction, admin: AdminPrincipal, settings: { disableOnDeprovision: boolean }) {
  const before = await membershipOf(userId, accountId);
  if (!before) throw new NotFoundError(`user ${userId} has no membership in account ${accountId}`);
  const wanted = action === 'restore' ? 'active' : 'deleted';
  if (before.status === wanted) throw new ConflictError(`the membership is ${before.status} already`);
  const now = new Date().toISOString();
  const after: Membership = { ...before, status: wanted, changedAt: now, changedBy: 'admin', reason: `admin ${admin.username}: ${action === 'restore' ? 'restored' : 'removed'}`, eventId: undefined };
  try {
    await applyAdminChange({ before, after, action: action === 'restore' ? 'restored' : 'soft_deleted', admin });
  } catch (error) {
    if (error instanceof MembershipChangedError) throw new ConflictError('the membership changed meanwhile; read it again and retry');
    throw error;
  }
  logger.info('membership changed by an admin', { accountId, action, admin: admin.sub });
  if (action === 'restore') return { membership: after };
  return { membership: after, revocation: await revokeForAdmin(userId, settings.disableOnDeprovision) };
}

/** After an admin's removal: sign out the user's Cognito users if no access is left; a failure is reported, never undoes the removal. */
async function revokeForAdmin(userId: string, disable: boolean): Promise<{ status: 'done' | 'failed' | 'not needed'; detail: string }> {
  const cognitoUsers = (await identitiesOfUser(userId)).filter((item) => typeof item.cognitoUsername === 'string' && typeof item.userPoolId === 'string');
  const done: string[] = [];
  try {
    for (const item of cognitoUsers) {
      const detail = await revokeCognitoAccessIfNoneLeft({ userId, cognitoUsername: item.cognitoUsername as string, userPoolId: item.userPoolId as string }, disable);
      if (detail) done.push(detail);
    }
  } catch (error) {
    logger.error('could not revoke the Cognito session after an admin removal', { user: maskEmail(String(cognitoUsers[0]?.email ?? '')), error: error as Error });
    return { status: 'failed', detail: (error as Error).message };
  }
  return done.length > 0 ? { status: 'done', detail: done.join('; ') } : { status: 'not needed', detail: 'the user still has an active membership, or never signed in through Cognito' };
}
