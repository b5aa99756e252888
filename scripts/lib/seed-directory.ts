/**
 * What a local fake IdP knows, made up from the seed file (for `npm start`): every identity linked
 * through one of the given connections is in each group that grants its role in an account where
 * its membership is active, and every group those connections' SSO configs name exists, members or
 * not (reconciliation reads each one).
 */
import type { Seed } from '../../shared/domain/seed.js';

export type SeedIdentity = { subject: string; email: string; groups: string[] };

export function seedDirectory(seed: Seed, connectionIds: ReadonlySet<string>): { identities: SeedIdentity[]; groupMembers: Map<string, string[]> } {
  const identities: SeedIdentity[] = [];
  const members = new Map<string, Set<string>>();
  for (const user of seed.users) {
    for (const identity of user.identities) {
      if (!connectionIds.has(identity.connectionId) || !identity.subject) continue;
      const groups = user.memberships
        .filter((membership) => membership.status === 'active')
        .flatMap((membership) =>
          (seed.accounts.find((account) => account.id === membership.accountId)?.ssoConfig.providers ?? [])
            .filter((provider) => provider.connectionId === identity.connectionId)
            .flatMap((provider) => provider.groups.filter((grant) => grant.role === membership.role).map(({ group }) => group)),
        );
      identities.push({ subject: identity.subject, email: user.email, groups: [...new Set(groups)] });
      for (const group of groups) members.set(group, (members.get(group) ?? new Set()).add(identity.subject));
    }
  }
  const configured = seed.accounts.flatMap((account) =>
    account.ssoConfig.providers.filter((provider) => connectionIds.has(provider.connectionId)).flatMap((provider) => provider.groups.map(({ group }) => group)),
  );
  return { identities, groupMembers: new Map([...new Set(configured)].map((group) => [group, [...(members.get(group) ?? [])]])) };
}
