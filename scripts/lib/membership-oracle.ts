/**
 * What the memberships should be after a set of IdP changes, whatever order they were delivered
 * in: the rules of README "A removal sticks" and "What each Okta event does", applied once per
 * change in IdP time order. A small pure model for the property tests to compare the service to.
 *
 * - a group removal soft-deletes the memberships of the accounts the group grants (no API token:
 *   other groups are not checked); a removal of the person (deactivated, deleted, suspended) those
 *   of every account the connection serves;
 * - a re-add to a group gives back what a group removal took, with the group's role, and never
 *   what a removal of the person took;
 * - a change is applied at its IdP time: an older one delivered later changes nothing it would
 *   not have changed then.
 */
export type IdpChange =
  | { kind: 'groupRemoved' | 'groupAdded'; user: string; group: string; at: number }
  | { kind: 'userRemoved'; user: string; at: number };

export type ModelMembership = { status: 'active' | 'deleted'; role: string; removal?: 'group' | 'user' };

export type Grants = ReadonlyMap<string, ReadonlyMap<string, string>>;

/** Every account some group grants. */
export function grantedAccounts(grants: Grants): string[] {
  return [...grants.values()].flatMap((accounts) => [...accounts.keys()]);
}

/** The role the group that grants this account gives (Viewer if none does). */
export function grantedRole(grants: Grants, accountId: string): string {
  return [...grants.values()].find((accounts) => accounts.has(accountId))?.get(accountId) ?? 'Viewer';
}

/** `grants`: group → (account → role). `initial`: user → (account → membership), all active. */
export function expectedMemberships(
  initial: ReadonlyMap<string, ReadonlyMap<string, ModelMembership>>,
  grants: Grants,
  changes: readonly IdpChange[],
): Map<string, Map<string, ModelMembership>> {
  const state = new Map([...initial].map(([user, memberships]) => [user, new Map([...memberships].map(([account, m]) => [account, { ...m }]))]));
  for (const change of [...changes].sort((a, b) => a.at - b.at)) {
    const memberships = state.get(change.user);
    if (!memberships) continue;
    if (change.kind === 'userRemoved') {
      for (const membership of memberships.values()) Object.assign(membership, { status: 'deleted', removal: 'user' });
      continue;
    }
    for (const [account, role] of grants.get(change.group) ?? []) {
      const membership = memberships.get(account);
      if (!membership) continue; // a re-add never creates a membership
      if (change.kind === 'groupRemoved') {
        if (membership.status === 'active') Object.assign(membership, { status: 'deleted', removal: 'group' });
      } else if (membership.status === 'deleted' && membership.removal === 'group') {
        Object.assign(membership, { status: 'active', role, removal: undefined });
      }
    }
  }
  return state;
}
