/**
 * Sign-in mapping for federated users, one function per Cognito trigger moment:
 *   checkSignUp       PreSignUp_ExternalProvider: refuse early a user no account admits
 *   recordSignIn      PostConfirmation (first sign-in) and PostAuthentication (later ones):
 *                     admit, link the identity, set memberships and the managed Cognito groups
 *   groupsForToken    PreTokenGeneration: the role groups for the token issued now, from our
 *                     memberships (also on refresh, when the IdP is not asked)
 * A refusal is a SignInDeniedError whose message is shown to the person.
 */
import { randomUUID } from 'node:crypto';
import {
  decideAdmission,
  managedGroupChanges,
  refusalMessage,
  tokenGroups,
  type AccountDecision,
  type AccountSsoConfig,
} from '../domain/admission.js';
import { parseGroupsClaim } from '../domain/groups-claim.js';
import { maskEmail, normaliseEmail } from '../domain/privacy.js';
import { federatedIdentity, idpSubject, providerNameFromUserName, resolveProviderName, type Provenance } from '../domain/provenance.js';
import { membershipsAfter, planSignIn, wantedRoleGroups } from '../domain/sign-in.js';
import { addToGroup, groupsOfUser, removeFromGroup } from '../idp/cognito.js';
import { logger } from '../logger.js';
import type { Connection } from '../store/connections.js';
import { findUserIdByEmail, membershipsOfUser } from '../store/directory.js';
import { applySignIn, identityBySubject, recordGroupSync } from '../store/sign-in.js';

export class SignInDeniedError extends Error {
  override name = 'SignInDeniedError';
}

export type SignInSettings = {
  groupsAttribute: string;
  objectIdAttribute: string;
  connectionOfProvider: (providerName: string) => Promise<Connection | undefined>;
  ssoConfigsServedBy: (connectionId: string) => Promise<AccountSsoConfig[]>;
};

export type TriggerUser = {
  userPoolId: string;
  userName: string;
  userAttributes: Record<string, string | undefined>;
};

const ACCESS_REMOVED = 'Your access has been removed. Ask your administrator to restore it.';
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

async function decide(user: TriggerUser, providerName: string, connection: Connection, settings: SignInSettings) {
  const email = emailOf(user);
  const claimed = parseGroupsClaim(user.userAttributes[settings.groupsAttribute]);
  // Entra group ids are GUIDs, configured lowercased (the seed does so): compare them so.
  const idpGroups = connection.type === 'entra' ? claimed.map((group) => group.toLowerCase()) : claimed;
  const accounts = await settings.ssoConfigsServedBy(connection.connectionId);
  const decisions = decideAdmission({ providerName, email, idpGroups, accounts });
  logger.info('sign-in decision', {
    provider: providerName,
    connectionId: connection.connectionId,
    user: maskEmail(email),
    admitted: decisions.flatMap((d) => (d.admitted ? [`${d.accountId}:${d.role}`] : [])),
    refused: decisions.flatMap((d) => (d.admitted ? [] : [`${d.accountId}:${d.reason}`])),
    matchedGroups: [...new Set(decisions.flatMap((d) => (d.admitted ? d.matchedGroups : [])))],
  });
  return { email, decisions, accounts };
}

const admitsSomewhere = (decisions: readonly AccountDecision[]) => decisions.some((decision) => decision.admitted);

/** PreSignUp_ExternalProvider: nothing is written yet; only refuse a user no account would admit. */
export async function checkSignUp(user: TriggerUser, settings: SignInSettings): Promise<void> {
  const prefix = providerNameFromUserName(user.userName);
  if (!prefix) return; // a native sign-up: not ours to judge
  const connection = await connectionFor(prefix, settings);
  // The user name may be lower-cased; the SSO configs use the provider's own spelling.
  const providerName = resolveProviderName(prefix, connection.providerNames) ?? prefix;
  const { decisions } = await decide(user, providerName, connection, settings);
  if (!admitsSomewhere(decisions)) throw new SignInDeniedError(refusalMessage(decisions));
}

/** Brings the managed Cognito groups in line; a failure is recorded for repair, never fails the sign-in. */
async function syncCognitoGroups(user: TriggerUser, connectionId: string, subject: string, wanted: string[]): Promise<void> {
  const cognitoUser = { userPoolId: user.userPoolId, username: user.userName };
  try {
    const { add, remove } = managedGroupChanges(await groupsOfUser(cognitoUser), wanted);
    for (const group of add) await addToGroup(cognitoUser, group);
    for (const group of remove) await removeFromGroup(cognitoUser, group);
    await recordGroupSync(connectionId, subject, { appliedGroups: wanted });
  } catch (error) {
    // The token is still right: PreTokenGeneration computes its groups from our memberships.
    logger.error('could not update the Cognito groups; recorded for repair', { connectionId, error: error as Error });
    await recordGroupSync(connectionId, subject, { error: (error as Error).message }).catch(() => undefined);
  }
}

function provenanceOf(user: TriggerUser): Provenance | undefined {
  return federatedIdentity(user.userAttributes.identities);
}

/** PostConfirmation / PostAuthentication. Returns false for a native user, who is left untouched. */
export async function recordSignIn(user: TriggerUser, settings: SignInSettings, now = new Date()): Promise<boolean> {
  const provenance = provenanceOf(user);
  if (!provenance) return false;
  const connection = await connectionFor(provenance.providerName, settings);
  const subject = idpSubject({ connectionType: connection.type, provenance, userAttributes: user.userAttributes, objectIdAttribute: settings.objectIdAttribute });
  const { email, decisions, accounts } = await decide(user, provenance.providerName, connection, settings);

  const identity = await identityBySubject(connection.connectionId, subject);
  const userId = identity?.userId ?? (await findUserIdByEmail(connection.connectionId, email)) ?? randomUUID();
  const memberships = await membershipsOfUser(userId);
  const configs = new Map(accounts.map((account) => [account.accountId, account.ssoConfig]));
  const plan = planSignIn(memberships, {
    userId,
    decisions,
    restoreOnSignIn: (accountId) => configs.get(accountId)?.restoreOnSignIn ?? true,
    signedInAt: now.toISOString(),
  });
  await applySignIn({ connectionId: connection.connectionId, subject, email, userId, cognitoUsername: user.userName, userPoolId: user.userPoolId, identity, plan, signedInAt: now.toISOString() });

  const wanted = wantedRoleGroups(membershipsAfter(memberships, plan));
  const alreadyApplied = identity?.appliedGroups !== undefined && identity.appliedGroups.join('\n') === wanted.join('\n');
  if (!alreadyApplied) await syncCognitoGroups(user, connection.connectionId, subject, wanted);
  if (!admitsSomewhere(decisions)) throw new SignInDeniedError(refusalMessage(decisions));
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
