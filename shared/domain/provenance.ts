/**
 * Where a Cognito user came from. Federated users carry an `identities` attribute (a JSON
 * string); native users have none and are left alone. The IdP subject we link on: Okta's is
 * the identity's userId (the Okta user id); Entra's `sub` is pairwise per application, so its
 * object id must come from a mapped attribute (the `oid` claim, default `custom:oid`).
 */
import * as z from 'zod/mini';

const identitiesSchema = z.array(
  z.object({
    userId: z.string().check(z.minLength(1)),
    providerName: z.string().check(z.minLength(1)),
    providerType: z.string(),
    primary: z.optional(z.union([z.boolean(), z.string()])),
  }),
);

export type Provenance = { providerName: string; providerType: string; idpUserId: string };

export class ProvenanceError extends Error {
  override name = 'ProvenanceError';
}

/** The primary (or only) identity, or undefined for a native user. */
export function federatedIdentity(identitiesAttribute: string | undefined): Provenance | undefined {
  if (identitiesAttribute === undefined || identitiesAttribute.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(identitiesAttribute);
  } catch {
    throw new ProvenanceError('the identities attribute is not JSON');
  }
  const result = identitiesSchema.safeParse(parsed);
  if (!result.success || result.data.length === 0) throw new ProvenanceError('the identities attribute has no identity');
  const identity = result.data.find((candidate) => candidate.primary === true || candidate.primary === 'true') ?? result.data[0];
  if (!identity) throw new ProvenanceError('the identities attribute has no identity');
  return { providerName: identity.providerName, providerType: identity.providerType, idpUserId: identity.userId };
}

/**
 * PreSignUp_ExternalProvider runs before the profile exists, so there are no identities yet:
 * Cognito names the user `<ProviderName>_<IdP user id>` (provider names contain no "_").
 */
export function providerNameFromUserName(userName: string): string | undefined {
  const cut = userName.indexOf('_');
  return cut > 0 ? userName.slice(0, cut) : undefined;
}

export type ConnectionType = 'okta' | 'entra';

/** The subject an identity is linked by, per connection type; a missing Entra object id is an error a person can fix. */
export function idpSubject(input: {
  connectionType: ConnectionType;
  provenance: Provenance;
  userAttributes: Record<string, string | undefined>;
  objectIdAttribute: string;
}): string {
  if (input.connectionType === 'okta') return input.provenance.idpUserId;
  const objectId = input.userAttributes[input.objectIdAttribute]?.trim();
  if (!objectId) {
    throw new ProvenanceError(
      `Sign-in is not fully set up: the identity provider "${input.provenance.providerName}" must map the "oid" claim ` +
        `to the attribute ${input.objectIdAttribute}. Ask your administrator to add this attribute mapping.`,
    );
  }
  return objectId.toLowerCase();
}

/**
 * The configured provider a userName prefix names. Cognito may store the userName lower-cased
 * (public captures: `azure_…`, `adfs_…`), so an exact match wins, else the one case-insensitive match.
 */
export function resolveProviderName(prefix: string, configuredNames: readonly string[]): string | undefined {
  if (configuredNames.includes(prefix)) return prefix;
  const matches = configuredNames.filter((name) => name.toLowerCase() === prefix.toLowerCase());
  return matches.length === 1 ? matches[0] : undefined;
}
