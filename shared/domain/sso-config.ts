/**
 * An account's SSO config: the one schema the seed file, the table's readers and the admin API
 * all use. zod/mini, so the sign-in and event Lambdas that parse stored configs stay small; the
 * seed's classic schema embeds it as it is (both are zod core schemas).
 */
import * as z from 'zod/mini';
import { idSchema } from './connection.js';
import { roleSchema } from './memberships.js';

export { roleSchema };

export const accountIdSchema = idSchema;

export const providerNameSchema = z
  .string()
  .check(z.minLength(1), z.maxLength(32), z.regex(/^[^_\s]+$/, 'Cognito provider names have no "_" or spaces'));

/** A DNS host name (RFC 1123 labels, at least two of them), lowercased: an email's domain part. */
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);
export const allowedDomainSchema = z.string().check(z.regex(HOSTNAME, 'an email domain such as example.com'), z.toLowerCase());

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const groupGrantSchema = z.object({ group: z.string().check(z.minLength(1), z.maxLength(256)), role: roleSchema });

export const ssoProviderSchema = z.object({
  connectionId: accountIdSchema,
  providerName: providerNameSchema,
  groups: z
    .array(groupGrantSchema)
    .check(z.describe('IdP groups that grant access (Okta: group name; Entra: group object id) and the role each maps to')),
});

export const ssoConfigSchema = z.object({
  active: z.boolean(),
  restoreOnSignIn: z._default(z.boolean(), true),
  allowedDomains: z.pipe(
    z.array(allowedDomainSchema).check(z.minLength(1)),
    z.transform((domains: string[]) => [...new Set(domains)]),
  ),
  providers: z.array(ssoProviderSchema).check(z.minLength(1)),
});

/** As written (restoreOnSignIn may be left out: it defaults to true). */
export type SsoConfig = z.input<typeof ssoConfigSchema>;
export type SsoProvider = SsoConfig['providers'][number];
export type AccountSsoConfig = { accountId: string; ssoConfig: SsoConfig };

/** An account item as the table holds it; only `ssoConfig` is parsed strictly, and only when present. */
export const storedAccountSchema = z.object({
  accountId: z.string(),
  ssoConfig: ssoConfigSchema,
});

export type ConnectionType = 'okta' | 'entra';

/**
 * What a schema cannot see: each provider named once, and an Entra connection's groups are group
 * object ids (GUIDs). Each problem names its path under `path`.
 */
export function ssoConfigProblems(config: SsoConfig, connectionTypes: ReadonlyMap<string, ConnectionType>, path: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  config.providers.forEach((provider, i) => {
    const name = provider.providerName.toLowerCase();
    if (seen.has(name)) problems.push(`${path}.providers[${i}].providerName: "${provider.providerName}" is listed twice`);
    seen.add(name);
    if (connectionTypes.get(provider.connectionId) !== 'entra') return;
    provider.groups.forEach(({ group }, j) => {
      if (!GUID.test(group)) problems.push(`${path}.providers[${i}].groups[${j}].group: an Entra group is its object id (a GUID), not "${group}"`);
    });
  });
  return problems;
}

/**
 * Entra object ids are GUIDs that Graph and the sign-in claims may spell in either case: one
 * spelling (lowercase) everywhere, so a group in an SSO config matches the one in a notification.
 */
export function withEntraGroupsLowercased<C extends SsoConfig>(config: C, isEntra: (connectionId: string) => boolean): C {
  return {
    ...config,
    providers: config.providers.map((provider) =>
      isEntra(provider.connectionId) ? { ...provider, groups: provider.groups.map((grant) => ({ ...grant, group: grant.group.toLowerCase() })) } : provider,
    ),
  };
}

/** The (connection, group) → role grants a config stands for: the GroupGrant items kept in step with it. */
export function groupGrantsOf(config: SsoConfig | undefined): Map<string, { connectionId: string; group: string; role: z.infer<typeof roleSchema> }> {
  const grants = new Map<string, { connectionId: string; group: string; role: z.infer<typeof roleSchema> }>();
  for (const provider of config?.providers ?? []) {
    for (const { group, role } of provider.groups) grants.set(`${provider.connectionId}\u0000${group}`, { connectionId: provider.connectionId, group, role });
  }
  return grants;
}
