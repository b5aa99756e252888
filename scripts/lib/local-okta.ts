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
import { seedDirectory } from './seed-directory.js';

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

  const { identities, groupMembers } = seedDirectory(seed, new Set(okta.map((connection) => connection.id)));
  for (const { subject, email, groups } of identities) {
    fake.setUser(subject, { status: 'ACTIVE', login: email, email });
    fake.setUserGroups(subject, groups);
  }
  // One fake org stands in for every Okta org of the seed, so a group name two connections use is one group.
  for (const [name, members] of groupMembers) fake.setGroupMembers(fake.addGroup(name), members);
}
