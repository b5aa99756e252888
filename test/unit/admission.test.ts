import { describe, expect, it } from 'vitest';
import {
  decideAdmission,
  emailDomain,
  highestRole,
  isManagedRoleGroup,
  managedGroupChanges,
  preTokenGroupOverride,
  REFUSAL_MESSAGES,
  refusalMessage,
  roleGroupName,
  tokenGroups,
  type AccountSsoConfig,
} from '../../shared/domain/admission.js';

function account(accountId: string, changes: Partial<AccountSsoConfig['ssoConfig']> = {}): AccountSsoConfig {
  return {
    accountId,
    ssoConfig: {
      active: true,
      allowedDomains: ['example.com'],
      providers: [
        {
          connectionId: 'okta-a',
          providerName: 'Okta',
          groups: [
            { group: 'Finance-Approvers', role: 'Admin' },
            { group: 'Payroll-Admins', role: 'Reviewer' },
            { group: 'Everyone-Readers', role: 'Viewer' },
          ],
        },
      ],
      ...changes,
    },
  };
}

const signIn = (idpGroups: string[], accounts: AccountSsoConfig[], email = 'alex.doe@example.com') =>
  decideAdmission({ providerName: 'Okta', email, idpGroups, accounts });

describe('admission', () => {
  it('admits with the highest role among the matched groups', () => {
    expect(signIn(['Everyone-Readers', 'Finance-Approvers', 'Unrelated'], [account('acme')])).toEqual([
      { accountId: 'acme', admitted: true, role: 'Admin', matchedGroups: ['Finance-Approvers', 'Everyone-Readers'] },
    ]);
  });

  it('ranks roles Admin > Author > Reviewer > Viewer', () => {
    expect(highestRole(['Viewer', 'Reviewer'])).toBe('Reviewer');
    expect(highestRole(['Viewer', 'Author', 'Reviewer'])).toBe('Author');
    expect(highestRole(['Author', 'Admin'])).toBe('Admin');
    expect(highestRole([])).toBeUndefined();
  });

  it('gives one user different roles in two accounts', () => {
    const globex = account('globex', {
      providers: [{ connectionId: 'okta-a', providerName: 'Okta', groups: [{ group: 'Finance-Approvers', role: 'Viewer' }] }],
    });
    const decisions = signIn(['Finance-Approvers'], [account('acme'), globex]);
    expect(decisions.map((d) => (d.admitted ? `${d.accountId}:${d.role}` : d.reason))).toEqual(['acme:Admin', 'globex:Viewer']);
  });

  it('refuses an email domain the account does not allow, comparing the part after the last @ without case', () => {
    expect(signIn(['Finance-Approvers'], [account('acme')], 'alex@evil.example')).toEqual([
      { accountId: 'acme', admitted: false, reason: 'domain_not_allowed' },
    ]);
    expect(signIn(['Finance-Approvers'], [account('acme')], '"a@example.com"@evil.example')[0]?.admitted).toBe(false);
    expect(signIn(['Finance-Approvers'], [account('acme')], 'Alex@EXAMPLE.COM')[0]?.admitted).toBe(true);
    expect(emailDomain('x@Sub.Example.com')).toBe('sub.example.com');
    expect(signIn(['Finance-Approvers'], [account('acme')], 'example.com')[0]).toMatchObject({ reason: 'domain_not_allowed' });
    expect(signIn(['Finance-Approvers'], [account('acme')], '@example.com')[0]).toMatchObject({ reason: 'domain_not_allowed' });
  });

  it('refuses a user in no granting group, and an inactive config', () => {
    expect(signIn(['Everyone'], [account('acme')])[0]).toMatchObject({ admitted: false, reason: 'no_granting_group' });
    expect(signIn(['Finance-Approvers'], [account('acme', { active: false })])[0]).toMatchObject({ reason: 'sso_inactive' });
  });

  it('ignores accounts that do not list the provider, and groups granted through another provider', () => {
    const entraOnly = account('initech', {
      providers: [{ connectionId: 'entra-a', providerName: 'EntraID', groups: [{ group: 'Finance-Approvers', role: 'Admin' }] }],
    });
    expect(signIn(['Finance-Approvers'], [entraOnly])).toEqual([]);
  });

  it('denies with the refusal a person can act on, never naming an account', () => {
    const wrongDomain = account('a', { allowedDomains: ['other.example'] });
    const inactive = account('b', { active: false });
    expect(refusalMessage(signIn(['Nope'], [wrongDomain, inactive, account('c')]))).toBe(REFUSAL_MESSAGES.no_granting_group);
    expect(refusalMessage(signIn(['Finance-Approvers'], [wrongDomain, inactive]))).toBe(REFUSAL_MESSAGES.domain_not_allowed);
    expect(refusalMessage(signIn(['Finance-Approvers'], [inactive]))).toBe(REFUSAL_MESSAGES.sso_inactive);
    expect(refusalMessage([])).toBe(REFUSAL_MESSAGES.no_account);
    for (const message of Object.values(REFUSAL_MESSAGES)) expect(message).not.toMatch(/acme|\bError\b|at \w+ \(/);
  });
});

describe('managed Cognito groups', () => {
  it('keep the IAM roles of the request in the token override', () => {
    const roles = { iamRolesToOverride: ['arn:aws:iam::000000000000:role/reader'], preferredRole: 'arn:aws:iam::000000000000:role/reader' };
    expect(preTokenGroupOverride('1', ['acme:Admin'], roles).claimsOverrideDetails?.groupOverrideDetails).toEqual({
      groupsToOverride: ['acme:Admin'],
      ...roles,
    });
    expect(preTokenGroupOverride('1', [], { iamRolesToOverride: [], preferredRole: null })).toEqual({
      claimsOverrideDetails: { groupOverrideDetails: { groupsToOverride: [], iamRolesToOverride: [] } },
    });
  });

  const autoGroup = 'us-east-1_DEV000001_Okta';

  it('are named per account and role, and only they are managed', () => {
    expect(roleGroupName('acme', 'Admin')).toBe('acme:Admin');
    expect(isManagedRoleGroup('acme:Admin')).toBe(true);
    expect(isManagedRoleGroup(autoGroup)).toBe(false);
    expect(isManagedRoleGroup('acme:Owner')).toBe(false);
    expect(isManagedRoleGroup('Admin')).toBe(false);
  });

  it('add what is missing and remove stale role groups, never the automatic or unmanaged groups', () => {
    expect(managedGroupChanges([autoGroup, 'beta-testers', 'acme:Viewer', 'globex:Admin'], ['acme:Admin', 'globex:Admin'])).toEqual({
      add: ['acme:Admin'],
      remove: ['acme:Viewer'],
    });
  });

  it('are never added from an unmanaged name, even when asked', () => {
    expect(managedGroupChanges([], [autoGroup, 'beta-testers', 'acme:Admin'])).toEqual({ add: ['acme:Admin'], remove: [] });
  });

  it('need no call when membership is already right', () => {
    expect(managedGroupChanges([autoGroup, 'acme:Admin'], ['acme:Admin'])).toEqual({ add: [], remove: [] });
  });

  it('are all removed when the claim no longer names a granting group', () => {
    expect(managedGroupChanges([autoGroup, 'acme:Admin', 'globex:Viewer'], [])).toEqual({ add: [], remove: ['acme:Admin', 'globex:Viewer'] });
  });

  it('go into the token being issued, beside the unmanaged groups', () => {
    expect(tokenGroups([autoGroup, 'acme:Viewer'], ['acme:Admin'])).toEqual([autoGroup, 'acme:Admin']);
  });

  it('are answered under the key the PreTokenGeneration version reads', () => {
    expect(preTokenGroupOverride('1', ['acme:Admin'])).toEqual({
      claimsOverrideDetails: { groupOverrideDetails: { groupsToOverride: ['acme:Admin'], iamRolesToOverride: [] } },
    });
    for (const version of ['2', '3']) {
      expect(preTokenGroupOverride(version, ['acme:Admin'])).toEqual({
        claimsAndScopeOverrideDetails: { groupOverrideDetails: { groupsToOverride: ['acme:Admin'], iamRolesToOverride: [] } },
      });
    }
  });
});
