/**
 * Sign-in mapping for federated users, one function per Cognito trigger moment:
 *   checkSignUp       PreSignUp_ExternalProvider: refuse early a user no account admits
 *   recordSignIn      PostConfirmation (first sign-in) and PostAuthentication (later ones):
 *                     admit, link the identity, set memberships and the managed Cognito groups
 *   groupsForToken    PreTokenGeneration: the role groups for the token issued now, from our
 *                     memberships (also on refresh, when the IdP is not asked)
 * A refusal is a SignInDeniedError whose message is shown to the person.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  decideAdmission,
  refusalMessage,
  tokenGroups,
  type AccountDecision,
  type AccountSsoConfig,
} from '../domain/admission.js';
import { readGroupsClaim } from '../domain/groups-claim.js';
import { maskEmail, normaliseEmail } from '../domain/privacy.js';
import { federatedIdentity, idpSubject, providerNameFromUserName, resolveProviderName, type Provenance } from '../domain/provenance.js';
import { membershipsAfter, planSignIn, wantedRoleGroups, type DirectoryGrants } from '../domain/sign-in-plan.js';
import { logger } from '../logger.js';
import type { Connection } from '../store/connections.js';
import { findUserIdByEmail, membershipsOfUser } from '../store/directory.js';
import { identityBySubject, type LinkedIdentity } from '../store/identities.js';
import { syncManagedGroups } from './managed-groups.js';
import { applySignIn } from '../store/sign-in-commit.js';
import { lastChangedBy, type Membership } from '../domain/memberships.js';

export class SignInDeniedError extends Error {
  override name = 'SignInDeniedError';
}

export type SignInSettings = {
  groupsAttribute: string;
  objectIdAttribute: string;
  connectionOfProvider: (providerName: string) => Promise<Connection | undefined>;
  ssoConfigsServedBy: (connectionId: string) => Promise<AccountSsoConfig[]>;
  /**
   * The Entra groups (of those asked) the user is in now, transitively, or undefined when the
   * connection has no Graph app or Graph did not answer in time: the live directory check.
   */
  memberGroupsInDirectory: (connection: Connection, objectId: string, groupIds: readonly string[]) => Promise<Set<string> | undefined>;
};

export type TriggerUser = {
  userPoolId: string;
  userName: string;
  userAttributes: Record<string, string | undefined>;
};

const ACCESS_REMOVED = 'Your access has been removed. Ask your administrator to restore it.';
export const REMOVED_BY_IDP =
  'Your access was removed by your identity provider. If you should still have it, ask your administrator to add you back to the group there, then sign in again.';
const GROUPS_UNREADABLE = 'Your identity provider sent a groups claim that could not be read. Ask your administrator to check the groups claim settings.';
const NOT_SET_UP = 'SSO is not set up for this sign-in. Ask your administrator to connect your organisation.';

async function connectionFor(providerName: string, settings: SignInSettings): Promise<Connection> {
  const connection = await settings.connectionOfProvider(providerName);
  if (!connection) throw new SignInDeniedError(NOT_SET_UP);
  return connection;
}

function emailOf(user: TriggerUser): string {
  const email = user.userAttributes.email;
  if (!email?.includes('@')) throw new SignInDeniedError('Your identity provider did not send an email address. Ask your administrator to map the email attribute.');
  return normaliseEmail(email);
}

/** A digest of the raw groups value, recorded at each sign-in that writes: a value equal to it may be one Cognito kept. */
function groupsClaimDigest(raw: string | undefined): string {
  return createHash('sha256').update(raw ?? '').digest('base64url');
}

async function decide(user: TriggerUser, providerName: string, connection: Connection, settings: SignInSettings) {
  const email = emailOf(user);
  const claim = readGroupsClaim(user.userAttributes[settings.groupsAttribute]);
  // Entra group ids are GUIDs, configured lowercased (the seed does so): compare them so.
  const idpGroups = connection.type === 'entra' ? claim.groups.map((group) => group.toLowerCase()) : claim.groups;
  const accounts = await settings.ssoConfigsServedBy(connection.connectionId);
  const decisions = decideAdmission({ providerName, email, idpGroups, accounts });
  logger.info('sign-in decision', {
    provider: providerName,
    connectionId: connection.connectionId,
    user: maskEmail(email),
    admitted: decisions.flatMap((d) => (d.admitted ? [`${d.accountId}:${d.role}`] : [])),
    refused: decisions.flatMap((d) => (d.admitted ? [] : [`${d.accountId}:${d.reason}`])),
    matchedGroups: [...new Set(decisions.flatMap((d) => (d.admitted ? d.matchedGroups : [])))],
    ...(claim.unreadable ? { groupsClaim: 'unreadable' } : {}),
  });
  const refusal = () => (claim.unreadable ? GROUPS_UNREADABLE : refusalMessage(decisions));
  return { email, decisions, accounts, refusal };
}

const admitsSomewhere = (decisions: readonly AccountDecision[]) => decisions.some((decision) => decision.admitted);

/** PreSignUp_ExternalProvider: nothing is written yet; only refuse a user no account would admit. */
export async function checkSignUp(user: TriggerUser, settings: SignInSettings): Promise<void> {
  const prefix = providerNameFromUserName(user.userName);
  if (!prefix) return; // a native sign-up: not ours to judge
  const connection = await connectionFor(prefix, settings);
  // The user name may be lower-cased; the SSO configs use the provider's own spelling.
  const providerName = resolveProviderName(prefix, connection.providerNames) ?? prefix;
  const { decisions, refusal } = await decide(user, providerName, connection, settings);
  if (!admitsSomewhere(decisions)) throw new SignInDeniedError(refusal());
}

/**
 * Brings the managed Cognito groups in line (shared/app/managed-groups.ts). A failure is recorded
 * for the scheduled repair and never fails the sign-in.
 */
async function syncCognitoGroups(user: TriggerUser, identity: LinkedIdentity | undefined, connectionId: string, subject: string, wanted: string[]): Promise<void> {
  const cognitoUser = { userPoolId: user.userPoolId, username: user.userName };
  // Only an identity that recorded an error can have a marker to delete (see recordGroupSync).
  const failures = await syncManagedGroups(cognitoUser, { connectionId, subject }, wanted, { markerMayExist: identity?.groupSyncError !== undefined }).catch(
    (error: unknown) => [error as Error],
  );
  if (failures.length === 0) return;
  // The token is still right: PreTokenGeneration computes its groups from our memberships.
  logger.error('could not update the Cognito groups (or record them); recorded for repair where possible', { connectionId, failures: failures.length, error: failures[0] });
}

/** The date of a groups value whose freshness is unknown (recorded before dates were, or possibly kept by Cognito). */
const UNKNOWN_TIME = new Date(0).toISOString();

/** The IdP changed this membership (removed, re-added, confirmed) after that time. */
function idpChangedAfter(membership: Membership, time: string): boolean {
  const idpTimes = [lastChangedBy(membership) === 'idp' ? membership.changedAt : undefined, membership.idpRemovedAt, membership.groupAddedAt];
  return idpTimes.some((idpTime) => idpTime !== undefined && Date.parse(idpTime) > Date.parse(time));
}

/**
 * Cognito already holds these groups: the same ones were applied after the memberships' last
 * change. An IdP change since (a revocation removed the groups; a re-add gave a membership
 * back) makes the next sign-in sync again.
 */
function groupsAlreadyApplied(identity: LinkedIdentity | undefined, memberships: readonly Membership[], wanted: readonly string[]): boolean {
  if (identity?.appliedGroups === undefined || identity.appliedGroupsAt === undefined) return false;
  const appliedAt = Date.parse(identity.appliedGroupsAt);
  return identity.appliedGroups.join('\n') === wanted.join('\n') && memberships.every((membership) => Date.parse(membership.changedAt) <= appliedAt);
}

/**
 * The live directory check for memberships the IdP removed: which of them the user's groups in
 * the directory grant now. Only Entra connections with a Graph app can answer; a failure or a
 * slow answer is no evidence (the sign-in is then refused, never admitted on a guess).
 */
async function directoryGrants(input: {
  held: readonly { accountId: string }[];
  connection: Connection;
  subject: string;
  providerName: string;
  email: string;
  accounts: readonly AccountSsoConfig[];
  settings: SignInSettings;
}): Promise<DirectoryGrants | undefined> {
  const heldAccounts = new Set(input.held.map((membership) => membership.accountId));
  const accounts = input.accounts.filter((account) => heldAccounts.has(account.accountId));
  const groupIds = [...new Set(accounts.flatMap(({ ssoConfig }) => ssoConfig.providers.filter((p) => p.providerName === input.providerName).flatMap((p) => p.groups.map(({ group }) => group.toLowerCase()))))];
  if (groupIds.length === 0) return undefined;
  const memberOf = await input.settings.memberGroupsInDirectory(input.connection, input.subject, groupIds);
  if (!memberOf) return undefined;
  const decisions = decideAdmission({ providerName: input.providerName, email: input.email, idpGroups: [...memberOf], accounts });
  return new Map(decisions.flatMap((d) => (d.admitted ? [[d.accountId, { role: d.role, groups: d.matchedGroups }] as const] : [])));
}

function provenanceOf(user: TriggerUser): Provenance | undefined {
  return federatedIdentity(user.userAttributes.identities);
}

/**
 * PostConfirmation (`firstSignIn`: the Cognito user was just created from the IdP's claims) and
 * PostAuthentication. Returns false for a native user, who is left untouched.
 */
export async function recordSignIn(user: TriggerUser, settings: SignInSettings, options: { firstSignIn: boolean; now?: Date }): Promise<boolean> {
  const provenance = provenanceOf(user);
  if (!provenance) return false;
  const connection = await connectionFor(provenance.providerName, settings);
  const subject = idpSubject({ connectionType: connection.type, provenance, userAttributes: user.userAttributes, objectIdAttribute: settings.objectIdAttribute });
  const { email, decisions, accounts, refusal } = await decide(user, provenance.providerName, connection, settings);
  const signedInAt = (options.now ?? new Date()).toISOString();

  const identity = await identityBySubject(connection.connectionId, subject);
  const userId = identity?.userId ?? (await findUserIdByEmail(connection.connectionId, email)) ?? randomUUID();
  const memberships = await membershipsOfUser(userId);
  const configs = new Map(accounts.map((account) => [account.accountId, account.ssoConfig]));
  const groupsClaimSha256 = groupsClaimDigest(user.userAttributes[settings.groupsAttribute]);
  const groupsClaimIsFresh = options.firstSignIn || (identity?.groupsClaimSha256 !== undefined && identity.groupsClaimSha256 !== groupsClaimSha256);
  // Only a fresh value is dated now; one that may be kept keeps the date it had (none: the epoch).
  const groupsClaimAt = groupsClaimIsFresh ? signedInAt : (identity?.groupsClaimAt ?? UNKNOWN_TIME);
  const request = {
    userId,
    decisions,
    restoreOnSignIn: (accountId: string) => configs.get(accountId)?.restoreOnSignIn ?? true,
    signedInAt,
    groupsClaimIsFresh,
    groupsClaimPredatesIdpChange: !groupsClaimIsFresh && memberships.some((membership) => idpChangedAfter(membership, groupsClaimAt)),
  };
  let plan = planSignIn(memberships, request);
  if (plan.held.length > 0) {
    const grants = await directoryGrants({ held: plan.held, connection, subject, providerName: provenance.providerName, email, accounts, settings });
    if (grants?.size) plan = planSignIn(memberships, { ...request, directoryGrants: grants });
  }
  const wanted = wantedRoleGroups(membershipsAfter(memberships, plan));
  const commit = () =>
    applySignIn({ connectionId: connection.connectionId, subject, email, userId, cognitoUsername: user.userName, userPoolId: user.userPoolId, identity, plan, signedInAt, groupsClaimSha256, groupsClaimAt });
  if (plan.held.length > 0) {
    logger.info('access held: the IdP changed it, and this sign-in brings no evidence newer than that', {
      connectionId: connection.connectionId,
      accounts: plan.held.map(({ accountId }) => accountId),
    });
    if (wanted.length === 0) {
      // Only what the plan still does (a revocation) is written, and the digest of an identity that
      // had none, dated "unknown": a later, different value is then fresh; this one never becomes so.
      await commit();
      throw new SignInDeniedError(REMOVED_BY_IDP);
    }
  }
  await commit();

  const alreadyApplied = groupsAlreadyApplied(identity, memberships, wanted);
  if (!alreadyApplied) await syncCognitoGroups(user, identity, connection.connectionId, subject, wanted);
  if (!admitsSomewhere(decisions)) throw new SignInDeniedError(refusal());
  // Admitted by the IdP, but every granted membership stays deleted (the account does not restore on sign-in).
  if (wanted.length === 0) throw new SignInDeniedError(ACCESS_REMOVED);
  return true;
}

/**
 * PreTokenGeneration: the groups the token should carry, or undefined for a native user.
 * On a refresh the IdP is not asked, so a user with no active membership left gets no new
 * tokens: deprovisioning takes effect at the next refresh even if the global sign-out failed.
 */
export async function groupsForToken(
  user: TriggerUser,
  currentGroups: readonly string[],
  isRefresh: boolean,
  settings: SignInSettings,
): Promise<string[] | undefined> {
  const provenance = provenanceOf(user);
  if (!provenance) return undefined;
  const connection = await connectionFor(provenance.providerName, settings);
  const subject = idpSubject({ connectionType: connection.type, provenance, userAttributes: user.userAttributes, objectIdAttribute: settings.objectIdAttribute });
  const identity = await identityBySubject(connection.connectionId, subject);
  const wanted = identity ? wantedRoleGroups(await membershipsOfUser(identity.userId)) : [];
  if (isRefresh && wanted.length === 0) {
    throw new SignInDeniedError(ACCESS_REMOVED);
  }
  return tokenGroups(currentGroups, wanted);
}
