/**
 * Who may enter which account at sign-in. Pure: the SSO configs come in as plain objects.
 * An account admits a federated user when its SSO config is active, lists the provider the
 * user came through, allows the email's domain and names one of the user's IdP groups. The
 * role is the highest one among the matched groups.
 */
import { ROLES, type Role } from './memberships.js';
import { ID_PATTERN } from './ids.js';

import type { AccountSsoConfig } from './sso-config.js';

export type { AccountSsoConfig, SsoConfig } from './sso-config.js';

export type RefusalReason = 'sso_inactive' | 'domain_not_allowed' | 'no_granting_group';

export type AccountDecision =
  | { accountId: string; admitted: true; role: Role; matchedGroups: string[] }
  | { accountId: string; admitted: false; reason: RefusalReason };

/** Shown to the person signing in (Cognito puts it in the callback URL): plain, and about them only. */
export const REFUSAL_MESSAGES: Record<RefusalReason | 'no_account', string> = {
  no_account: 'SSO is not set up for this sign-in. Ask your administrator to connect your organisation.',
  sso_inactive: 'SSO is not active for this account. Ask your administrator to activate it.',
  domain_not_allowed: 'Your email domain is not allowed for this sign-in. Sign in with your work account.',
  no_granting_group: 'You are not in a group that grants access. Ask your administrator to add you to one.',
};

/** Lowercased text after the last "@" (a quoted local part may itself contain "@"); no domain without a local part and an "@". */
export function emailDomain(email: string): string {
  const at = email.lastIndexOf('@');
  return at > 0 ? email.slice(at + 1).trim().toLowerCase() : '';
}

/** Admin > Author > Reviewer > Viewer: ROLES lists them in that order. */
export function highestRole(roles: readonly Role[]): Role | undefined {
  return [...roles].sort((a, b) => ROLES.indexOf(a) - ROLES.indexOf(b))[0];
}

function decideAccount(account: AccountSsoConfig, providerName: string, domain: string, groups: ReadonlySet<string>): AccountDecision {
  const { accountId, ssoConfig } = account;
  if (!ssoConfig.active) return { accountId, admitted: false, reason: 'sso_inactive' };
  if (!ssoConfig.allowedDomains.some((allowed) => allowed.toLowerCase() === domain)) {
    return { accountId, admitted: false, reason: 'domain_not_allowed' };
  }
  const grants = ssoConfig.providers
    .filter((provider) => provider.providerName === providerName)
    .flatMap((provider) => provider.groups)
    .filter(({ group }) => groups.has(group));
  const role = highestRole(grants.map((grant) => grant.role));
  if (!role) return { accountId, admitted: false, reason: 'no_granting_group' };
  return { accountId, admitted: true, role, matchedGroups: [...new Set(grants.map((grant) => grant.group))] };
}

/** One decision per account whose SSO config lists this provider; other accounts are not considered. */
export function decideAdmission(input: {
  providerName: string;
  email: string;
  idpGroups: readonly string[];
  accounts: readonly AccountSsoConfig[];
}): AccountDecision[] {
  const domain = emailDomain(input.email);
  const groups = new Set(input.idpGroups);
  return input.accounts
    .filter(({ ssoConfig }) => ssoConfig.providers.some((provider) => provider.providerName === input.providerName))
    .map((account) => decideAccount(account, input.providerName, domain, groups));
}

/**
 * The one message to deny a sign-in with, when no account admits the user: the refusal that
 * got furthest (right domain but no group beats wrong domain beats inactive), since that is
 * the one the person can act on. It never names an account.
 */
export function refusalMessage(decisions: readonly AccountDecision[]): string {
  const reasons = new Set(decisions.flatMap((decision) => (decision.admitted ? [] : [decision.reason])));
  for (const reason of ['no_granting_group', 'domain_not_allowed', 'sso_inactive'] as const) {
    if (reasons.has(reason)) return REFUSAL_MESSAGES[reason];
  }
  return REFUSAL_MESSAGES.no_account;
}

/**
 * Cognito groups are pool-wide and a user may hold different roles in different accounts,
 * so the managed groups are one per (account, role): `<accountId>:<Role>`.
 */
export function roleGroupName(accountId: string, role: Role): string {
  return `${accountId}:${role}`;
}

const ROLE_GROUP = new RegExp(`^(${ID_PATTERN.source.slice(1, -1)}):(${ROLES.join('|')})$`);

/** Only these groups are ever added or removed; `<userPoolId>_<Provider>` and any other group are left alone. */
export function isManagedRoleGroup(group: string): boolean {
  return ROLE_GROUP.test(group);
}

/** The Cognito group calls that make the user's managed groups exactly `wanted`; nothing when already right. */
export function managedGroupChanges(current: readonly string[], wanted: readonly string[]): { add: string[]; remove: string[] } {
  const have = new Set(current);
  const want = new Set(wanted.filter(isManagedRoleGroup)); // a caller's mistake must not add an unmanaged group
  return {
    add: [...want].filter((group) => !have.has(group)),
    remove: [...have].filter((group) => isManagedRoleGroup(group) && !want.has(group)),
  };
}

/** The groups a token issued now should carry: everything unmanaged the user has, plus the wanted role groups. */
export function tokenGroups(current: readonly string[], wanted: readonly string[]): string[] {
  return [...new Set([...current.filter((group) => !isManagedRoleGroup(group)), ...wanted])];
}

/**
 * PreTokenGeneration's answer shape depends on the event version: version 1 reads
 * `claimsOverrideDetails`, versions 2 and 3 read `claimsAndScopeOverrideDetails`.
 */
export function preTokenGroupOverride(
  version: string,
  groups: string[],
  // Cognito replaces the whole group configuration: pass the request's roles through, or identity-pool role mapping loses them.
  current: { iamRolesToOverride?: string[]; preferredRole?: string | null } = {},
) {
  const groupOverrideDetails = {
    groupsToOverride: groups,
    iamRolesToOverride: current.iamRolesToOverride ?? [],
    ...(current.preferredRole ? { preferredRole: current.preferredRole } : {}),
  };
  return version === '1'
    ? { claimsOverrideDetails: { groupOverrideDetails } }
    : { claimsAndScopeOverrideDetails: { groupOverrideDetails } };
}
