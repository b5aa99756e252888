import { describe, expect, it } from 'vitest';
import { groupGrantsOf, ssoConfigProblems, ssoConfigSchema, withEntraGroupsLowercased } from '../../shared/domain/sso-config.js';

const config = {
  active: true,
  allowedDomains: ['Acme.example', 'acme.example'],
  providers: [{ connectionId: 'acme-entra', providerName: 'AcmeEntra', groups: [{ group: 'Engineering', role: 'Admin' as const }] }],
};

describe('the SSO config schema', () => {
  it('lowercases and deduplicates the allowed domains, and restores on sign-in by default', () => {
    expect(ssoConfigSchema.parse(config)).toMatchObject({ allowedDomains: ['acme.example'], restoreOnSignIn: true });
  });

  it('refuses a domain that is not a host name, naming its path', () => {
    const result = ssoConfigSchema.safeParse({ ...config, allowedDomains: ['-acme.example'] });
    expect(result.error?.issues[0]?.path).toEqual(['allowedDomains', 0]);
  });

  it('wants an Entra group as its object id, and lowercases it', () => {
    expect(ssoConfigProblems(config, new Map([['acme-entra', 'entra']]), 'ssoConfig')).toEqual([
      'ssoConfig.providers[0].groups[0].group: an Entra group is its object id (a GUID), not "Engineering"',
    ]);
    expect(ssoConfigProblems(config, new Map([['acme-entra', 'okta']]), 'ssoConfig')).toEqual([]);
    const guid = { ...config, providers: [{ ...config.providers[0]!, groups: [{ group: 'ABCDEF00-0000-4000-8000-000000000001', role: 'Viewer' as const }] }] };
    expect(withEntraGroupsLowercased(guid, () => true).providers[0]?.groups[0]?.group).toBe('abcdef00-0000-4000-8000-000000000001');
  });

  it('stands for one group grant per (connection, group)', () => {
    expect([...groupGrantsOf(config).values()]).toEqual([{ connectionId: 'acme-entra', group: 'Engineering', role: 'Admin' }]);
  });
});
