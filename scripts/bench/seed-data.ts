/** The bench's directory: one Okta connection, two accounts, many users. Plain data, parsed by parseSeed. */

export const CONNECTION_ID = 'bench-okta';
/** Known to the bench so it can authenticate like Okta; >= 32 characters as parseSeed requires. */
export const HOOK_SECRET = 'bench-okta-hook-secret-0000000000000000000';
/** Grants account bench-a only, so a removal soft-deletes one of the user's two memberships. */
export const REMOVAL_GROUP = 'Bench-Engineering';
const OTHER_GROUP = 'Bench-Sales';
const PROVIDER_NAME = 'BenchOkta';
const SEEDED_CHANGED_AT = '2025-01-01T00:00:00Z';

/** An Entra connection holding one users subscription, for the Graph acks. */
export const GRAPH_CONNECTION_ID = 'bench-entra';
export const GRAPH_TENANT_ID = '00000000-0000-4000-8000-00000000be01';
export const GRAPH_SUBSCRIPTION_ID = '00000000-0000-4000-8000-00000000be51';
export const GRAPH_CLIENT_STATE = 'bench-graph-clientstate-000000000000';

export function benchUserEmail(index: number): string {
  return `bench.user.${String(index).padStart(5, '0')}@example.com`;
}

function account(id: string, group: string) {
  return {
    id,
    ssoConfig: {
      active: true,
      allowedDomains: ['example.com'],
      providers: [{ connectionId: CONNECTION_ID, providerName: PROVIDER_NAME, groups: [{ group, role: 'Viewer' }] }],
    },
  };
}

/** A seed file's content for the given users (the connection and accounts are repeated: writes are idempotent). */
export function benchSeed(emails: readonly string[]) {
  return {
    connections: [
      { id: CONNECTION_ID, type: 'okta', providerNames: [PROVIDER_NAME], hookSecrets: [HOOK_SECRET] },
      {
        id: GRAPH_CONNECTION_ID,
        type: 'entra',
        tenantId: GRAPH_TENANT_ID,
        providerNames: ['BenchEntra'],
        subscriptions: [{ id: GRAPH_SUBSCRIPTION_ID, resource: 'users', expiresAt: '2099-01-01T00:00:00Z', clientStates: [GRAPH_CLIENT_STATE] }],
      },
    ],
    accounts: [account('bench-a', REMOVAL_GROUP), account('bench-b', OTHER_GROUP)],
    users: emails.map((email) => ({
      email,
      identities: [{ connectionId: CONNECTION_ID }],
      memberships: ['bench-a', 'bench-b'].map((accountId) => ({ accountId, role: 'Viewer', changedAt: SEEDED_CHANGED_AT })),
    })),
  };
}
