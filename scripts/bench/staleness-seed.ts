/**
 * The staleness bench's directory: one Okta connection with an API token (its System Log is
 * polled) and one Entra connection with a Graph app (its deltas are polled), no webhook in use.
 * Each has one account granted by one group, and users whose only membership is that account.
 * Plain data, parsed by parseSeed. No imports of shared/: safe before the environment is set.
 */

export const OKTA_CONNECTION = 'stale-okta';
export const ENTRA_CONNECTION = 'stale-entra';
export const OKTA_ACCOUNT = 'stale-okta-account';
export const ENTRA_ACCOUNT = 'stale-entra-account';
/** The only Okta group granting OKTA_ACCOUNT: a removal needs no Okta call to check other groups. */
export const OKTA_GROUP = 'Stale-Engineering';
export const ENTRA_GROUP = '00000000-0000-4000-8000-0000005a2001';
export const ENTRA_TENANT = '00000000-0000-4000-8000-0000005a0001';
export const ENTRA_CLIENT_ID = '00000000-0000-4000-8000-0000005a0c11';
/** Names of secrets in moto's Secrets Manager (the values are made up at run time). */
export const OKTA_TOKEN_REF = 'sso-sync/bench/stale-okta/okta-api-token';
export const ENTRA_SECRET_REF = 'sso-sync/bench/stale-entra/graph-client-secret';
const OKTA_HOOK_SECRET = 'bench-stale-okta-hook-secret-never-called-00';
const SEEDED_CHANGED_AT = '2025-01-01T00:00:00Z';

export const oktaUserEmail = (index: number) => `stale.okta.${String(index).padStart(4, '0')}@example.com`;
export const entraUserEmail = (index: number) => `stale.entra.${String(index).padStart(4, '0')}@example.com`;
/** Entra object ids are GUIDs (the delta poller ignores anything else). */
export const entraObjectId = (index: number) => `00000000-0000-4000-8000-${(0x5a3000 + index).toString(16).padStart(12, '0')}`;

const ssoConfig = (connectionId: string, providerName: string, group: string, role: string) => ({
  active: true,
  allowedDomains: ['example.com'],
  providers: [{ connectionId, providerName, groups: [{ group, role }] }],
});

/** A seed file's content: `users` users per IdP, each with one active membership. */
export function stalenessSeed(options: { orgUrl: string; users: number }) {
  const indexes = Array.from({ length: options.users }, (_, index) => index);
  return {
    connections: [
      { id: OKTA_CONNECTION, type: 'okta', providerNames: ['StaleOkta'], hookSecrets: [OKTA_HOOK_SECRET], orgUrl: options.orgUrl, oktaApiTokenRef: OKTA_TOKEN_REF },
      {
        id: ENTRA_CONNECTION,
        type: 'entra',
        tenantId: ENTRA_TENANT,
        providerNames: ['StaleEntra'],
        graph: { clientId: ENTRA_CLIENT_ID, clientSecretRef: ENTRA_SECRET_REF },
      },
    ],
    accounts: [
      { id: OKTA_ACCOUNT, ssoConfig: ssoConfig(OKTA_CONNECTION, 'StaleOkta', OKTA_GROUP, 'Viewer') },
      { id: ENTRA_ACCOUNT, ssoConfig: ssoConfig(ENTRA_CONNECTION, 'StaleEntra', ENTRA_GROUP, 'Author') },
    ],
    users: [
      ...indexes.map((index) => ({
        email: oktaUserEmail(index),
        identities: [{ connectionId: OKTA_CONNECTION }],
        memberships: [{ accountId: OKTA_ACCOUNT, role: 'Viewer', changedAt: SEEDED_CHANGED_AT }],
      })),
      ...indexes.map((index) => ({
        email: entraUserEmail(index),
        identities: [{ connectionId: ENTRA_CONNECTION, subject: entraObjectId(index) }],
        memberships: [{ accountId: ENTRA_ACCOUNT, role: 'Author', changedAt: SEEDED_CHANGED_AT }],
      })),
    ],
  };
}
