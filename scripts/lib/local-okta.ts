/**
 * Okta for `npm start`: the fake Okta (scripts/lib/fake-okta.ts) stands in for every Okta org of
 * the seed file, so the System Log poller (and the Okta current-groups check) work locally.
 *
 * Each Okta connection of the seed is pointed at the fake (its orgUrl; a real org is out of reach
 * here anyway) and given an API token kept in moto's Secrets Manager. What the fake knows is made
 * up from the seed: every user linked to an Okta connection is an ACTIVE Okta user in each group
 * that grants their role in an account where their membership is active (as for the fake Graph).
 */
import type { Seed } from '../../shared/domain/seed.js';
import type { FakeOkta } from './fake-okta.js';
import { putSecret } from './local-graph.js';

/** Any value works: the fake accepts what it was told; this is what both sides are told. */
export const LOCAL_OKTA_API_TOKEN = 'local-okta-api-token-for-npm-start';

const tokenSecretName = (connectionId: string) => `sso-sync/local/${connectionId}/okta-api-token`;

/** The seed with every Okta connection pointed at the fake Okta (also for `npm run demo`, which writes the seed again). */
export function withLocalOkta(seed: Seed, orgUrl: string): Seed {
  return {
    ...seed,
    connections: seed.connections.map((connection) =>
      connection.type === 'okta' ? { ...connection, orgUrl, oktaApiTokenRef: tokenSecretName(connection.id) } : connection,
    ),
  };
}

/** Gives the fake Okta the seed's users and groups, and each Okta connection's API token to moto. */
export async function populateLocalOkta(fake: FakeOkta, seed: Seed, options: { secretsEndpoint: string }): Promise<void> {
  fake.addApiToken(LOCAL_OKTA_API_TOKEN);
  const okta = seed.connections.filter((connection) => connection.type === 'okta');
  for (const connection of okta) await putSecret(options.secretsEndpoint, tokenSecretName(connection.id), LOCAL_OKTA_API_TOKEN);

  const oktaIds = new Set(okta.map((connection) => connection.id));
  const members = new Map<string, Set<string>>();
  for (const user of seed.users) {
    for (const identity of user.identities) {
      if (!oktaIds.has(identity.connectionId) || !identity.subject) continue;
      const groups = user.memberships
        .filter((membership) => membership.status === 'active')
        .flatMap((membership) =>
          (seed.accounts.find((account) => account.id === membership.accountId)?.ssoConfig.providers ?? [])
            .filter((provider) => provider.connectionId === identity.connectionId)
            .flatMap((provider) => provider.groups.filter((grant) => grant.role === membership.role).map(({ group }) => group)),
        );
      fake.setUser(identity.subject, { status: 'ACTIVE', login: user.email, email: user.email });
      fake.setUserGroups(identity.subject, [...new Set(groups)]);
      for (const group of groups) members.set(group, (members.get(group) ?? new Set()).add(identity.subject));
    }
  }
  // Every configured group exists, members or not (reconciliation reads each by name). One fake
  // org stands in for every Okta org of the seed, so a group name two connections use is one group.
  const configured = seed.accounts.flatMap((account) =>
    account.ssoConfig.providers.filter((provider) => oktaIds.has(provider.connectionId)).flatMap((provider) => provider.groups.map(({ group }) => group)),
  );
  for (const name of new Set(configured)) fake.setGroupMembers(fake.addGroup(name), [...(members.get(name) ?? [])]);
}
